// swift-tools-version: 6.1
// Matryoshka: recursive, hardware-rooted workload identity for nested workloads (SPIFFE-compatible).
import PackageDescription

let package = Package(
    name: "Matryoshka",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "matryoshka", targets: ["matryoshka"]),
        .library(name: "SPIFFE", targets: ["SPIFFE"]),
        .library(name: "Authority", targets: ["Authority"]),
        .library(name: "LocalSocket", targets: ["LocalSocket"]),
        .library(name: "WorkloadAPI", targets: ["WorkloadAPI"]),
        .library(name: "Server", targets: ["Server"]),
        .library(name: "Agent", targets: ["Agent"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-asn1.git", exact: "1.7.4"),
        .package(url: "https://github.com/apple/swift-certificates.git", exact: "1.21.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", exact: "4.5.2"),
        .package(url: "https://github.com/apple/swift-log.git", exact: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", exact: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio.git", exact: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", exact: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", exact: "1.35.2"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", exact: "1.46.0"),
        .package(url: "https://github.com/apple/swift-protobuf.git", exact: "1.39.0"),
        .package(url: "https://github.com/grpc/grpc-swift-2.git", exact: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", exact: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", exact: "2.4.1"),
        .package(url: "https://github.com/groue/GRDB.swift.git", exact: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", exact: "2.28.1"),
        .package(url: "https://github.com/jpsim/Yams.git", exact: "6.2.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", exact: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", exact: "2.13.0"),
        .package(url: "https://github.com/vapor/jwt-kit.git", exact: "5.8.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", exact: "1.33.2"),
    ],
    targets: [
        // SPIFFE core: IDs, trust domains, SVIDs, bundles, verification. No networking.
        .target(
            name: "SPIFFE",
            dependencies: [
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "JWTKit", package: "jwt-kit"),
            ]
        ),
        // Certificate authority: keys, X509-SVID and JWT-SVID issuance. No networking.
        .target(
            name: "Authority",
            dependencies: [
                "SPIFFE",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "JWTKit", package: "jwt-kit"),
            ]
        ),
        // The chain of custody: links, their DER and JWT encodings, signing, offline verification.
        .target(
            name: "Lineage",
            dependencies: [
                "SPIFFE",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ]
        ),
        // Selectors, workload attestors (unix) and the node attestor plugin interface.
        .target(
            name: "Attestation",
            dependencies: [
                "SPIFFE",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The server's own gRPC APIs (node API for agents, admin API for operators): generated code
        // (committed; see scripts/generate-proto) and conversions to the domain types.
        .target(
            name: "MatryoshkaAPI",
            dependencies: [
                "SPIFFE", "Attestation",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCertificateReloading", package: "swift-nio-extras"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "X509", package: "swift-certificates"),
            ],
            exclude: ["Proto"]
        ),
        // gRPC on a local Unix socket that knows each caller's kernel credentials (SO_PEERCRED):
        // the transport handlers, the socket file's lifecycle, LocalSocketServer. Knows no SPIFFE.
        .target(
            name: "LocalSocket",
            dependencies: [
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The SPIFFE Workload API: generated code, client, service, served by a LocalSocketServer.
        .target(
            name: "WorkloadAPI",
            dependencies: [
                "SPIFFE", "LocalSocket",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["Proto"]
        ),
        // libtss2's headers (ESAPI, TCTI loader, marshalling, response codes) and a loader that
        // dlopens the libraries when a TPM is first opened: nothing links them.
        .target(
            name: "CTSS2",
            linkerSettings: [.linkedLibrary("dl")]
        ),
        // glibc's mallopt(3), for the agent's fixed malloc thresholds (MallocThresholds.swift).
        .target(name: "CMalloc"),
        // TPM 2.0 operations (agent side through libtss2) and their software verification (server side).
        .target(
            name: "TPM",
            dependencies: [
                "CTSS2",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "X509", package: "swift-certificates"),
            ]
        ),
        // /health, /ready and /metrics, as the server and the agent serve them.
        .target(
            name: "OperationsHTTP",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .target(
            name: "Server",
            dependencies: [
                "SPIFFE", "Authority", "Attestation", "MatryoshkaAPI", "LocalSocket", "Lineage", "TPM", "OperationsHTTP",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .target(
            name: "Agent",
            dependencies: [
                "SPIFFE", "Authority", "Attestation", "WorkloadAPI", "MatryoshkaAPI", "Lineage", "TPM", "OperationsHTTP",
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        // What the command line does, as a library: operations and their reports (text and JSON).
        .target(
            name: "MatryoshkaCLI",
            dependencies: [
                "SPIFFE", "Authority", "Attestation", "MatryoshkaAPI", "WorkloadAPI", "Server", "Agent", "Lineage", "TPM", "CMalloc",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        // The one executable: argument parsing only.
        .executableTarget(
            name: "matryoshka",
            dependencies: [
                "SPIFFE", "Authority", "WorkloadAPI", "Server", "Agent", "MatryoshkaCLI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            // `--static-swift-stdlib` links with the toolchain's `-export-dynamic`, which puts every
            // symbol of the 235 MiB binary (~72 000) in its dynamic symbol table; the dynamic loader's
            // lookups and the runtime's start-up `dladdr` walk it at every process start (`exec`
            // runs one per sub-task). Nothing loads against the executable's symbols, so export
            // none: 1–3 ms off each start (BENCHMARKS.md). A no-op for dynamically linked builds.
            //
            // The functions an agent and `exec` run (~3 MiB of ~34) are laid out together, as
            // `scripts/link-order` recorded them under callgrind: the kernel maps code in 64 KiB
            // windows around each page touched, so scattered they kept ~24 MiB of the binary resident
            // in every agent. It moves only functions compiled into sections of their own, which
            // `scripts/build-release` asks of every package (`-function-sections`). gold's option
            // (Swift's default linker on Linux); names no longer defined are ignored.
            exclude: ["matryoshka.order"],
            linkerSettings: [
                .unsafeFlags(
                    ["-Xlinker", "--no-export-dynamic",
                     "-Xlinker", "--section-ordering-file=\(Context.packageDirectory)/Sources/matryoshka/matryoshka.order"],
                    .when(platforms: [.linux]))
            ]
        ),
        // Shared by the test targets: running external commands without blocking the concurrency pool.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "SPIFFETests", dependencies: ["SPIFFE", "Authority"], resources: [.copy("testdata")]),
        .testTarget(name: "AuthorityTests", dependencies: ["Authority", "SPIFFE"]),
        .testTarget(name: "MatryoshkaCLITests", dependencies: [
            "MatryoshkaCLI", "SPIFFE", "Authority", "TestSupport", "Attestation", "Lineage", "TPM",
            .product(name: "Crypto", package: "swift-crypto"),
        ], exclude: ["python"]),
        .testTarget(name: "WorkloadAPITests", dependencies: [
            "WorkloadAPI", "SPIFFE", "Authority", "TestSupport",
            .product(name: "X509", package: "swift-certificates"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "SwiftASN1", package: "swift-asn1"),
            .product(name: "GRPCCore", package: "grpc-swift-2"),
            .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "LocalSocketTests", dependencies: [
            "LocalSocket", "TestSupport",
            .product(name: "GRPCCore", package: "grpc-swift-2"),
            .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "TPMTests", dependencies: [
            "TPM", "TestSupport",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "_CryptoExtras", package: "swift-crypto"),
            .product(name: "X509", package: "swift-certificates"),
        ]),
        .testTarget(name: "AgentTests", dependencies: [
            "Agent", "Attestation", "Authority", "MatryoshkaAPI", "SPIFFE", "WorkloadAPI",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "X509", package: "swift-certificates"),
            .product(name: "GRPCCore", package: "grpc-swift-2"),
            .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
        ]),
        .testTarget(name: "AttestationTests", dependencies: ["Attestation", "SPIFFE"]),
        .testTarget(name: "LineageTests", dependencies: [
            "Lineage", "SPIFFE", "Authority", "TestSupport",
            .product(name: "X509", package: "swift-certificates"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // Real processes (server, agents, swtpm) on temp dirs and loopback, driven through the binary.
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "SPIFFE", "Authority", "WorkloadAPI", "MatryoshkaAPI", "TestSupport",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
            ],
            exclude: ["python"]
        ),
        .testTarget(name: "ServerTests", dependencies: [
            "Server", "SPIFFE", "Authority", "Attestation", "MatryoshkaAPI", "LocalSocket", "TestSupport", "TPM",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "GRPCCore", package: "grpc-swift-2"),
            .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
            .product(name: "Logging", package: "swift-log"),
        ]),
    ]
)
