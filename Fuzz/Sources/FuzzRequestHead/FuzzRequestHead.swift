import GeoFrontCore

/// Request heads and chunked bodies: the parser must return or throw, never crash or read out of
/// bounds; a complete head must lie inside the input, with every span inside it.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRequestHead(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: start, count: count)
    var head = RequestHead()
    do throws(RequestHeadError) {
        if try RequestHeadParser.parse(bytes, limit: 4096, into: &head) == .complete {
            precondition(head.length <= count)
            for span in [head.method, head.target] + head.forwardedFor + head.forwarded {
                precondition(span.start >= 0 && span.start + span.count <= head.length)
            }
        }
    } catch {}
    var skipper = ChunkedBodySkipper()
    do throws(RequestHeadError) {
        if case .done(let consumed) = try skipper.consume(bytes) { precondition(consumed <= count) }
    } catch {}
    return 0
}
