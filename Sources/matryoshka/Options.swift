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

/// `--log-level` and `--log-format`, for long-running commands.
struct LogOptions: ParsableArguments {
    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    @Option(name: .long, help: "Log format on stderr: text (default) or json (one JSON object per line).")
    var logFormat: String = "text"

    init() {}

    init(logLevel: String, logFormat: String = "text") {
        self.logLevel = logLevel
        self.logFormat = logFormat
    }

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
        guard LogSetup.Format(rawValue: logFormat) != nil else {
            throw ValidationError("--log-format must be text or json")
        }
    }

    func bootstrap(label: String) -> Logger {
        LogSetup.bootstrap(level: Logger.Level(rawValue: logLevel) ?? .info, format: LogSetup.Format(rawValue: logFormat) ?? .text)
        return Logger(label: label)
    }
}

/// `--json`.
struct JSONFlag: ParsableArguments {
    @Flag(name: .long, help: "Print the result as JSON.")
    var json = false
}
