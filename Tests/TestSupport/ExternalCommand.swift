import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// What an external command (openssl, tpm2-tools, python) left behind.
public struct CommandOutput: Sendable, CustomStringConvertible {
    public let command: String
    /// The exit status, or the signal number when `signaled`.
    public let status: Int32
    /// Ended by a signal (a crash, or the kill after a timeout).
    public let signaled: Bool
    public let timedOut: Bool
    public let stdout: String
    public let stderr: String

    public var succeeded: Bool { status == 0 && !signaled && !timedOut }
    public var output: String { stdout + stderr }

    public var description: String {
        "`\(command)` → status \(status)\(signaled ? " (signal)" : "")\(timedOut ? " (timed out)" : "")\n"
            + "stdout: \(stdout.prefix(4000))\nstderr: \(stderr.prefix(2000))"
    }
}

public struct CommandError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Runs external commands from async tests without ever blocking a thread of the Swift
/// concurrency pool.
///
/// The pool has as many threads as cores (two in CI): a test that waits on a child with
/// `waitUntilExit()` or a polling `Thread.sleep` holds one of them, and two such tests stall every
/// other test in the run, servers included. Here the exit is awaited through the process's
/// termination handler, output goes to temporary files (a chatty child never blocks on a full
/// pipe), and the wait is bounded: after `timeout` the child gets SIGTERM, then SIGKILL.
public enum ExternalCommand {
    public static func run(
        _ executable: String,
        _ arguments: [String],
        stdin: Data? = nil,
        in directory: URL? = nil,
        environment: [String: String]? = nil,
        timeout: Duration = .seconds(60)
    ) async throws -> CommandOutput {
        let path = try resolve(executable)
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("command-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let outURL = scratch.appendingPathComponent("stdout")
        let errURL = scratch.appendingPathComponent("stderr")
        let inURL = scratch.appendingPathComponent("stdin")
        try Data().write(to: outURL)
        try Data().write(to: errURL)
        try (stdin ?? Data()).write(to: inURL)
        let outHandle = try FileHandle(forWritingTo: outURL)
        let errHandle = try FileHandle(forWritingTo: errURL)
        let inHandle = try FileHandle(forReadingFrom: inURL)
        defer {
            try? outHandle.close()
            try? errHandle.close()
            try? inHandle.close()
        }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        if let environment { process.environment = environment }
        process.standardOutput = outHandle
        process.standardError = errHandle
        process.standardInput = inHandle
        let exited = ExitSignal()
        process.terminationHandler = { _ in exited.fire() }
        try process.run()

        let pid = process.processIdentifier
        let timedOut = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await exited.wait()
                return false
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return !Task.isCancelled
            }
            let first = await group.next() ?? false
            if first {
                kill(pid, SIGTERM)
                let killer = Task {
                    try? await Task.sleep(for: .seconds(5))
                    if !Task.isCancelled { kill(pid, SIGKILL) }
                }
                await exited.wait()
                killer.cancel()
            }
            group.cancelAll()
            return first
        }
        let command = ([executable] + arguments).map { $0.count > 80 ? String($0.prefix(77)) + "..." : $0 }.joined(separator: " ")
        return CommandOutput(
            command: command,
            status: process.terminationStatus,
            signaled: process.terminationReason == .uncaughtSignal,
            timedOut: timedOut,
            stdout: String(decoding: try Data(contentsOf: outURL), as: UTF8.self),
            stderr: String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
    }

    /// Runs a command that must succeed; returns its stdout.
    @discardableResult
    public static func check(
        _ executable: String, _ arguments: [String], stdin: Data? = nil, in directory: URL? = nil, timeout: Duration = .seconds(60)
    ) async throws -> String {
        let result = try await run(executable, arguments, stdin: stdin, in: directory, timeout: timeout)
        guard result.succeeded else { throw CommandError("command failed: \(result)") }
        return result.stdout
    }

    /// Runs a short command synchronously and returns its output, or nil if it could not start.
    /// Only for checks made while tests are being set up (a trait's condition, a static
    /// property): it blocks the calling thread.
    public static func runBeforeTests(_ executable: String, _ arguments: [String]) -> CommandOutput? {
        guard let path = try? resolve(executable) else { return nil }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("command-\(UUID().uuidString)")
        guard (try? FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)) != nil else { return nil }
        defer { try? FileManager.default.removeItem(at: scratch) }
        let outURL = scratch.appendingPathComponent("stdout")
        let errURL = scratch.appendingPathComponent("stderr")
        guard FileManager.default.createFile(atPath: outURL.path, contents: nil),
              FileManager.default.createFile(atPath: errURL.path, contents: nil),
              let outHandle = try? FileHandle(forWritingTo: outURL),
              let errHandle = try? FileHandle(forWritingTo: errURL)
        else { return nil }
        defer {
            try? outHandle.close()
            try? errHandle.close()
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = outHandle
        process.standardError = errHandle
        guard (try? process.run()) != nil else { return nil }
        process.waitUntilExit()
        return CommandOutput(
            command: ([executable] + arguments).joined(separator: " "),
            status: process.terminationStatus,
            signaled: process.terminationReason == .uncaughtSignal,
            timedOut: false,
            stdout: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOf: errURL, encoding: .utf8)) ?? "")
    }

    /// An absolute path, or the first match on PATH.
    public static func resolve(_ executable: String) throws -> String {
        if executable.contains("/") { return executable }
        if let found = find(executable) { return found }
        throw CommandError("\(executable) is not on PATH; the tests need it (scripts/install-deps --test installs it)")
    }

    /// The first `name` on PATH, or nil.
    public static func find(_ name: String) -> String? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}

/// Runs blocking work (a synchronous wait, a polling loop) on a Dispatch thread, never on the
/// Swift concurrency pool.
public func offCooperativePool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(with: Result { try body() }) }
    }
}

/// A one-shot signal that may fire before anyone waits.
final class ExitSignal: Sendable {
    private struct State {
        var fired = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    func fire() {
        let waiters = state.withLock { state in
            state.fired = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let added = state.withLock { state in
                if state.fired { return false }
                state.waiters.append(continuation)
                return true
            }
            if !added { continuation.resume() }
        }
    }
}
