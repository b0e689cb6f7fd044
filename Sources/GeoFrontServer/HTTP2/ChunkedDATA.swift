import NIOCore

/// A DATA frame's bytes as an HTTP/1.1 chunk (RFC 9112 §7.1), for a body without a length that
/// crosses from HTTP/2 to HTTP/1.1: a client's request body (``H2ServerStream``) or an
/// upstream's response body (``H2UpstreamStreamAdapter``). The last frame adds the last chunk.
enum ChunkedDATA {
    static func chunk(_ data: ByteBuffer, last: Bool, allocator: ByteBufferAllocator) -> ByteBuffer {
        var data = data
        var chunk = allocator.buffer(capacity: data.readableBytes + 24)
        if data.readableBytes > 0 {
            chunk.writeString(String(data.readableBytes, radix: 16))
            chunk.writeStaticString("\r\n")
            chunk.writeBuffer(&data)
            chunk.writeStaticString("\r\n")
        }
        if last { chunk.writeStaticString("0\r\n\r\n") }
        return chunk
    }
}
