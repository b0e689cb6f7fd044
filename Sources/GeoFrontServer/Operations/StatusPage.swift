import GeoFrontCore
import GeoIP

extension AdminServer {
    /// The HTML status page: self-contained (inline SVG and CSS, no scripts, fonts or CDNs),
    /// refreshing itself every five seconds. Regions are dots on a world map (Natural Earth's
    /// coastlines, about 16 KB of the page), green when
    /// available, red when not, grey when drained, sized by their share of the last minute's
    /// traffic; below are the response cache's size and hit ratio (with a cache), the regions and
    /// the health check targets.
    func statusPage(token: String?) async -> String {
        let snapshot = server.publisher.current
        let traffic = await server.trafficLastMinute()
        let total = max(1, traffic.values.reduce(0, +))
        var marks: [WorldMap.RegionMark] = []
        var rows: [String] = []
        for (index, (region, status)) in zip(snapshot.regions, snapshot.statuses).enumerated() {
            let share = Double(traffic[region.name, default: 0]) / Double(total)
            let fill = status.drained ? "#8a8a8a" : status.isAvailable ? "#2e9d4f" : "#d2352b"
            // One dot per region; a service's place in it is a row below.
            if index < snapshot.config.regions.count {
                marks.append(
                    WorldMap.RegionMark(
                        name: region.name, coordinate: region.config.location, fill: fill,
                        radius: 5 + 22 * share.squareRoot(),
                        label: "\(region.name) \(Int((share * 100).rounded()))%"))
            }
            let state = status.drained ? "drained" : status.isAvailable ? "available" : "unavailable"
            rows.append(
                "<tr><td>\(html(region.config.id))</td><td>\(region.config.mode.rawValue)</td>"
                    + "<td class=\"\(state)\">\(state)</td><td>\(html(status.unavailableReason ?? ""))</td>"
                    + "<td>\(traffic[region.name, default: 0])</td><td>\(Int((share * 100).rounded()))%</td></tr>")
        }
        var targetRows: [String] = []
        for target in server.health.monitor.targetSnapshots() {
            var result = "-"
            var detail = ""
            switch target.health.lastResult {
            case .pass(let latency):
                result = "pass"
                detail = "\(Int(latency.rounded())) ms"
            case .fail(let failure):
                result = "fail"
                detail = failure.description
            case nil:
                break
            }
            if let fleet = target.fleet { detail += (detail.isEmpty ? "" : "; ") + fleet.description }
            let state = target.health.isHealthy ? "available" : "unavailable"
            let probed = target.probedAt.map { JSONText.isoTime($0) } ?? "-"
            targetRows.append(
                "<tr><td>\(html(target.region))</td><td>\(html(target.target.description))</td>"
                    + "<td class=\"\(state)\">\(target.health.isHealthy ? "healthy" : "unhealthy")</td>"
                    + "<td>\(html(probed))</td><td>\(result)</td><td>\(html(detail))</td></tr>")
        }
        var map = WorldMap.svg(regions: marks, title: "GeoFront regions")
        if let declaration = map.range(of: "?>\n") { map.removeSubrange(map.startIndex..<declaration.upperBound) }
        let metadata = snapshot.database.metadata
        let targetsTable =
            targetRows.isEmpty
            ? "<p>No region has active health checks.</p>"
            : "<table><tr><th>region</th><th>target</th><th>state</th><th>last probe</th><th>result</th><th>detail</th></tr>"
                + targetRows.joined() + "</table>"
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">
            <title>GeoFront status</title>
            <style>
            body{font-family:Helvetica,Arial,sans-serif;margin:24px;color:#222;background:#fafafa}
            h1{font-size:22px;margin:0 0 4px}p.meta{color:#555;margin:0 0 16px}
            svg{max-width:100%;height:auto;border:1px solid #ccc;background:#fff}
            table{border-collapse:collapse;margin:12px 0 24px;font-size:14px}
            th,td{border:1px solid #ddd;padding:4px 10px;text-align:left}th{background:#eee}
            .available{color:#1d7a3a;font-weight:bold}.unavailable{color:#b3261e;font-weight:bold}.drained{color:#666;font-weight:bold}
            </style></head><body>
            <h1>GeoFront</h1>
            <p class="meta">configuration generation \(snapshot.generation) · database \(html(metadata.databaseType)), built \(metadata.buildDate) · \(total == 1 && traffic.isEmpty ? 0 : traffic.values.reduce(0, +)) requests in the last minute · when all regions are down: \(snapshot.config.whenAllDown.rawValue)</p>
            \(cacheLine())
            \(map)
            <h2>Regions</h2>
            <table><tr><th>region</th><th>mode</th><th>state</th><th>reason</th><th>requests (1 min)</th><th>share</th></tr>
            \(rows.joined(separator: "\n"))
            </table>
            \(routesTable())
            <h2>Health check targets</h2>
            \(targetsTable)
            </body></html>
            """
    }

    func html(_ text: String) -> String {
        var output = ""
        for character in text {
            switch character {
            case "<": output += "&lt;"
            case ">": output += "&gt;"
            case "&": output += "&amp;"
            case "\"": output += "&quot;"
            default: output.append(character)
            }
        }
        return output
    }
}
