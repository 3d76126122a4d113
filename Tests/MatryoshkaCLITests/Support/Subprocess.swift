import Foundation

/// What a finished (or killed) child process left behind.
struct ProcessResult: Sendable, CustomStringConvertible {
    let command: String
    let status: Int32
    /// Terminated by a signal (a crash, or our kill after the timeout).
    let signaled: Bool
    let timedOut: Bool
    let stdout: String
    let stderr: String

    var stderrLines: [Substring] { stderr.split(separator: "\n", omittingEmptySubsequences: true) }
    var succeeded: Bool { status == 0 && !signaled && !timedOut }

    var description: String {
        "`\(command)` → status \(status)\(signaled ? " (signal)" : "")\(timedOut ? " (timed out)" : "")\n"
            + "stdout: \(stdout.prefix(2000))\nstderr: \(stderr.prefix(2000))"
    }
}

struct SubprocessError: Error, CustomStringConvertible {
    let description: String
}

/// Runs external tools with bounded waits. Output goes to temporary files, so a chatty child
/// can never block on a full pipe.
enum Subprocess {
    static func run(
        _ executable: String,
        _ arguments: [String],
        stdin: Data? = nil,
        in directory: URL? = nil,
        timeout: Duration = .seconds(60)
    ) async throws -> ProcessResult {
        let path = try resolve(executable)
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("subprocess-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let outURL = scratch.appendingPathComponent("stdout")
        let errURL = scratch.appendingPathComponent("stderr")
        let inURL = scratch.appendingPathComponent("stdin")
        try Data().write(to: outURL)
        try Data().write(to: errURL)
        try (stdin ?? Data()).write(to: inURL)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        let outHandle = try FileHandle(forWritingTo: outURL)
        let errHandle = try FileHandle(forWritingTo: errURL)
        let inHandle = try FileHandle(forReadingFrom: inURL)
        defer {
            try? outHandle.close()
            try? errHandle.close()
            try? inHandle.close()
        }
        process.standardOutput = outHandle
        process.standardError = errHandle
        process.standardInput = inHandle
        try process.run()

        let deadline = ContinuousClock.now + timeout
        var timedOut = false
        while process.isRunning {
            if ContinuousClock.now >= deadline {
                timedOut = true
                process.terminate()
                let grace = ContinuousClock.now + .seconds(5)
                while process.isRunning, ContinuousClock.now < grace { try await Task.sleep(for: .milliseconds(20)) }
                if process.isRunning { kill(process.processIdentifier, SIGKILL) }
                break
            }
            try await Task.sleep(for: .milliseconds(5))
        }
        process.waitUntilExit()
        let command = ([executable] + arguments).map { $0.count > 80 ? String($0.prefix(77)) + "..." : $0 }.joined(separator: " ")
        return ProcessResult(
            command: command,
            status: process.terminationStatus,
            signaled: process.terminationReason == .uncaughtSignal,
            timedOut: timedOut,
            stdout: String(decoding: try Data(contentsOf: outURL), as: UTF8.self),
            stderr: String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
    }

    /// An absolute path, or the first match on PATH.
    static func resolve(_ executable: String) throws -> String {
        if executable.contains("/") { return executable }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = String(directory) + "/" + executable
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw SubprocessError(description: "\(executable) is not on PATH; the interop tests need it")
    }

    /// Runs a tool that must succeed, returning its stdout.
    @discardableResult
    static func check(_ executable: String, _ arguments: [String], stdin: Data? = nil, in directory: URL? = nil) async throws -> String {
        let result = try await run(executable, arguments, stdin: stdin, in: directory)
        guard result.succeeded else { throw SubprocessError(description: "command failed: \(result)") }
        return result.stdout
    }
}

/// A directory removed when the closure returns.
func withTemporaryDirectory<T>(_ body: (URL) async throws -> T) async throws -> T {
    let directory = try makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    return try await body(directory)
}

func makeTemporaryDirectory() throws -> URL {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("matryoshka-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    return directory
}

extension URL {
    /// Writes `contents` to `name` in this directory and returns the file's path.
    @discardableResult
    func write(_ name: String, _ contents: some DataProtocol) throws -> String {
        let url = appendingPathComponent(name)
        try Data(contents).write(to: url)
        return url.path
    }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        try write(name, Data(text.utf8))
    }

    func path(_ name: String) -> String { appendingPathComponent(name).path }
}
