internal import GRPCCore
internal import GRPCNIOTransportHTTP2

/// A client of the SPIFFE Workload API over a Unix domain socket.
///
/// The client owns a gRPC connection that must be running while calls are made; the simplest
/// way is ``withClient(address:configuration:isolation:_:)``, which runs it around a closure:
///
/// ```swift
/// let svids = try await WorkloadAPIClient.withClient { client in
///     try await client.fetchX509Context()
/// }
/// ```
///
/// Otherwise create one, run ``run()`` in a task of your task group, and ``close()`` it when done.
/// Every call carries the `workload.spiffe.io: true` header the specification requires. Errors
/// are ``WorkloadAPIClientError``s.
public final class WorkloadAPIClient: Sendable {
    /// Client settings.
    public struct Configuration: Sendable {
        /// The largest message accepted from the agent, in bytes.
        public var maxReceiveMessageSize: Int

        /// Creates a configuration.
        public init(maxReceiveMessageSize: Int = 4 * 1024 * 1024) {
            self.maxReceiveMessageSize = maxReceiveMessageSize
        }
    }

    /// The agent's socket.
    public let address: WorkloadAPIAddress
    private let grpcClient: GRPCClient<HTTP2ClientTransport.Posix>
    private let api: Workload_SpiffeWorkloadAPI.Client<HTTP2ClientTransport.Posix>
    private let options: CallOptions

    private static let headers: Metadata = [CallAuthorization.securityHeader: "true"]

    /// Creates a client for the agent at `address`; it connects once ``run()`` runs.
    ///
    /// - Throws: ``WorkloadAPIClientError/callFailed(code:message:)`` if the gRPC transport
    ///   cannot be created (it can always be for a Unix socket).
    public init(address: WorkloadAPIAddress, configuration: Configuration = Configuration()) throws(WorkloadAPIClientError) {
        self.address = address
        let transport: HTTP2ClientTransport.Posix
        do {
            transport = try HTTP2ClientTransport.Posix(
                target: .unixDomainSocket(path: address.path),
                transportSecurity: .plaintext
            )
        } catch {
            throw .callFailed(code: "internal", message: "cannot create the gRPC transport: \(error)")
        }
        self.grpcClient = GRPCClient(transport: transport)
        self.api = Workload_SpiffeWorkloadAPI.Client(wrapping: grpcClient)
        var options = CallOptions.defaults
        // The NIO transport applies `maxRequestMessageBytes` to the messages a client *receives*;
        // set both so the limit holds whichever way the transport reads it.
        options.maxRequestMessageBytes = configuration.maxReceiveMessageSize
        options.maxResponseMessageBytes = configuration.maxReceiveMessageSize
        self.options = options
    }

    /// Runs the client's connection until ``close()`` is called (then in-flight calls finish) or
    /// the calling task is cancelled (then they fail).
    public func run() async throws {
        try await grpcClient.runConnections()
    }

    /// Stops accepting calls and lets ``run()`` return once in-flight calls finish.
    public func close() {
        grpcClient.beginGracefulShutdown()
    }

    /// Runs a client for the agent at `address` (or `SPIFFE_ENDPOINT_SOCKET` when `nil`) for the
    /// duration of `body`, then closes it; watches still open when `body` returns are ended.
    ///
    /// - Throws: ``WorkloadAPIAddressError`` when no address is given and the environment has
    ///   none; whatever `body` throws.
    public static func withClient<Result: Sendable>(
        address: WorkloadAPIAddress? = nil,
        configuration: Configuration = Configuration(),
        isolation: isolated (any Actor)? = #isolation,
        _ body: (WorkloadAPIClient) async throws -> Result
    ) async throws -> Result {
        let client = try WorkloadAPIClient(address: address ?? WorkloadAPIAddress.fromEnvironment(), configuration: configuration)
        return try await withThrowingTaskGroup(of: Void.self, returning: Result.self) { group in
            group.addTask { try await client.run() }
            let result: Swift.Result<Result, any Error>
            do {
                result = .success(try await body(client))
            } catch {
                result = .failure(error)
            }
            client.close()
            group.cancelAll()
            return try result.get()
        }
    }

