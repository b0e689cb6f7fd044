import Testing

@testable import GeoFrontServer

/// ``TrafficWindow`` counts a run of requests to one region once, and a read of the window sees
/// every request counted so far, once.
@Suite struct TrafficWindowTests {
    @Test func runsOfOneRegionAreCountedWhole() {
        var window = TrafficWindow()
        for region in ["eu", "eu", "us", "eu", "eu", "eu", "ap"] { window.count(region) }
        #expect(window.lastMinute() == ["eu": 5, "us": 1, "ap": 1])
        // Read again: nothing counted twice; then more of the run that was pending.
        #expect(window.lastMinute() == ["eu": 5, "us": 1, "ap": 1])
        window.count("ap")
        window.count("eu")
        #expect(window.lastMinute() == ["eu": 6, "us": 1, "ap": 2])
    }
}
