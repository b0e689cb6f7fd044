import GeoFrontCore
import NIOCore
import NIOHPACK
import NIOHTTP2

/// The HTTP/1.1 response the front end writes for one HTTP/2 stream, as HEADERS and DATA frames
/// (RFC 9113 §8.3.2): each head parsed strictly (``ResponseHeadParser``) into `:status` and its
/// fields, lower-cased, without the connection-specific ones (``HopByHop`` and what `Connection`
/// names); interim (1xx) heads as HEADERS of their own; the body by its framing — a length, a
/// chunked body de-chunked, or one that ends when the front end closes — as DATA frames that
/// share the written buffers' storage; END_STREAM on the last frame, or on a HEADERS frame of
/// its own with a chunked body's trailer fields (RFC 9113 §8.1: gRPC's `grpc-status` travels
/// there).
struct H2ResponseFramer {
    private enum State {
        case head
        case body(MessageBodyReader)
        case done
    }

    private var state = State.head
    /// Bytes of a head not yet complete.
    private var pending: ByteBuffer?
    private var head = ResponseHead()
    /// The request was HEAD: its response has no body whatever its head says.
    var requestWasHEAD = false
    /// The last DATA slice, held back so END_STREAM can ride on it.
    private var held: ByteBuffer?
    /// A chunked body's trailer section so far (field lines and the final empty line).
    private var trailerSection: ByteBuffer?

    struct Broken: Error {}

    /// The whole response has been framed (END_STREAM written).
    var isDone: Bool {
        if case .done = state { return true }
        return false
    }

    /// The head went out and the body runs until the front end closes.
    var endsAtClose: Bool {
        if case .body(let reader) = state { return reader.endsAtClose }
        return false
    }

    /// No final (non-1xx) head has gone out yet.
    var headPending: Bool {
        if case .head = state { return true }
        return false
    }

