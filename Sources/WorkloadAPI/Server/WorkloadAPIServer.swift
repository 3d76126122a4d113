internal import GRPCCore
internal import GRPCNIOTransportHTTP2
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
public final class WorkloadAPIServer: Sendable {
    /// How this server listens.
    public let configuration: Configuration
    private let provider: any WorkloadIdentityProvider
    private let lifecycle = ServerLifecycle()

    /// Creates a server; it does nothing until ``run()``.
    public init(configuration: Configuration, provider: any WorkloadIdentityProvider) {
        self.configuration = configuration
        self.provider = provider
    }

    /// Returns the address once the server accepts connections (the socket is bound and has its
    /// mode).
    ///
    /// - Throws: ``WorkloadAPIServerError/notListening(reason:)`` when the server fails to start
    ///   or has stopped; `CancellationError` when the waiting task is cancelled.
    public func waitUntilListening() async throws -> WorkloadAPIAddress {
        try await lifecycle.waitUntilListening()
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
        try await lifecycle.start()
        do {
            try await serve()
            await lifecycle.markStopped(reason: "the server has stopped")
        } catch {
            await lifecycle.markStopped(reason: "\(error)")
            throw error
        }
    }

    private func serve() async throws {
        try configuration.validate()
        let path = configuration.address.path
        let logger = configuration.logger
        try UnixSocketFile.prepareForBind(path)

        let shutdown = ShutdownSignal()
        let service = WorkloadAPIService(provider: provider, shutdown: shutdown, logger: logger)
        let transport = HTTP2ServerTransport.Posix(
            address: .unixDomainSocket(path: path),
            transportSecurity: .plaintext,
            config: .defaults { config in
                config.rpc.maxRequestPayloadSize = configuration.maxReceiveMessageSize
                config.connection.maxGraceTime = configuration.shutdownGracePeriod
                config.channelDebuggingCallbacks.onAcceptHTTP2Stream = { [limit = configuration.maxReceiveMessageSize] stream in
                    StreamPipeline.install(on: stream, maxMessageSize: limit)
                }
            }
        )
        let server = GRPCServer(transport: transport, services: [service])
        let grace = configuration.shutdownGracePeriod

        // `serve()` runs in its own task so that cancelling `run()` drains the server instead of
        // tearing it down mid-call; the cancellation handler below starts that drain.
        let serving = Task { try await server.serve() }
        var socketIdentity: UnixSocketFile.FileIdentity?
        defer {
            if let socketIdentity {
                UnixSocketFile.removeIfOwned(path, identity: socketIdentity)
            }
        }

        try await withTaskCancellationHandler {
            do {
                _ = try await transport.listeningAddress
                try UnixSocketFile.setMode(configuration.socketMode, of: path)
                guard case .socket(let identity) = try UnixSocketFile.status(of: path) else {
                    throw WorkloadAPIServerError.socketSetupFailed(path: path, reason: "the socket disappeared after it was bound")
                }
                socketIdentity = identity
            } catch {
                server.beginGracefulShutdown()
                serving.cancel()
                let serveError: (any Error)?
                do { try await serving.value; serveError = nil } catch { serveError = error }
                if Task.isCancelled { return }
                if let serverError = error as? WorkloadAPIServerError { throw serverError }
                throw WorkloadAPIServerError.socketSetupFailed(path: path, reason: Self.describe(serveError ?? error))
            }
            logger.info("Workload API listening", metadata: ["socket": "\(path)", "mode": "\(String(configuration.socketMode, radix: 8))"])
            await lifecycle.markListening(configuration.address)
            do {
                try await serving.value
            } catch {
                if Task.isCancelled { return }
                throw WorkloadAPIServerError.transportFailed(Self.describe(error))
            }
        } onCancel: {
            server.beginGracefulShutdown()
            Task {
                await shutdown.trigger()
                // Connections are closed by the transport after the grace period; this is the
                // backstop should anything still hold `serve()` open after that.
                try? await Task.sleep(for: grace + .seconds(1))
                serving.cancel()
            }
        }
        logger.info("Workload API stopped", metadata: ["socket": "\(path)"])
    }

    /// The most specific message in a gRPC error chain (bind failures are wrapped twice).
    private static func describe(_ error: any Error) -> String {
        var current: any Error = error
        var messages: [String] = []
        for _ in 0..<4 {
            if let runtime = current as? RuntimeError {
                messages.append(runtime.message)
                guard let cause = runtime.cause else { break }
                current = cause
            } else {
                messages.append("\(current)")
                break
            }
        }
        return messages.joined(separator: ": ")
    }
}
