import Testing

@testable import GeoFrontCore

/// gRPC's pieces GeoFront reads and writes itself: `grpc-timeout` (PROTOCOL-HTTP2.md), the
/// `application/grpc` media types that make a request a call, and the HTTP → gRPC status mapping
/// of GeoFront's own answers.
@Suite struct GRPCStatusTests {
    @Test func timeoutsAreReadInEveryUnit() {
        func ms(_ text: String) -> Int? { GRPCStatus.timeoutMilliseconds(Array(text.utf8)) }
        #expect(ms("1H") == 3_600_000)
        #expect(ms("2M") == 120_000)
        #expect(ms("3S") == 3000)
        #expect(ms("300m") == 300)
        #expect(ms("1500u") == 2)  // rounded up
        #expect(ms("1n") == 1)
        #expect(ms("99999999S") == GRPCStatus.maxTimeoutMilliseconds)  // capped at 30 days
        #expect(ms("99999999H") == GRPCStatus.maxTimeoutMilliseconds)  // no overflow either
        #expect(ms("2000000S") == 2_000_000_000)
        #expect(ms("0m") == 1)
        for bad in ["", "S", "10", "10s", "-1S", "1.5S", "123456789S", "10 S"] { #expect(ms(bad) == nil, "\(bad)") }
    }

    @Test func gRPCMediaTypesMakeACall() throws {
        func isCall(_ contentType: String) throws -> Bool {
            let text = "POST /svc/M HTTP/1.1\r\nHost: a\r\nContent-Type: \(contentType)\r\n\r\n"
            var head = RequestHead()
            let bytes = Array(text.utf8)
            _ = try bytes.withUnsafeBytes { try RequestHeadParser.parse($0, limit: 4096, into: &head) }
            return head.isGRPC
        }
        for yes in ["application/grpc", "application/grpc+proto", "Application/GRPC", "application/grpc; charset=x"] {
            #expect(try isCall(yes), "\(yes)")
        }
        for no in ["application/grpc-web", "application/json", "application/grp", "text/plain"] {
            #expect(try !isCall(no), "\(no)")
        }
    }

    @Test func httpStatusesMapAsGRPCSays() {
        #expect(GRPCStatus(httpStatus: 502) == .unavailable)
        #expect(GRPCStatus(httpStatus: 503) == .unavailable)
        #expect(GRPCStatus(httpStatus: 504) == .unavailable)
        #expect(GRPCStatus(httpStatus: 429) == .unavailable)
        #expect(GRPCStatus(httpStatus: 404) == .unimplemented)
        #expect(GRPCStatus(httpStatus: 400) == .internalError)
        #expect(GRPCStatus(httpStatus: 500) == .unknown)
    }

    @Test func chunkedTrailersAreReportedWhereTheyLie() throws {
        let body = Array("5\r\nhello\r\n0\r\ngrpc-status: 0\r\nx-a: b\r\n\r\n".utf8)
        // Fed in every split, the trailer section comes out whole.
        for split in 1..<body.count {
            var reader = MessageBodyReader(response: .chunked)
            var data: [UInt8] = []
            var trailers: [UInt8] = []
            var done = false
            for part in [Array(body[..<split]), Array(body[split...])] {
                let outcome = try part.withUnsafeBytes { bytes in
                    try reader.consume(
                        bytes, data: { data += bytes[$0] }, trailer: { trailers += bytes[$0] })
                }
                if case .done(let consumed) = outcome {
                    #expect(consumed == part.count)
                    done = true
                }
            }
            #expect(done)
            #expect(String(decoding: data, as: UTF8.self) == "hello")
            #expect(String(decoding: trailers, as: UTF8.self) == "grpc-status: 0\r\nx-a: b\r\n\r\n", "split \(split)")
        }
    }
}
