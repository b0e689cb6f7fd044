// swift-tools-version:6.1
import PackageDescription

// Micro-benchmarks of GeoFront's hot path (`swift package benchmark` in this folder): kept in
// their own package so the main build and the test suite never compile the benchmark harness.
let package = Package(
    name: "GeoFrontBenchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "GeoFront", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "GeoFrontBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "GeoFrontHotPath", package: "GeoFront"),
            ],
            path: "Benchmarks/GeoFrontBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    ]
)
