import Foundation
import TestSupport

/// The Python helper scripts in `Tests/EndToEndTests/python/` and what they need.
enum Python {
    /// The interpreter behind `python3` on PATH (resolved once: pyenv's `python3` is a shell shim
    /// that would add its start-up to every run).
    static let interpreter: String? = {
        guard let python3 = Tools.find("python3") else { return nil }
        let result = ExternalCommand.runBeforeTests(python3, ["-c", "import sys; print(sys.executable)"])
        let resolved = result.flatMap { $0.succeeded ? $0.stdout.trimmingCharacters(in: .whitespacesAndNewlines) : nil }
        guard let resolved, FileManager.default.isExecutableFile(atPath: resolved) else { return python3 }
        return resolved
    }()

    /// Whether py-spiffe (`pip install spiffe`, with grpcio) is importable.
    static let hasPySpiffe: Bool = canImport("spiffe, grpc")

    /// Whether the `cryptography` package is importable.
    static let hasCryptography: Bool = canImport("cryptography")

    /// The path of a helper script.
    static func script(_ name: String) -> String {
        URL(fileURLWithPath: #filePath)  // Tests/EndToEndTests/Support/Python.swift
            .deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("python").appendingPathComponent(name).path
    }

    private static func canImport(_ modules: String) -> Bool {
        guard let interpreter else { return false }
        return ExternalCommand.runBeforeTests(interpreter, ["-c", "import \(modules)"])?.succeeded ?? false
    }
}

/// External tools on PATH.
enum Tools {
    static func find(_ name: String) -> String? { ExternalCommand.find(name) }

    static let openssl = find("openssl")

    static let setpriv = find("setpriv")

    /// Whether commands can be run as another user (root, with `setpriv`).
    static var canSwitchUser: Bool { getuid() == 0 && setpriv != nil }
}
