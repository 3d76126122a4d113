import Logging
import ServiceLifecycle

/// Runs long-lived components until SIGTERM or SIGINT, then shuts them down gracefully.
public enum Lifecycle {
    /// Runs `body` as a service until a termination signal; the body sees task cancellation.
    public static func run(name: String, logger: Logger, _ body: @escaping @Sendable () async throws -> Void) async throws {
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [ServiceGroupConfiguration.ServiceConfiguration(
                service: ClosureService(body: body), successTerminationBehavior: .gracefullyShutdownGroup)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        try await group.run()
        logger.notice("\(name) stopped")
    }

    struct ClosureService: Service {
        let body: @Sendable () async throws -> Void

        func run() async throws {
            do {
                try await cancelWhenGracefulShutdown {
                    try await body()
                }
            } catch is CancellationError {
                // Asked to stop: a clean exit.
            }
        }
    }
}

/// Sets up logging once per process: to stderr, at a level, as text or JSON lines.
public enum LogSetup {
    /// How log lines look.
    public enum Format: String, Sendable, CaseIterable {
        /// swift-log's text lines: `time level label: key=value message`.
        case text
        /// One JSON object per line (``JSONLogHandler``).
        case json
    }

    public static func bootstrap(level: Logger.Level, format: Format = .text) {
        LoggingSystem.bootstrap { label in
            switch format {
            case .text:
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            case .json:
                var handler = JSONLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
        }
    }
}
