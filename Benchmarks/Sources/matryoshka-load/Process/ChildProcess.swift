import Foundation
import Synchronization

/// A child process (the `matryoshka` binary, mostly) whose stdout and stderr go to files, so a
/// chatty child never blocks on a pipe and its output can be searched at any time.
///
/// Waits are bounded and fail early, with the end of the output, when the child exits first.
/// ``terminate(grace:)`` sends SIGTERM, then SIGKILL after the grace period. Every child is in
/// ``ProcessRegistry`` until it has exited.
final class ChildProcess: Sendable {
    let name: String
    let pid: Int32
    let stdoutPath: String
    let stderrPath: String
    let commandLine: String
    private let exitStatus: ExitStatus

    static let pollInterval: Duration = .milliseconds(5)

    init(name: String, executable: String, arguments: [String], environment: [String: String], logDirectory: String) throws {
        self.name = name
        stdoutPath = logDirectory + "/\(name).stdout"
        stderrPath = logDirectory + "/\(name).stderr"
        commandLine = ([executable] + arguments).joined(separator: " ")
        guard FileManager.default.createFile(atPath: stdoutPath, contents: nil),
              FileManager.default.createFile(atPath: stderrPath, contents: nil),
              let out = FileHandle(forWritingAtPath: stdoutPath),
              let err = FileHandle(forWritingAtPath: stderrPath)
        else { throw LoadError.cannotStart("\(name): cannot create its output files in \(logDirectory)") }
        defer {
            try? out.close()
            try? err.close()
        }
        let status = ExitStatus()
        exitStatus = status
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = environment
        process.currentDirectoryURL = URL(fileURLWithPath: logDirectory)
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = out
        process.standardError = err
        process.terminationHandler = { process in
            let reason = process.terminationReason == .uncaughtSignal ? "signal" : "status"
            status.set("\(reason) \(process.terminationStatus)")
            ProcessRegistry.shared.remove(process.processIdentifier)
        }
        do {
            try process.run()
        } catch {
            throw LoadError.cannotStart("\(name): \(executable): \(error)")
        }
        pid = process.processIdentifier
        ProcessRegistry.shared.add(pid)
        if status.value != nil { ProcessRegistry.shared.remove(pid) }
    }

    /// "status N" or "signal N" once it has exited; nil while it runs.
    var exit: String? { exitStatus.value }
    var isRunning: Bool { exit == nil }

    var stdout: String { Self.read(stdoutPath) }
    var stderr: String { Self.read(stderrPath) }

    func tail(_ lines: Int = 20) -> String {
        let text = (stdout + "\n" + stderr).split(separator: "\n").suffix(lines).joined(separator: "\n")
        return "--- \(name) (\(exit ?? "running")): \(commandLine)\n\(text)"
    }

    /// Waits for a line containing `text` on stdout or stderr and returns it.
    @discardableResult
    func waitFor(line text: String, timeout: Duration) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while true {
            // Look once more after an exit: the line may be the last thing it wrote.
            let exited = exit
            for line in (stdout + "\n" + stderr).split(separator: "\n") where line.contains(text) { return String(line) }
            if let exited { throw LoadError.processExited(name: name, status: exited, tail: tail()) }
            if ContinuousClock.now >= deadline { throw LoadError.timeout("'\(text)' from \(name)", seconds: timeout.seconds) }
            try await Task.sleep(for: Self.pollInterval)
        }
    }

    /// Waits for the process to exit and returns how it ended; SIGKILLs it after `timeout`.
    @discardableResult
    func waitForExit(timeout: Duration) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let exit { return exit }
            if ContinuousClock.now >= deadline {
                await terminate(grace: .seconds(1))
                throw LoadError.timeout("\(name) to exit", seconds: timeout.seconds)
            }
            try await Task.sleep(for: Self.pollInterval)
        }
    }

    /// SIGTERM, then SIGKILL if it is still running after `grace`; returns once it has exited
    /// (or after a bounded wait following SIGKILL).
    func terminate(grace: Duration = .seconds(5)) async {
        guard isRunning else { return }
        kill(pid, SIGTERM)
        let deadline = ContinuousClock.now + grace
        while isRunning, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(10)) }
        guard isRunning else { return }
        kill(pid, SIGKILL)
        let killDeadline = ContinuousClock.now + .seconds(5)
        while isRunning, ContinuousClock.now < killDeadline { try? await Task.sleep(for: .milliseconds(10)) }
    }

    deinit {
        if exit == nil { kill(pid, SIGKILL) }
    }

    static func read(_ path: String) -> String {
        guard let data = FileManager.default.contents(atPath: path) else { return "" }
        return String(decoding: data, as: UTF8.self)
    }
}

/// How a child ended, set by Foundation's termination handler (on another thread).
final class ExitStatus: Sendable {
    private let storage = Mutex<String?>(nil)
    var value: String? { storage.withLock { $0 } }
    func set(_ status: String) { storage.withLock { $0 = status } }
}

extension Duration {
    /// Seconds as a Double.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
    var milliseconds: Double { seconds * 1000 }
}
