import Foundation

/// A command this process starts and waits for, with SIGINT, SIGTERM and SIGHUP passed on to it
/// while it runs: how `exec` runs its child and a nested agent runs the workload it hosts.
struct SpawnedProcess {
    let pid: Int32
    private let exits: AsyncStream<Int32>
    private let forwarding: SignalForwarding

    /// Starts `arguments[0]` (resolved to `executable`) with `environment`.
    init(executable: String, arguments: [String], environment: [String: String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = Array(arguments.dropFirst())
        process.environment = environment
        let (exits, exited) = AsyncStream<Int32>.makeStream()
        process.terminationHandler = { finished in
            // A shell's convention: 128 + the signal that killed it.
            let status = finished.terminationReason == .uncaughtSignal ? 128 + finished.terminationStatus : finished.terminationStatus
            exited.yield(status)
            exited.finish()
        }
        do {
            try process.run()
        } catch {
            throw AgentError("cannot start \(executable): \(error.localizedDescription)")
        }
        self.pid = process.processIdentifier
        self.exits = exits
        self.forwarding = SignalForwarding(to: process.processIdentifier)
    }

    /// Waits for the process to exit and returns its status.
    func wait() async -> Int32 {
        var status: Int32 = 1
        for await value in exits { status = value }
        forwarding.stop()
        return status
    }

    /// Absolute path of a command, searched in PATH when it has no slash.
    static func resolve(_ command: String, path: String?) -> String? {
        guard !command.isEmpty else { return nil }
        if command.contains("/") {
            let url = URL(fileURLWithPath: command).standardizedFileURL
            return FileManager.default.isExecutableFile(atPath: url.path) ? url.resolvingSymlinksInPath().path : nil
        }
        for directory in (path ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(directory)/\(command)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return URL(fileURLWithPath: candidate).resolvingSymlinksInPath().path }
        }
        return nil
    }
}

/// Passes SIGINT, SIGTERM and SIGHUP on to a child while it runs.
final class SignalForwarding: @unchecked Sendable {
    // Set up once and only cancelled by `stop()`, from the owner.
    private let sources: [any DispatchSourceSignal]

    init(to pid: Int32) {
        var sources: [any DispatchSourceSignal] = []
        for signalNumber in [SIGINT, SIGTERM, SIGHUP] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler {
                kill(pid, signalNumber)
            }
            source.resume()
            sources.append(source)
        }
        self.sources = sources
    }

    func stop() {
        for source in sources { source.cancel() }
        for signalNumber in [SIGINT, SIGTERM, SIGHUP] { signal(signalNumber, SIG_DFL) }
    }
}
