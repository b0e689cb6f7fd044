// swift-tools-version:6.0
import PackageDescription

// libFuzzer targets for GeoFront's parsers of untrusted input. Built by scripts/fuzz with
// `--sanitize fuzzer --sanitize address`; kept apart from the main package.
let package = Package(
    name: "GeoFrontFuzz",
    dependencies: [.package(name: "GeoFront", path: "..")],
    targets: [
        .executableTarget(
            name: "FuzzRequestHead", dependencies: [.product(name: "GeoFrontHotPath", package: "GeoFront")],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
        .executableTarget(
            name: "FuzzForwarding", dependencies: [.product(name: "GeoFrontHotPath", package: "GeoFront")],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
        .executableTarget(
            name: "FuzzConfig", dependencies: [.product(name: "GeoFrontHotPath", package: "GeoFront")],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
    ]
)