    /// Frames `incoming`, passing each frame to `emit`. `previous` is the connection's last
    /// response head's fields (HPACK indexing: ``H2ResponseFields``), replaced by this one's.
    mutating func consume(
        _ incoming: ByteBuffer, previous: inout HPACKHeaders?, emit: (HTTP2Frame.FramePayload) -> Void
    ) throws(Broken) {
        var buffer = incoming
        while buffer.readableBytes > 0 {
            switch state {
            case .done:
                return
            case .head:
                if var earlier = pending {
                    earlier.writeBuffer(&buffer)
                    buffer = earlier
                    pending = nil
                }
                let last = previous
                let parsed = buffer.withUnsafeReadableBytes { bytes -> Result<HPACKHeaders?, Broken> in
                    do {
                        guard try ResponseHeadParser.parse(bytes, limit: 1 << 20, into: &head) == .complete else {
                            return .success(nil)
                        }
                    } catch {
                        return .failure(Broken())
                    }
                    return .success(Self.fields(bytes, head, previous: last))
                }
                guard case .success(let fields) = parsed else { throw Broken() }
                guard let fields else {
                    pending = buffer
                    return
                }
                previous = fields
                buffer.moveReaderIndex(forwardBy: head.length)
                if head.status < 200 {
                    // 101 cannot happen (HTTP/2 has no Upgrade); other interim heads pass on.
                    if head.status == 101 { throw Broken() }
                    emit(.headers(.init(headers: fields, endStream: false)))
                    continue
                }
                let reader = MessageBodyReader(response: head.framing(requestWasHEAD: requestWasHEAD))
                if reader.isDone {
                    state = .done
                    emit(.headers(.init(headers: fields, endStream: true)))
                    return
                }
                emit(.headers(.init(headers: fields, endStream: false)))
                state = .body(reader)
            case .body(var reader):
                let start = buffer.readerIndex
                var trailerSection = self.trailerSection
                let outcome = buffer.withUnsafeReadableBytes { bytes in
                    Result { () throws(RequestHeadError) in
                        try reader.consume(
                            bytes,
                            data: { range in
                                if let slice = buffer.getSlice(at: start + range.lowerBound, length: range.count) {
                                    if let earlier = held { emit(.data(.init(data: .byteBuffer(earlier)))) }
                                    held = slice
                                }
                            },
                            trailer: { range in
                                if trailerSection == nil { trailerSection = ByteBuffer() }
                                trailerSection!.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[range]))
                            })
                    }
                }
                self.trailerSection = trailerSection
                switch outcome {
                case .failure:
                    throw Broken()
                case .success(.needMore):
                    state = .body(reader)
                    return
                case .success(.done(let consumed)):
                    buffer.moveReaderIndex(forwardBy: consumed)
                    finish(emit: emit)
                    return
                }
            }
        }
    }

    /// The response went out whole as one HEADERS frame made from its fields directly
    /// (``H2ServerStream/writeBodilessHead(status:_:)``): nothing more is framed.
    mutating func wroteBodilessHead() {
        state = .done
    }

    /// Writes what is held back; with END_STREAM when the body ended.
    mutating func flushHeld(emit: (HTTP2Frame.FramePayload) -> Void) {
        guard let earlier = held, !isDone else { return }
        held = nil
        emit(.data(.init(data: .byteBuffer(earlier))))
    }

    /// The body is over (by its framing, or at the front end's close for one without length):
    /// END_STREAM on the last DATA frame, or on the trailers' HEADERS frame when there are any.
    mutating func finish(emit: (HTTP2Frame.FramePayload) -> Void) {
        guard !isDone else { return }
        state = .done
        let trailers = trailerSection.flatMap(Self.trailerFields)
        trailerSection = nil
        if let trailers {
            if let last = held { emit(.data(.init(data: .byteBuffer(last)))) }
            held = nil
            emit(.headers(.init(headers: trailers, endStream: true)))
            return
        }
        let last = held ?? ByteBuffer()
        held = nil
        emit(.data(.init(data: .byteBuffer(last), endStream: true)))
    }

    /// The fields of a trailer section (already checked line by line by the chunked reader),
    /// lower-cased, without the ones no trailer may carry (RFC 9110 §6.5.1: framing, routing,
    /// and connection-specific fields); nil when none is left.
    static func trailerFields(_ section: ByteBuffer) -> HPACKHeaders? {
        section.withUnsafeReadableBytes { bytes -> HPACKHeaders? in
            var fields = H2ResponseFields()
            addFields(bytes, from: 0, end: bytes.count, to: &fields) { name in
                HopByHop.contains(bytes, name) || FieldLines.equals(bytes, name, "content-length")
                    || FieldLines.equals(bytes, name, "host")
            }
            return fields.isEmpty ? nil : fields.headers
        }
    }

    /// `:status` and the head's fields that HTTP/2 carries.
    private static func fields(_ bytes: UnsafeRawBufferPointer, _ head: ResponseHead, previous: HPACKHeaders?)
        -> HPACKHeaders
    {
        var fields = H2ResponseFields(status: String(head.status), previous: previous)
        addFields(bytes, from: head.fieldsStart, end: head.length, to: &fields) { name in
            HopByHop.contains(bytes, name) || HopByHop.isNamed(bytes, name, in: head.connectionNames)
        }
        return fields.headers
    }

    /// The field lines of `bytes` from `start` to `end` (checked already), names lower-cased, but
    /// those `dropped` names.
    private static func addFields(
        _ bytes: UnsafeRawBufferPointer, from start: Int, end: Int, to fields: inout H2ResponseFields,
        dropping dropped: (RequestHead.Span) -> Bool
    ) {
        var index = start
        while index < end, let field = try? FieldLines.next(bytes, at: &index, end: end) {
            if dropped(field.name) { continue }
            // Lower-cased in one pass (a field name is a token: ASCII).
            let nameBytes = field.name.bytes(in: bytes)
            let name =
                Self.longName(bytes, field.name)
                ?? String(unsafeUninitializedCapacity: nameBytes.count) { out in
                    for (index, byte) in nameBytes.enumerated() {
                        out[index] = byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
                    }
                    return nameBytes.count
                }
            fields.add(name: name, value: String(decoding: field.value.bytes(in: bytes), as: UTF8.self))
        }
    }

    /// The lower-case literal for common field names too long for a small string (more than 15
    /// bytes: each would be a heap allocation per response).
    private static func longName(_ bytes: UnsafeRawBufferPointer, _ name: RequestHead.Span) -> String? {
        switch name.count {
        case 16 where FieldLines.equals(bytes, name, "content-encoding"): return "content-encoding"
        case 17 where FieldLines.equals(bytes, name, "x-geofront-region"): return "x-geofront-region"
        case 22 where FieldLines.equals(bytes, name, "x-content-type-options"): return "x-content-type-options"
        case 25 where FieldLines.equals(bytes, name, "strict-transport-security"): return "strict-transport-security"
        case 27 where FieldLines.equals(bytes, name, "access-control-allow-origin"):
            return "access-control-allow-origin"
        default: return nil
        }
    }
}

extension Result where Failure == RequestHeadError {
    /// Typed-throws bodies as a `Result`.
    fileprivate init(_ body: () throws(RequestHeadError) -> Success) {
        do { self = .success(try body()) } catch { self = .failure(error) }
    }
}
