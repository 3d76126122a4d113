internal import GRPCCore
internal import Logging
internal import SPIFFE

/// The `SpiffeWorkloadAPI` gRPC service: enforces the protocol rules of the SPIFFE Workload API
/// specification and asks a ``WorkloadIdentityProvider`` for the answers.
///
/// It implements the generated `ServiceProtocol` (not the simple one) because it needs the
/// request metadata: the security header and the caller credentials put there by the
/// `LocalSocketServer`'s stream pipeline.
struct WorkloadAPIService: Workload_SpiffeWorkloadAPI.ServiceProtocol {
    let provider: any WorkloadIdentityProvider
    let shutdown: ShutdownSignal
    let logger: Logger

    // MARK: X509-SVID profile

    func fetchX509SVID(
        request: ServerRequest<Workload_X509SVIDRequest>,
        context: ServerContext
    ) async throws -> StreamingServerResponse<Workload_X509SVIDResponse> {
        let method = "FetchX509SVID"
        let caller = try CallAuthorization.authorize(request.metadata)
        let updates = try await call(method, caller) { try await provider.x509SVIDUpdates(for: caller) }
        return streamingResponse(method, caller, context.cancellation, updates) { set in
            guard !set.svids.isEmpty else {
                throw WorkloadAPIError.noIdentity(detail: "no X509-SVID issued")
            }
            return Workload_X509SVIDResponse(set)
        }
    }

    func fetchX509Bundles(
        request: ServerRequest<Workload_X509BundlesRequest>,
        context: ServerContext
    ) async throws -> StreamingServerResponse<Workload_X509BundlesResponse> {
        let method = "FetchX509Bundles"
        let caller = try CallAuthorization.authorize(request.metadata)
        let updates = try await call(method, caller) { try await provider.x509BundleUpdates(for: caller) }
        return streamingResponse(method, caller, context.cancellation, updates) { Workload_X509BundlesResponse($0) }
    }

    // MARK: JWT-SVID profile

    func fetchJWTSVID(
        request: ServerRequest<Workload_JWTSVIDRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Workload_JWTSVIDResponse> {
        let method = "FetchJWTSVID"
        let caller = try CallAuthorization.authorize(request.metadata)
        let audience = request.message.audience
        guard !audience.isEmpty else {
            throw RPCError(code: .invalidArgument, message: "audience must be specified")
        }
        guard !audience.contains(where: \.isEmpty) else {
            throw RPCError(code: .invalidArgument, message: "audience must not contain empty values")
        }
        var requestedID: String?
        if !request.message.spiffeID.isEmpty {
            do {
                requestedID = try SPIFFEID(request.message.spiffeID).description
            } catch {
                throw RPCError(code: .invalidArgument, message: "invalid requested SPIFFE ID: \(error)")
            }
        }
        let svids = try await call(method, caller) {
            try await provider.jwtSVIDs(for: caller, audience: audience, spiffeID: requestedID)
        }
        guard !svids.isEmpty else {
            throw RPCError(WorkloadAPIError.noIdentity(detail: "no JWT-SVID issued"))
        }
        return ServerResponse(message: Workload_JWTSVIDResponse(svids))
    }

    func fetchJWTBundles(
        request: ServerRequest<Workload_JWTBundlesRequest>,
        context: ServerContext
    ) async throws -> StreamingServerResponse<Workload_JWTBundlesResponse> {
        let method = "FetchJWTBundles"
        let caller = try CallAuthorization.authorize(request.metadata)
        let updates = try await call(method, caller) { try await provider.jwtBundleUpdates(for: caller) }
        return streamingResponse(method, caller, context.cancellation, updates) { Workload_JWTBundlesResponse($0) }
    }

    func validateJWTSVID(
        request: ServerRequest<Workload_ValidateJWTSVIDRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Workload_ValidateJWTSVIDResponse> {
        let method = "ValidateJWTSVID"
        let caller = try CallAuthorization.authorize(request.metadata)
        guard !request.message.audience.isEmpty else {
            throw RPCError(code: .invalidArgument, message: "audience must be specified")
        }
        guard !request.message.svid.isEmpty else {
            throw RPCError(code: .invalidArgument, message: "svid must be specified")
        }
        let validated = try await call(method, caller) {
            try await provider.validateJWTSVID(request.message.svid, audience: request.message.audience, for: caller)
        }
        return ServerResponse(message: Workload_ValidateJWTSVIDResponse(validated))
    }

    // MARK: Helpers

    /// Runs a provider call, mapping what it throws to a status.
    private func call<T>(
        _ method: String,
        _ caller: CallerCredentials,
        _ body: () async throws -> T
    ) async throws(RPCError) -> T {
        do {
            return try await body()
        } catch {
            throw ErrorMapping.rpcError(for: error, method: method, caller: caller, logger: logger)
        }
    }

    /// A response that sends one message per provider update, as soon as it arrives, until the
    /// provider finishes (status `OK`), fails (its mapped status), the caller goes away, or the
    /// server shuts down (`Unavailable`).
    ///
    /// The caller going away (it cancels the stream, as SPIFFE clients' one-shot fetches do after
    /// the first message, or closes the connection) is seen through the RPC's cancellation handle:
    /// gRPC does not cancel the handler's task, so without it the call would wait for the next
    /// update, holding the provider's stream, for as long as the connection lives.
    private func streamingResponse<Update: Sendable, Response: Sendable>(
        _ method: String,
        _ caller: CallerCredentials,
        _ cancellation: ServerContext.RPCCancellationHandle,
        _ updates: AsyncThrowingStream<Update, any Error>,
        _ encode: @escaping @Sendable (Update) throws -> Response
    ) -> StreamingServerResponse<Response> {
        let shutdown = self.shutdown
        let logger = self.logger
        return StreamingServerResponse { writer in
            do {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for try await update in updates {
                            let message = try encode(update)
                            do {
                                try await writer.write(message)
                            } catch {
                                // The caller has gone (it closed the stream or the connection):
                                // a normal end, not a provider failure to report.
                                return
                            }
                        }
                    }
                    group.addTask {
                        // The caller went away: end the call (and the provider's stream) now. A
                        // server shutting down cancels its calls too: those end with Unavailable.
                        try? await cancellation.cancelled
                        if shutdown.isTriggered {
                            throw RPCError(code: .unavailable, message: "the Workload API server is shutting down")
                        }
                    }
                    group.addTask {
                        await shutdown.wait()
                        if !Task.isCancelled {
                            throw RPCError(code: .unavailable, message: "the Workload API server is shutting down")
                        }
                    }
                    // Whichever ends first (updates, shutdown, or an error) ends the call.
                    defer { group.cancelAll() }
                    try await group.next()
                }
            } catch {
                throw ErrorMapping.rpcError(for: error, method: method, caller: caller, logger: logger)
            }
            return [:]
        }
    }
}
