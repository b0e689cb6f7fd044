import Benchmark
import Foundation
import GeoFrontCore
import GeoIP

/// The hot path of a redirect, piece by piece, each with its time and allocations:
/// request head parsing → client IP → GeoIP lookup → region selection → Location bytes.
/// Run from this folder: `swift package benchmark` (see docs/benchmarks.md).
let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().path

/// The 1,000 client IPs of the peer kit's load (shipped in Benchmarks/ips.txt).
let clientIPs: [IPAddress] = {
    let text = (try? String(contentsOfFile: "\(repository)/Benchmarks/ips.txt", encoding: .utf8)) ?? "81.2.69.142\n"
    return text.split(separator: "\n").compactMap { IPAddress($0) }
}()

/// The best database available here: the 2018 GeoLite2 City (scripts/fetch-geolite2-2018), else
/// the shipped country database.
let databasePath: String = {
    let city = "\(repository)/geodata/GeoLite2-City-2018.mmdb"
    return FileManager.default.fileExists(atPath: city) ? city : "\(repository)/geodata/geofront-country.mmdb"
}()

let snapshot: RoutingSnapshot = {
    var config = try! ConfigLoader.load(path: "\(repository)/regions.json")
    config.geoip.database = databasePath
    return try! RoutingSnapshot.open(config: config)
}()

let request = Array(
    ("GET /some/path?x=1 HTTP/1.1\r\nHost: gslb.example.test\r\nUser-Agent: wrk\r\nAccept: */*\r\n"
        + "X-Forwarded-For: 89.160.20.112\r\n\r\n").utf8)

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput], maxDuration: .seconds(2),
        maxIterations: 1_000_000)

    Benchmark("GeoIP lookup + coordinates (raw C path)", configuration: .init(scalingFactor: .kilo)) { benchmark in
        let database = snapshot.database
        for index in benchmark.scaledIterations {
            blackHole(database.coordinate(of: clientIPs[index % clientIPs.count]))
        }
    }

    Benchmark("Region selection (10 regions)", configuration: .init(scalingFactor: .kilo)) { benchmark in
        let location = Coordinate(latitude: 58.4, longitude: 15.6)
        for _ in benchmark.scaledIterations {
            blackHole(
                RegionSelector.select(
                    for: location, regions: snapshot.regions, defaultIndex: snapshot.defaultRegionIndex))
        }
    }

    Benchmark("Request head parsing", configuration: .init(scalingFactor: .kilo)) { benchmark in
        var head = RequestHead()
        request.withUnsafeBytes { bytes in
            for _ in benchmark.scaledIterations {
                blackHole(try? RequestHeadParser.parse(bytes, limit: 32_768, into: &head))
            }
        }
    }

    Benchmark("Response head parsing (upstream, 6 header lines)", configuration: .init(scalingFactor: .kilo)) {
        benchmark in
        let response = Array(
            ("HTTP/1.1 200 OK\r\nServer: nginx\r\nDate: Mon, 30 Nov 2026 22:40:59 GMT\r\nContent-Type: text/plain\r\n"
                + "Content-Length: 20\r\nConnection: keep-alive\r\nCache-Control: max-age=60\r\n\r\nhello from upstream\n")
                .utf8)
        var head = ResponseHead()
        response.withUnsafeBytes { bytes in
            for _ in benchmark.scaledIterations {
                blackHole(try? ResponseHeadParser.parse(bytes, limit: 65_536, into: &head))
            }
        }
    }

    Benchmark("Client IP from X-Forwarded-For", configuration: .init(scalingFactor: .kilo)) { benchmark in
        var head = RequestHead()
        request.withUnsafeBytes { bytes in
            _ = try? RequestHeadParser.parse(bytes, limit: 32_768, into: &head)
            let peer = IPAddress("127.0.0.1")!
            for _ in benchmark.scaledIterations {
                blackHole(
                    snapshot.clientIPResolver.resolve(
                        peer: peer, xForwardedFor: head.forwardedFor, forwarded: head.forwarded, in: bytes))
            }
        }
    }

    Benchmark("Location bytes", configuration: .init(scalingFactor: .kilo)) { benchmark in
        let path = Array("/some/path?x=1".utf8)
        var output = [UInt8]()
        output.reserveCapacity(128)
        path.withUnsafeBytes { bytes in
            for _ in benchmark.scaledIterations {
                output.removeAll(keepingCapacity: true)
                output.append(contentsOf: snapshot.regions[0].redirectBase)
                RedirectLocation.appendEscaped(bytes) { output.append($0) }
                blackHole(output.count)
            }
        }
    }

    Benchmark("Whole decision: parse + client IP + lookup + select", configuration: .init(scalingFactor: .kilo)) {
        benchmark in
        var head = RequestHead()
        let peer = IPAddress("127.0.0.1")!
        request.withUnsafeBytes { bytes in
            for index in benchmark.scaledIterations {
                _ = try? RequestHeadParser.parse(bytes, limit: 32_768, into: &head)
                let client = snapshot.clientIPResolver.resolve(
                    peer: peer, xForwardedFor: head.forwardedFor, forwarded: head.forwarded, in: bytes)
                let ip = index % 2 == 0 ? client.address : clientIPs[index % clientIPs.count]
                // The request path's own decision (RoutingSnapshot.decide), as the front ends call it.
                blackHole(snapshot.decide(client: ClientIP(address: ip, source: client.source)))
            }
        }
    }

    // The routing and policy costs: the same heads, client addresses and one-entry lookup cache
    // for each, so they differ only by the route step or the traffic rules.
    decisionBenchmark("Decision, no routes (parse + client IP + lookup + select)", snapshot) { snapshot, ip, _, _, _, cache in
        snapshot.decide(client: ip, cache: &cache)
    }
    decisionBenchmark("Decision, 200 routes (parse + client IP + route + backend + lookup + select)", routedSnapshot) {
        snapshot, ip, head, bytes, index, cache in
        snapshot.decide(
            client: ip, request: RouteRequest(head: head, bytes: bytes), in: bytes,
            random: UInt64(truncatingIfNeeded: index) &* 0x9e37_79b9_7f4a_7c15, cache: &cache)
    }
    decisionBenchmark("Decision, 50 policies and biases (parse + client IP + lookup + policy + select)", policySnapshot) {
        snapshot, ip, _, _, _, cache in
        snapshot.decide(client: ip, cache: &cache)
    }
}

/// A decision benchmark over `routedRequests`: each iteration parses the next head, resolves
/// the client from its `X-Forwarded-For` and decides with `decide` for the next of the 1,000
/// client addresses.
func decisionBenchmark(
    _ name: String, _ snapshot: RoutingSnapshot,
    decide: @escaping (RoutingSnapshot, ClientIP, RequestHead, UnsafeRawBufferPointer, Int, inout LookupCache) ->
        RoutingDecision
) {
    Benchmark(name, configuration: .init(scalingFactor: .kilo)) { benchmark in
        var head = RequestHead()
        var cache = LookupCache(capacity: 1)
        let peer = IPAddress("127.0.0.1")!
        for index in benchmark.scaledIterations {
            routedRequests[index % routedRequests.count].withUnsafeBytes { bytes in
                _ = try? RequestHeadParser.parse(bytes, limit: 32_768, into: &head)
                let client = snapshot.clientIPResolver.resolve(
                    peer: peer, xForwardedFor: head.forwardedFor, forwarded: head.forwarded, in: bytes)
                let ip = ClientIP(address: clientIPs[index % clientIPs.count], source: client.source)
                blackHole(decide(snapshot, ip, head, bytes, index, &cache))
            }
        }
    }
}
