import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// How a child process ended.
struct ProcessExit: Sendable, Equatable, CustomStringConvertible {
    /// The exit status, or the signal number when `signaled`.
    var status: Int32
    /// Ended by a signal rather than by exiting.
    var signaled: Bool

    static let success = ProcessExit(status: 0, signaled: false)

    var description: String { signaled ? "killed by signal \(status)" : "exit status \(status)" }
}

/// A position in a process's output, so a wait can look only at what is written after it (e.g.
/// the second "connected to server" after a restart).
struct LogMark: Sendable {
    var stdout: Int
    var stderr: Int

    static let start = LogMark(stdout: 0, stderr: 0)
}

/// Why waiting on a child process failed; the description carries the end of its output.
struct TestProcessError: Error, CustomStringConvertible {
    let description: String
}

/// A child process of a test, spawned with Foundation `Process`.
///
/// Its stdout and stderr go to files (`<name>.stdout`, `<name>.stderr` in the log directory), so a
/// chatty child can never block on a full pipe and the output can be read at any time. Every wait
/// is bounded and fails early, with the end of the output, if the process exits first.
/// ``terminate(grace:)`` sends SIGTERM and then SIGKILL after a grace period; a process still
/// running when its last reference goes away (a test that failed before its teardown) is killed,
/// and all still running when the test runner exits are killed too.
final class TestProcess: Sendable {
    let name: String
    let executable: String
    let arguments: [String]
    let stdoutPath: String
    let stderrPath: String
    let pid: Int32
    private let process: Process
    private let exitState: ExitState

    /// How often waits look at the output or the exit state.
    static let pollInterval: Duration = .milliseconds(20)

    /// Starts `executable` with `arguments`.
    ///
    /// - Parameters:
    ///   - name: a label for messages and the output file names (unique within `logDirectory`).
    ///   - environment: the complete environment of the child.
    ///   - logDirectory: where `<name>.stdout` and `<name>.stderr` are written.
    ///   - workingDirectory: the child's current directory (default: `logDirectory`).
    init(
        name: String, executable: String, arguments: [String], environment: [String: String],
        logDirectory: String, workingDirectory: String? = nil
    ) throws {
        self.name = name
        self.executable = executable
        self.arguments = arguments
        stdoutPath = (logDirectory as NSString).appendingPathComponent("\(name).stdout")
        stderrPath = (logDirectory as NSString).appendingPathComponent("\(name).stderr")
        guard FileManager.default.createFile(atPath: stdoutPath, contents: nil),
              FileManager.default.createFile(atPath: stderrPath, contents: nil),
              let out = FileHandle(forWritingAtPath: stdoutPath),
              let err = FileHandle(forWritingAtPath: stderrPath)
        else {
            throw TestProcessError(description: "\(name): cannot create output files in \(logDirectory)")
        }
        defer {
            try? out.close()
            try? err.close()
        }
        let state = ExitState()
        exitState = state
        process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = environment
        process.currentDirectoryURL = URL(fileURLWithPath: workingDirectory ?? logDirectory)
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = out
        process.standardError = err
        process.terminationHandler = { process in
            let exit = ProcessExit(status: process.terminationStatus, signaled: process.terminationReason == .uncaughtSignal)
            state.set(exit)
            LiveProcesses.shared.remove(process.processIdentifier)
        }
        do {
            try process.run()
        } catch {
            throw TestProcessError(description: "\(name): cannot start \(executable): \(error)")
        }
        pid = process.processIdentifier
        LiveProcesses.shared.add(pid)
        // The handler may already have run (and removed the pid before it was added).
        if state.value != nil { LiveProcesses.shared.remove(pid) }
    }

    deinit {
        // A test that failed before its teardown: do not leave the process behind.
        if exitState.value == nil { kill(pid, SIGKILL) }
    }

    // MARK: State and output

    /// How the process ended, or nil while it runs.
    var exit: ProcessExit? { exitState.value }

    var isRunning: Bool { exit == nil }

    var stdout: String { Self.read(stdoutPath) }

    var stderr: String { Self.read(stderrPath) }

    /// The current end of the output.
    func mark() -> LogMark {
        LogMark(stdout: Self.size(stdoutPath), stderr: Self.size(stderrPath))
    }

    /// The lines of stdout and stderr written after `mark`.
    func lines(after mark: LogMark = .start) -> [String] {
        (Self.read(stdoutPath, from: mark.stdout) + "\n" + Self.read(stderrPath, from: mark.stderr))
            .split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
    }

    /// The last `count` lines of each stream, for failure messages.
    func tail(_ count: Int = 25) -> String {
        func last(_ text: String) -> String {
            text.split(separator: "\n", omittingEmptySubsequences: false).suffix(count).joined(separator: "\n")
        }
        let status = exit.map { " (\($0))" } ?? " (running)"
        return "--- \(name)\(status): \(([executable] + arguments).joined(separator: " "))\n"
            + "stdout:\n\(last(stdout))\nstderr:\n\(last(stderr))"
    }

