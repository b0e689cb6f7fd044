import GeoFrontCore

/// Request heads, response heads (the proxy fast path's upstream side) and chunked bodies: the
/// parsers must return or throw, never crash or read out of bounds; a complete head must lie
/// inside the input, with every span inside it.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRequestHead(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: start, count: count)
    var head = RequestHead()
    do throws(RequestHeadError) {
        if try RequestHeadParser.parse(bytes, limit: 4096, into: &head) == .complete {
            precondition(head.length <= count)
            for span in [head.method, head.target] + head.forwardedFor + head.forwarded + head.connectionNames {
                precondition(span.start >= 0 && span.start + span.count <= head.length)
            }
        }
    } catch {}
    var response = ResponseHead()
    do throws(RequestHeadError) {
        if try ResponseHeadParser.parse(bytes, limit: 4096, into: &response) == .complete {
            precondition(response.length <= count && response.fieldsStart <= response.length)
            precondition(response.status >= 100 && response.status <= 999)
            for span in response.connectionNames {
                precondition(span.start >= response.fieldsStart && span.start + span.count <= response.length)
            }
        }
    } catch {}
    var skipper = ChunkedBodySkipper()
    do throws(RequestHeadError) {
        if case .done(let consumed) = try skipper.consume(bytes) { precondition(consumed <= count) }
    } catch {}
    return 0
}
