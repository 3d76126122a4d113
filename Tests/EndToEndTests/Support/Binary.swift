import Foundation

/// Where the `matryoshka` executable under test is.
enum Binary {
    /// `$MATRYOSHKA_BIN` (set by scripts/test), else `matryoshka` beside the test bundle, else
    /// `.build/debug/matryoshka` in the package. Nil when none exists.
    static let path: String? = candidates.first { FileManager.default.isExecutableFile(atPath: $0) }

    /// The path, or an error that says how to provide it.
    static func require() throws -> String {
        guard let path else {
            throw TestProcessError(description: """
                the matryoshka executable was not found (looked at \(candidates.joined(separator: ", "))); \
                build it with `swift build --build-tests` or set MATRYOSHKA_BIN
                """)
        }
        return path
    }

    static var candidates: [String] {
        var paths: [String] = []
        if let explicit = ProcessInfo.processInfo.environment["MATRYOSHKA_BIN"], !explicit.isEmpty {
            // When set, it is the only candidate: a wrong value must fail, not fall back silently.
            return [explicit]
        }
        // The test bundle lives in the build products directory, beside the executable.
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            paths.append(bundle.bundleURL.deletingLastPathComponent().appendingPathComponent("matryoshka").path)
        }
        if let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            // Linux: the runner is `<products>/MatryoshkaPackageTests.xctest` itself.
            paths.append(URL(fileURLWithPath: executable).deletingLastPathComponent().appendingPathComponent("matryoshka").path)
        }
        paths.append(packageRoot.appendingPathComponent(".build/debug/matryoshka").path)
        return paths
    }

    /// The package's root directory, from this file's location.
    static var packageRoot: URL {
        URL(fileURLWithPath: #filePath)  // Tests/EndToEndTests/Support/Binary.swift
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }
}