    // MARK: Waiting

    /// Waits until a line containing `text` is written (to stdout or stderr) after `mark`, and
    /// returns that line. Fails if the process exits first or nothing comes within `timeout`.
    @discardableResult
    func waitFor(line text: String, after mark: LogMark = .start, timeout: Duration = .seconds(30)) async throws -> String {
        try await waitFor(lineWhere: { $0.contains(text) }, described: "containing '\(text)'", after: mark, timeout: timeout)
    }

    /// Waits for a line for which `matches` holds (`described` names it in the error).
    func waitFor(
        lineWhere matches: (String) -> Bool, described: String, after mark: LogMark = .start, timeout: Duration = .seconds(30)
    ) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while true {
            let exited = exit
            if let line = lines(after: mark).first(where: matches) { return line }
            if let exited {
                throw TestProcessError(description: "\(name) ended (\(exited)) without writing a line \(described)\n\(tail())")
            }
            guard ContinuousClock.now < deadline else {
                throw TestProcessError(description: "\(name) wrote no line \(described) within \(timeout)\n\(tail())")
            }
            try await Task.sleep(for: Self.pollInterval)
        }
    }

    /// Waits until `path` exists. Fails if the process exits first or the file does not appear
    /// within `timeout`.
    func waitFor(file path: String, timeout: Duration = .seconds(30)) async throws {
        let deadline = ContinuousClock.now + timeout
        while !FileManager.default.fileExists(atPath: path) {
            if let exited = exit {
                throw TestProcessError(description: "\(name) ended (\(exited)) before \(path) appeared\n\(tail())")
            }
            guard ContinuousClock.now < deadline else {
                throw TestProcessError(description: "\(path) did not appear within \(timeout)\n\(tail())")
            }
            try await Task.sleep(for: Self.pollInterval)
        }
    }

    /// Waits for the process to end by itself.
    @discardableResult
    func waitForExit(timeout: Duration = .seconds(30)) async throws -> ProcessExit {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let exit { return exit }
            guard ContinuousClock.now < deadline else {
                throw TestProcessError(description: "\(name) did not exit within \(timeout)\n\(tail())")
            }
            try await Task.sleep(for: Self.pollInterval)
        }
    }

    // MARK: Stopping

    /// Sends `signal` (if the process still runs).
    func send(_ signal: Int32) {
        if isRunning { kill(pid, signal) }
    }

    /// Stops the process: SIGTERM, then SIGKILL if it is still running after `grace`. Returns how
    /// it ended. Never throws and never waits longer than `grace` plus a few seconds, so it is
    /// safe in teardown, even when the surrounding task was cancelled.
    @discardableResult
    func terminate(grace: Duration = .seconds(10)) async -> ProcessExit {
        send(SIGTERM)
        if let exit = await waitQuietly(grace) { return exit }
        return await kill9()
    }

    /// SIGKILL, and wait for the process to be reaped.
    @discardableResult
    func kill9() async -> ProcessExit {
        send(SIGKILL)
        return await waitQuietly(.seconds(10)) ?? ProcessExit(status: SIGKILL, signaled: true)
    }

    /// Waits up to `timeout` for the exit without throwing, ignoring cancellation (teardown must
    /// finish even in a cancelled test).
    private func waitQuietly(_ timeout: Duration) async -> ProcessExit? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let exit { return exit }
            // In a detached task: Task.sleep returns at once in a cancelled task, which would spin.
            await Task.detached { try? await Task.sleep(for: TestProcess.pollInterval) }.value
        }
        return exit
    }

    // MARK: Files

    static func read(_ path: String, from offset: Int = 0) -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { return "" }
        defer { try? handle.close() }
        do {
            try handle.seek(toOffset: UInt64(offset))
            return String(decoding: try handle.readToEnd() ?? Data(), as: UTF8.self)
        } catch {
            return ""
        }
    }

    static func size(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? 0
    }
}

/// How a process ended, set once by Foundation's termination handler.
final class ExitState: Sendable {
    private let state = Mutex<ProcessExit?>(nil)

    var value: ProcessExit? { state.withLock { $0 } }

    func set(_ exit: ProcessExit) { state.withLock { $0 = exit } }
}

/// Every child process still running, so the test runner kills them when it exits (a crashed
/// or interrupted run must not leave servers behind).
final class LiveProcesses: Sendable {
    static let shared: LiveProcesses = {
        let registry = LiveProcesses()
        atexit {
            for pid in LiveProcesses.shared.pids.withLock({ Array($0) }) { kill(pid, SIGKILL) }
        }
        return registry
    }()

    private let pids = Mutex<Set<Int32>>([])

    func add(_ pid: Int32) { pids.withLock { _ = $0.insert(pid) } }

    func remove(_ pid: Int32) { pids.withLock { _ = $0.remove(pid) } }
}
