// swift-tools-version:6.0
import PackageDescription

// The request path's modules, in release builds, without the runtime exclusivity checks on class
// and global storage (`swift_beginAccess`: 2-3 % of a proxied request's CPU in `perf`). Debug
// builds, which the tests run, keep every check, so an access conflict still fails the suite.
let hotPathSettings: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]
// The routing core's generic types (the cache's store) specialised in the server module that
// uses them, instead of looked up at run time per call (`swift_getGenericMetadata` on the cache's paths).
let coreSettings: [SwiftSetting] =
    hotPathSettings + [.unsafeFlags(["-cross-module-optimization"], .when(configuration: .release))]

let package = Package(
    name: "GeoFront",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "geofront", targets: ["GeoFrontCLI"]),
        // The routing core, for the micro-benchmarks in Benchmarks/.
        .library(name: "GeoFrontHotPath", targets: ["GeoIP", "GeoFrontCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
    ],
    targets: [
        // Layer 0: the C library, found through pkg-config.
        .systemLibrary(
            name: "CMaxMindDB",
            pkgConfig: "libmaxminddb",
            providers: [.apt(["libmaxminddb-dev"])]
        ),
        // The system's libcrypto, for RSA handshake signatures (faster than BoringSSL's on some CPUs)
        // and the region affinity cookie's HMAC (computed when a snapshot is built, never per request).
        .systemLibrary(
            name: "COpenSSLCrypto",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        // jemalloc as the process's allocator: the response cache frees objects all over the heap
        // between ones that live on, and glibc's allocator kept those pages (the process grew to
        // almost four times `cache.memory_mb` under a miss-only load); jemalloc gives them back.
        .systemLibrary(
            name: "CJemalloc",
            pkgConfig: "jemalloc",
            providers: [.apt(["libjemalloc-dev"])]
        ),
        // jemalloc's settings (`malloc_conf`), linked into the executable.
        .target(name: "CJemallocConfig"),
        // Layer 1: IP addresses and the GeoIP reader (no NIO).
        .target(name: "GeoIP", dependencies: ["CMaxMindDB"]),
        // Layer 2: configuration, validation, routing snapshot, region selection, client IP (no NIO).
        .target(name: "GeoFrontCore", dependencies: ["GeoIP", "COpenSSLCrypto"], swiftSettings: coreSettings),
        // Layer 3: the SwiftNIO front door.
        .target(
            name: "GeoFrontServer",
            dependencies: [
                "GeoFrontCore",
                "GeoIP",
                "COpenSSLCrypto",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: hotPathSettings
        ),
        // Layer 4: the `geofront` command line.
        .executableTarget(
            name: "GeoFrontCLI",
            dependencies: [
                "CJemalloc",
                "CJemallocConfig",
                "GeoFrontServer",
                "GeoFrontCore",
                "GeoIP",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // Shared by the test targets: fixture paths, a raw HTTP/1.1 client, temporary files.
        .target(
            name: "TestSupport",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ],
            path: "Tests/TestSupport"
        ),
        .testTarget(name: "GeoIPTests", dependencies: ["GeoIP", "TestSupport"]),
        .testTarget(name: "GeoFrontCoreTests", dependencies: ["GeoFrontCore", "GeoIP", "TestSupport"]),
        .testTarget(
            name: "GeoFrontServerTests",
            dependencies: [
                "GeoFrontServer",
                "GeoFrontCore",
                "GeoIP",
                "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "GeoFrontCLITests", dependencies: ["GeoFrontCLI", "TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
