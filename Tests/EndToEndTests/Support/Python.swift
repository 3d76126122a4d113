import Foundation

/// The Python helper scripts in `Tests/EndToEndTests/python/` and what they need.
enum Python {
    /// The interpreter behind `python3` on PATH (resolved once: pyenv's `python3` is a shell shim
    /// that would add its start-up to every run).
    static let interpreter: String? = {
        guard let python3 = Tools.find("python3") else { return nil }
        let resolved = run(python3, ["-c", "import sys; print(sys.executable)"])?.trimmingCharacters(in: .whitespacesAndNewlines)
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
        return run(interpreter, ["-c", "import \(modules)"]) != nil
    }

    /// Runs a short command synchronously (only while tests are being set up); its stdout, or
    /// nil if it failed.
    private static func run(_ executable: String, _ arguments: [String]) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            return nil
        }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return process.terminationStatus == 0 ? String(decoding: data, as: UTF8.self) : nil
    }
}

/// External tools on PATH.
enum Tools {
    static func find(_ name: String) -> String? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    static let openssl = find("openssl")

    static let setpriv = find("setpriv")

    /// Whether commands can be run as another user (root, with `setpriv`).
    static var canSwitchUser: Bool { getuid() == 0 && setpriv != nil }
}
