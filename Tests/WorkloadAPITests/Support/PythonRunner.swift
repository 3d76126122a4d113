import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Runs a Python script with a bounded wait.
enum PythonRunner {
    struct Output: Sendable {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Whether `python3 -c 'import spiffe'` works (py-spiffe installed).
    static let spiffeAvailable: Bool = {
        guard let output = try? runBlocking(["-c", "import spiffe"], environment: [:], timeout: 60) else { return false }
        return output.status == 0
    }()

    /// The interpreter behind `python3` (pyenv's `python3` is a shell shim).
    static let interpreter: String? = {
        guard let output = try? runBlocking(["-c", "import sys; print(sys.executable)"], environment: [:], timeout: 60),
            output.status == 0
        else { return nil }
        let path = output.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        return path.isEmpty ? nil : path
    }()

    /// Whether a test may run Python as another user: root, `setpriv` and py-spiffe are present.
    static var canRunAsOtherUser: Bool {
        getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") && spiffeAvailable && interpreter != nil
    }

    /// Runs `python3 <arguments>` and returns its exit status and output; kills it after `timeout`.
    ///
    /// With `uid`, the interpreter runs as that user and group (through `setpriv`), keeping only
    /// `CAP_DAC_READ_SEARCH` so it can read the interpreter and script under root-only
    /// directories; it grants no write access, so connecting to the socket still depends on the
    /// socket's mode.
    static func run(_ arguments: [String], environment: [String: String], timeout: Double, uid: UInt32? = nil) async throws -> Output {
        var command = ["python3"] + arguments
        if let uid {
            guard let interpreter else { throw TestFailure("no python3 interpreter") }
            command = [
                "/usr/bin/setpriv", "--reuid=\(uid)", "--regid=\(uid)", "--clear-groups",
                "--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search", interpreter,
            ] + arguments
        }
        // The child is waited for on a Dispatch thread, never on the Swift concurrency pool: a
        // blocked pool thread (there are only as many as cores) would starve the very server the
        // child talks to.
        return try await withCheckedThrowingContinuation { [command] continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try runBlocking(command: command, environment: environment, timeout: timeout) })
            }
        }
    }

    private static func runBlocking(_ arguments: [String], environment: [String: String], timeout: Double) throws -> Output {
        try runBlocking(command: ["python3"] + arguments, environment: environment, timeout: timeout)
    }

    private static func runBlocking(command: [String], environment: [String: String], timeout: Double) throws -> Output {
        let arguments = command
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = command
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { _, new in new }
        process.environment = env
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        let finished = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in finished.signal() }
        try process.run()
        // Drain both pipes while the process runs so a chatty child cannot block on a full pipe.
        let group = DispatchGroup()
        nonisolated(unsafe) var out = Data()
        nonisolated(unsafe) var err = Data()
        DispatchQueue.global().async(group: group) { out = stdout.fileHandleForReading.readDataToEndOfFile() }
        DispatchQueue.global().async(group: group) { err = stderr.fileHandleForReading.readDataToEndOfFile() }
        if finished.wait(timeout: .now() + timeout) == .timedOut {
            process.terminate()
            _ = finished.wait(timeout: .now() + 5)
            group.wait()
            throw TestFailure("python3 \(arguments.joined(separator: " ")) did not finish within \(timeout) s; stderr: \(String(decoding: err, as: UTF8.self))")
        }
        group.wait()
        return Output(
            status: process.terminationStatus,
            stdout: String(decoding: out, as: UTF8.self),
            stderr: String(decoding: err, as: UTF8.self)
        )
    }
}