    // MARK: X.509

    /// The X509-SVIDs, bundles and CRLs for this process right now (the first message of
    /// `FetchX509SVID`; go-spiffe calls it the X.509 context).
    public func fetchX509Context() async throws(WorkloadAPIClientError) -> X509SVIDSet {
        let method = "FetchX509SVID"
        return try await perform(method) {
            try await api.fetchX509SVID(Workload_X509SVIDRequest(), metadata: Self.headers, options: options) { response in
                try await Self.firstMessage(of: response, method: method) { try Self.decode($0) }
            }
        }
    }

    /// The X.509 context now and after every change, until the consumer stops iterating or the
    /// agent ends the stream (finishes, or throws a ``WorkloadAPIClientError``).
    public func watchX509Context() -> AsyncThrowingStream<X509SVIDSet, any Error> {
        let method = "FetchX509SVID"
        return watch(method) { [api, options] yield in
            try await api.fetchX509SVID(Workload_X509SVIDRequest(), metadata: Self.headers, options: options) { response in
                try await Self.forward(response) { yield(try Self.decode($0)) }
            }
        }
    }

    /// The X.509 bundles and CRLs this process should trust right now.
    public func fetchX509Bundles() async throws(WorkloadAPIClientError) -> X509BundleSet {
        let method = "FetchX509Bundles"
        return try await perform(method) {
            try await api.fetchX509Bundles(Workload_X509BundlesRequest(), metadata: Self.headers, options: options) { response in
                try await Self.firstMessage(of: response, method: method) { try Self.decode($0) }
            }
        }
    }

    /// The X.509 bundles now and after every change.
    public func watchX509Bundles() -> AsyncThrowingStream<X509BundleSet, any Error> {
        watch("FetchX509Bundles") { [api, options] yield in
            try await api.fetchX509Bundles(Workload_X509BundlesRequest(), metadata: Self.headers, options: options) { response in
                try await Self.forward(response) { yield(try Self.decode($0)) }
            }
        }
    }

    // MARK: JWT

    /// JWT-SVIDs for the given audiences: one per identity of this process, or only the one for
    /// `spiffeID` when given.
    ///
    /// - Throws: ``WorkloadAPIClientError/invalidArgument(_:)`` when `audience` is empty.
    public func fetchJWTSVIDs(audience: [String], spiffeID: String? = nil) async throws(WorkloadAPIClientError) -> [JWTSVIDMaterial] {
        var request = Workload_JWTSVIDRequest()
        request.audience = audience
        request.spiffeID = spiffeID ?? ""
        return try await perform("FetchJWTSVID") {
            try await api.fetchJWTSVID(request, metadata: Self.headers, options: options) { response in
                try response.message.model()
            }
        }
    }

    /// The first (default) JWT-SVID for the given audiences, or the one for `spiffeID`.
    public func fetchJWTSVID(audience: [String], spiffeID: String? = nil) async throws(WorkloadAPIClientError) -> JWTSVIDMaterial {
        guard let first = try await fetchJWTSVIDs(audience: audience, spiffeID: spiffeID).first else {
            throw .noResponse(method: "FetchJWTSVID")
        }
        return first
    }

    /// The JWT bundles (JWKS by trust domain) this process should trust right now.
    public func fetchJWTBundles() async throws(WorkloadAPIClientError) -> JWTBundleSet {
        let method = "FetchJWTBundles"
        return try await perform(method) {
            try await api.fetchJWTBundles(Workload_JWTBundlesRequest(), metadata: Self.headers, options: options) { response in
                try await Self.firstMessage(of: response, method: method) { $0.model() }
            }
        }
    }

    /// The JWT bundles now and after every change.
    public func watchJWTBundles() -> AsyncThrowingStream<JWTBundleSet, any Error> {
        watch("FetchJWTBundles") { [api, options] yield in
            try await api.fetchJWTBundles(Workload_JWTBundlesRequest(), metadata: Self.headers, options: options) { response in
                try await Self.forward(response) { yield($0.model()) }
            }
        }
    }

