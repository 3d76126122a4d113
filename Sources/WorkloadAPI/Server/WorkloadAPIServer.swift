internal import LocalSocket
internal import Logging

/// Serves the SPIFFE Workload API on a Unix domain socket, telling callers apart by the
/// credentials the kernel reports for their connection.
///
/// ```swift
/// let server = WorkloadAPIServer(
///     configuration: .init(address: try WorkloadAPIAddress("unix:///run/matryoshka/agent.sock")),
///     provider: agent
/// )
/// try await withThrowingDiscardingTaskGroup { group in
///     group.addTask { try await server.run() }
///     let address = try await server.waitUntilListening()
///     print("serving on \(address)")
/// }
/// ```
///
/// Each call's caller is the ``CallerCredentials`` of its connection, read with `SO_PEERCRED`
/// and handed to the service in a private metadata entry that clients cannot set. Calls without
/// the `workload.spiffe.io: true` header are refused with `InvalidArgument`, calls from callers
/// the provider does not know with `PermissionDenied`.
///
/// The socket, its mode, its lifecycle and the transport are those of a `LocalSocketServer`.
public final class WorkloadAPIServer: Sendable {
    /// How this server listens.
    public let configuration: Configuration
    private let server: LocalSocketServer

    /// Creates a server; it does nothing until ``run()``.
    public init(configuration: Configuration, provider: any WorkloadIdentityProvider) {
        self.configuration = configuration
        let shutdown = ShutdownSignal()
        let service = WorkloadAPIService(provider: provider, shutdown: shutdown, logger: configuration.logger)
        self.server = LocalSocketServer(
            configuration: LocalSocketServer.Configuration(
                path: configuration.address.path,
                name: "Workload API",
                socketMode: configuration.socketMode,
                maxReceiveMessageSize: configuration.maxReceiveMessageSize,
                shutdownGracePeriod: configuration.shutdownGracePeriod,
                logger: configuration.logger
            ),
            services: [service],
            // Open streams end at once with `Unavailable` rather than holding the shutdown.
            onShutdown: { shutdown.trigger() }
        )
    }

    /// Returns the address once the server accepts connections (the socket is bound and has its
    /// mode).
    ///
    /// - Throws: ``WorkloadAPIServerError/notListening(reason:)`` when the server fails to start
    ///   or has stopped; `CancellationError` when the waiting task is cancelled.
    public func waitUntilListening() async throws -> WorkloadAPIAddress {
        do {
            _ = try await server.waitUntilListening()
        } catch let error as LocalSocketServerError {
            throw WorkloadAPIServerError(error)
        }
        return configuration.address
    }

    /// Serves until the calling task is cancelled, then shuts down gracefully: no new
    /// connections, open streams end with `Unavailable`, unary calls get
    /// ``Configuration/shutdownGracePeriod`` to finish. The socket file is removed on the way out
    /// if it is still the one this server created.
    ///
    /// A server runs once.
    ///
    /// - Throws: ``WorkloadAPIServerError`` when the socket cannot be set up or the transport
    ///   fails. Cancellation is a normal stop, not an error.
    public func run() async throws {
        do {
            try await server.run()
        } catch {
            throw WorkloadAPIServerError(error)
        }
    }
}
