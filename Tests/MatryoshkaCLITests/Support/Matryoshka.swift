import Foundation
import Testing

/// The real `matryoshka` executable, as `swift build` left it next to the test bundle.
enum Matryoshka {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `MATRYOSHKA_BIN`, else the build directory holding the test bundle, else `.build/debug`.
    static func executable() throws -> String {
        if let path = ProcessInfo.processInfo.environment["MATRYOSHKA_BIN"], !path.isEmpty {
            guard FileManager.default.isExecutableFile(atPath: path) else {
                throw SubprocessError(description: "MATRYOSHKA_BIN=\(path) is not an executable file")
            }
            return path
        }
        let bundle = Bundle.main.bundleURL
        let candidates = [
            bundle.appendingPathComponent("matryoshka"),
            bundle.deletingLastPathComponent().appendingPathComponent("matryoshka"),
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("matryoshka"),
            packageRoot.appendingPathComponent(".build/debug/matryoshka"),
        ]
        for candidate in candidates where FileManager.default.isExecutableFile(atPath: candidate.path) {
            return candidate.path
        }
        throw SubprocessError(description: """
            the matryoshka executable was not found (looked in \(candidates.map(\.path).joined(separator: ", "))); \
            build it with `swift build` or point MATRYOSHKA_BIN at it
            """)
    }

    static func run(_ arguments: [String], stdin: Data? = nil) async throws -> ProcessResult {
        try await Subprocess.run(try executable(), arguments, stdin: stdin, timeout: .seconds(60))
    }

    /// The Python interop helper (kept out of the target's sources by `exclude: ["python"]`).
    static let pythonHelper = packageRoot.appendingPathComponent("Tests/MatryoshkaCLITests/python/interop.py").path

    static func python(_ arguments: [String]) async throws -> ProcessResult {
        try await Subprocess.run("python3", [pythonHelper] + arguments, timeout: .seconds(120))
    }

    /// Fails with a clear message unless python3 can import PyJWT and cryptography.
    static func requirePython() async throws {
        let result = try await Subprocess.run("python3", ["-c", "import jwt, cryptography.x509.verification"])
        guard result.succeeded else {
            throw SubprocessError(description: "python3 with PyJWT and cryptography is required: pip install PyJWT cryptography (\(result.stderr))")
        }
    }
}

/// The CLI contract: exit 0, the SPIFFE ID as the first line of stdout, nothing on stderr.
func expectAccepted(_ result: ProcessResult, id: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(result.status == 0, "\(result)", sourceLocation: sourceLocation)
    #expect(!result.signaled && !result.timedOut, "\(result)", sourceLocation: sourceLocation)
    #expect(result.stdout.split(separator: "\n").first.map(String.init) == id, "\(result)", sourceLocation: sourceLocation)
    #expect(result.stderr.isEmpty, "\(result)", sourceLocation: sourceLocation)
}

/// The CLI contract for failures: exit 1, nothing on stdout, one `error:` line on stderr giving the reason.
func expectRefused(_ result: ProcessResult, reason: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(result.status == 1, "\(result)", sourceLocation: sourceLocation)
    #expect(!result.signaled && !result.timedOut, "\(result)", sourceLocation: sourceLocation)
    #expect(result.stdout.isEmpty, "\(result)", sourceLocation: sourceLocation)
    #expect(result.stderrLines.count == 1, "\(result)", sourceLocation: sourceLocation)
    #expect(result.stderr.hasPrefix("error: "), "\(result)", sourceLocation: sourceLocation)
    #expect(result.stderr.contains(reason), "expected '\(reason)' in: \(result)", sourceLocation: sourceLocation)
}
