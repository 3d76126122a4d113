import ArgumentParser
import Logging
import MatryoshkaCLI

/// `--admin-socket`, shared by admin commands.
struct AdminSocketOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "The server's admin socket (path or unix:// URI). Default: $MATRYOSHKA_ADMIN_SOCKET, else ~/.matryoshka/server/admin.sock.",
        valueName: "PATH"))
    var adminSocket: String?

    var path: String { AdminClient.socketPath(adminSocket) }
}

/// `--socket`, shared by workload commands.
struct WorkloadSocketOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "The agent's Workload API socket (path or unix:// URI). Default: $SPIFFE_ENDPOINT_SOCKET.", valueName: "PATH"))
    var socket: String?
}

/// `--log-level`, for long-running commands.
struct LogOptions: ParsableArguments {
    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    init() {}

    init(logLevel: String) {
        self.logLevel = logLevel
    }

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
    }

    func bootstrap(label: String) -> Logger {
        LogSetup.bootstrap(level: Logger.Level(rawValue: logLevel) ?? .info)
        return Logger(label: label)
    }
}

/// `--json`.
struct JSONFlag: ParsableArguments {
    @Flag(name: .long, help: "Print the result as JSON.")
    var json = false
}
