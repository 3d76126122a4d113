public import GRPCCore
internal import GRPCNIOTransportHTTP2
internal import Logging

/// Serves gRPC services on a Unix domain socket, telling callers apart by the credentials the
/// kernel reports for their connection.
///
/// ```swift
/// let server = LocalSocketServer(
///     configuration: .init(path: "/run/matryoshka/admin.sock", name: "admin API", socketMode: 0o600),
///     services: [AdminService()],
///     interceptors: [CallerCredentialsInterceptor()]
/// )
/// try await withThrowingDiscardingTaskGroup { group in
///     group.addTask { try await server.run() }
///     let path = try await server.waitUntilListening()
///     print("serving on \(path)")
/// }
/// ```
///
/// Every HTTP/2 stream gets, ahead of gRPC, a handler that removes any client-sent copy of a
/// private metadata entry and writes the connection's ``CallerCredentials`` (read with
/// `SO_PEERCRED`) into it, and a handler that refuses oversized request messages with
/// `ResourceExhausted`. A service reads the credentials with
/// ``CallerCredentials/init(requestMetadata:)``, or lets ``CallerCredentialsInterceptor`` refuse
/// calls without them and read them with ``CallerCredentials/init(context:)``.
///
/// The socket file is handled with care: a stale socket is replaced, a live one (another server
/// accepts connections on it) or a file that is not a socket makes the server refuse to start,
/// the mode is set before the socket listens (nobody connects under the umask's mode), and on
/// exit the socket is removed only if it is still the one this server bound.
public final class LocalSocketServer: Sendable {
    /// How this server listens.
    public let configuration: Configuration
    private let services: [any RegistrableRPCService]
    private let interceptors: [any ServerInterceptor]
    private let onShutdown: @Sendable () async -> Void
    private let lifecycle = LocalSocketLifecycle()

    /// Creates a server; it does nothing until ``run()``.
    ///
    /// - Parameters:
    ///   - configuration: Where and how to listen.
    ///   - services: The services to serve.
    ///   - interceptors: Run, in order, for every call before the service's handler.
    ///   - onShutdown: Called once when the server begins to shut down, so that long-lived
    ///     streams can end at once instead of holding the shutdown for the grace period.
    public init(
        configuration: Configuration,
        services: [any RegistrableRPCService],
        interceptors: [any ServerInterceptor] = [],
        onShutdown: @escaping @Sendable () async -> Void = {}
    ) {
        self.configuration = configuration
        self.services = services
        self.interceptors = interceptors
        self.onShutdown = onShutdown
    }

    /// Returns the socket path once the server accepts connections (the socket is bound and has
    /// its mode).
    ///
    /// - Throws: ``LocalSocketServerError/notListening(reason:)`` when the server fails to start
    ///   or has stopped; `CancellationError` when the waiting task is cancelled.
    public func waitUntilListening() async throws -> String {
        try await lifecycle.waitUntilListening()
    }

    /// Serves until the calling task is cancelled, then shuts down gracefully: no new
    /// connections, `onShutdown` is called, and open calls get
    /// ``Configuration/shutdownGracePeriod`` to finish before their connections are closed. The
    /// socket file is removed on the way out if it is still the one this server created.
    ///
    /// A server runs once.
    ///
    /// - Throws: ``LocalSocketServerError`` when the socket cannot be set up or the transport
    ///   fails. Cancellation is a normal stop, not an error.
    public func run() async throws(LocalSocketServerError) {
        try await lifecycle.start()
        do {
            try await serve()
            await lifecycle.markStopped(reason: "the server has stopped")
        } catch {
            let failure = (error as? LocalSocketServerError) ?? .transportFailed(Self.describe(error))
            await lifecycle.markStopped(reason: failure.description)
            throw failure
        }
    }

    private func serve() async throws {
        try configuration.validate()
        let path = configuration.path
        let logger = configuration.logger
        try UnixSocketFile.prepareForBind(path)
        let listener = try UnixSocketListener.open(path: path, mode: configuration.socketMode)
        defer { UnixSocketFile.removeIfOwned(path, identity: listener.identity) }

        let transport = makeTransport(listeningOn: listener.descriptor)
        let server = GRPCServer(transport: transport, services: services, interceptors: interceptors)
        let grace = configuration.shutdownGracePeriod
        let onShutdown = self.onShutdown

        // `serve()` runs in its own task so that cancelling `run()` drains the server instead of
        // tearing it down mid-call; the cancellation handler below starts that drain.
        let serving = Task { try await server.serve() }

        try await withTaskCancellationHandler {
            do {
                _ = try await transport.listeningAddress
            } catch {
                server.beginGracefulShutdown()
                serving.cancel()
                let serveError: (any Error)?
                do { try await serving.value; serveError = nil } catch { serveError = error }
                if Task.isCancelled { return }
                if let setupError = error as? LocalSocketServerError { throw setupError }
                throw LocalSocketServerError.socketSetupFailed(path: path, reason: Self.describe(serveError ?? error))
            }
            logger.info("\(configuration.name) listening", metadata: ["socket": "\(path)", "mode": "\(String(configuration.socketMode, radix: 8))"])
            await lifecycle.markListening(path: path)
            do {
                try await serving.value
            } catch {
                if Task.isCancelled { return }
                throw LocalSocketServerError.transportFailed(Self.describe(error))
            }
        } onCancel: {
            Task {
                // Told first, so open calls end with the service's own message, then drained.
                await onShutdown()
                server.beginGracefulShutdown()
                // Connections are closed by the transport after the grace period; this is the
                // backstop should anything still hold `serve()` open after that.
                try? await Task.sleep(for: grace + .seconds(1))
                serving.cancel()
            }
        }
        logger.info("\(configuration.name) stopped", metadata: ["socket": "\(path)"])
    }

    /// The plaintext HTTP/2 transport on the listening socket `descriptor` (which it owns from
    /// now on), with the stream pipeline installed.
    private func makeTransport(listeningOn descriptor: Int32) -> HTTP2ServerTransport.Posix {
        let limit = configuration.maxReceiveMessageSize
        let name = configuration.name
        return HTTP2ServerTransport.Posix(
            listeningSocketDescriptor: Int(descriptor),
            transportSecurity: .plaintext,
            config: .defaults { config in
                config.rpc.maxRequestPayloadSize = limit
                config.connection.maxGraceTime = configuration.shutdownGracePeriod
                config.channelDebuggingCallbacks.onAcceptHTTP2Stream = { stream in
                    StreamPipeline.install(on: stream, maxMessageSize: limit, serverName: name)
                }
            }
        )
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
