// swift-tools-version: 6.1
// Matryoshka benchmarks: micro-benchmarks (ordo-one/benchmark) and the end-to-end load tool.
// A package of its own so the root package, and CI, never build or run them.
import PackageDescription
import class Foundation.NSString
import class Foundation.ProcessInfo

// The Matryoshka package measured: the enclosing checkout, or MATRYOSHKA_ROOT (another checkout or
// an export of a commit, e.g. while the working tree is in the middle of a change).
let rootPath = ProcessInfo.processInfo.environment["MATRYOSHKA_ROOT"] ?? ".."
// SwiftPM names a path dependency after its folder: the checkout's folder name, whatever it is.
let root = ((rootPath == ".." ? (Context.packageDirectory as NSString).deletingLastPathComponent : rootPath) as NSString)
    .lastPathComponent.lowercased()

let package = Package(
    name: "MatryoshkaBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: rootPath),
        .package(url: "https://github.com/ordo-one/benchmark.git", exact: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-certificates.git", exact: "1.21.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", exact: "4.5.2"),
        .package(url: "https://github.com/apple/swift-asn1.git", exact: "1.7.4"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", exact: "1.8.2"),
        .package(url: "https://github.com/grpc/grpc-swift-2.git", exact: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", exact: "2.9.2"),
    ],
    targets: [
        .executableTarget(
            name: "SPIFFEBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "SPIFFE", package: root),
                .product(name: "Authority", package: root),
                // Lineage is not a product of the root package; the Server product links it, and
                // its module is importable from here (see README in this folder).
                .product(name: "Server", package: root),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            path: "Benchmarks/SPIFFEBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // The end-to-end load tool: starts the real `matryoshka` binary (server, agents, exec) on
        // temp directories and loopback and drives it. Server gives the admin API's wire types and
        // the SQLite datastore (for seeding 100 000 entries).
        .executableTarget(
            name: "matryoshka-load",
            dependencies: [
                .product(name: "SPIFFE", package: root),
                .product(name: "WorkloadAPI", package: root),
                .product(name: "Server", package: root),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
            ],
            path: "Sources/matryoshka-load"
        ),
    ]
)