    /// Asks the agent to validate a JWT-SVID for `audience`.
    ///
    /// - Returns: The token's SPIFFE ID and claims.
    /// - Throws: ``WorkloadAPIClientError/invalidArgument(_:)`` with the agent's reason when the
    ///   token is not valid.
    public func validateJWTSVID(_ token: String, audience: String) async throws(WorkloadAPIClientError) -> ValidatedJWT {
        var request = Workload_ValidateJWTSVIDRequest()
        request.svid = token
        request.audience = audience
        return try await perform("ValidateJWTSVID") {
            try await api.validateJWTSVID(request, metadata: Self.headers, options: options) { response in
                try response.message.model()
            }
        }
    }

    // MARK: Plumbing

    private func perform<T>(_ method: String, _ body: () async throws -> T) async throws(WorkloadAPIClientError) -> T {
        do {
            return try await body()
        } catch {
            throw clientError(error, method: method)
        }
    }

    private func watch<T: Sendable>(
        _ method: String,
        _ body: @escaping @Sendable (_ yield: @escaping @Sendable (T) -> Void) async throws -> Void
    ) -> AsyncThrowingStream<T, any Error> {
        AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    try await body { continuation.yield($0) }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: self.clientError(error, method: method))
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// Hands every message of a stream to `handle`. An error after the first message is marked
    /// as such: the agent was reachable, so an `Unavailable` then is not a missing socket (a
    /// stopping agent may already have removed it).
    private static func forward<Message: Sendable>(
        _ response: StreamingClientResponse<Message>,
        _ handle: (Message) throws -> Void
    ) async throws {
        var received = false
        do {
            for try await message in response.messages {
                received = true
                try handle(message)
            }
        } catch let error as RPCError where received {
            throw StreamInterrupted(error: error)
        }
    }

    /// An RPC error that ended a stream after it had delivered messages.
    private struct StreamInterrupted: Error {
        var error: RPCError
    }

    private static func firstMessage<Message: Sendable, T>(
        of response: StreamingClientResponse<Message>,
        method: String,
        _ convert: (Message) throws -> T
    ) async throws -> T {
        for try await message in response.messages {
            return try convert(message)
        }
        throw WorkloadAPIClientError.noResponse(method: method)
    }

    private static func decode(_ message: Workload_X509SVIDResponse) throws(WorkloadAPIClientError) -> X509SVIDSet {
        do {
            return try message.model()
        } catch {
            throw .malformedResponse("X509-SVID response: \(error)")
        }
    }

    private static func decode(_ message: Workload_X509BundlesResponse) throws(WorkloadAPIClientError) -> X509BundleSet {
        do {
            return try message.model()
        } catch {
            throw .malformedResponse("X.509 bundles response: \(error)")
        }
    }

    private func clientError(_ error: any Error, method: String) -> WorkloadAPIClientError {
        switch error {
        case let error as WorkloadAPIClientError:
            return error
        case let interrupted as StreamInterrupted:
            if interrupted.error.code == .unavailable {
                return .agentUnavailable(path: address.path, detail: interrupted.error.message)
            }
            return clientError(interrupted.error, method: method)
        case let error as RPCError:
            switch error.code {
            case .permissionDenied: return .permissionDenied(error.message)
            case .invalidArgument: return .invalidArgument(error.message)
            case .resourceExhausted: return .messageTooLarge(error.message)
            case .unavailable: return SocketDiagnosis.diagnose(path: address.path, detail: error.message)
            case .cancelled where Task.isCancelled: return .callFailed(code: "cancelled", message: "\(method) was cancelled")
            default: return .callFailed(code: "\(error.code)", message: error.message)
            }
        case let error as RuntimeError where error.code == .clientIsStopped:
            return .clientClosed
        case is CancellationError:
            return .callFailed(code: "cancelled", message: "\(method) was cancelled")
        default:
            return .callFailed(code: "unknown", message: "\(error)")
        }
    }
}
