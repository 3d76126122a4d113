import GRPCCore
import GRPCNIOTransportHTTP2
import WorkloadAPI

/// The floor under a cached fetch: a `FetchX509SVID` round trip on the same socket, to the same
/// agent, that the agent refuses before it does any work of its own — the call lacks the
/// `workload.spiffe.io` header, so it fails `InvalidArgument` before the caller is attested or an
/// SVID looked up. What is left is the gRPC framework on both ends (HTTP/2 stream set-up, the
/// handler's task, the trailers) and the Unix socket: what a fetch costs above this is ours.
enum RefusedFetchBaseline {
    /// `calls` refused calls back to back, a new connection every
    /// ``CachedFetchScenario/fetchesPerConnection`` (as the fetches; the first call on each
    /// connection, its set-up, not measured).
    static func sequential(socket: String, calls: Int) async throws -> LatencyStats {
        try await CachedFetchScenario.backToBack(calls: calls) { batch in
            try await withConnection(socket: socket) { api in
                try await CachedFetchScenario.timed(batch) { try await refusedFetch(api) }
            }
        }
    }

    /// One call without the security header; anything but `InvalidArgument` is an error (a
    /// served SVID would mean the agent skipped the check, and the baseline would not be one).
    private static func refusedFetch(_ api: Workload_SpiffeWorkloadAPI.Client<HTTP2ClientTransport.Posix>) async throws {
        let outcome: RPCError.Code? = try await api.fetchX509SVID(Workload_X509SVIDRequest()) { response in
            switch response.accepted {
            case .success: return nil
            case .failure(let error): return error.code
            }
        }
        guard outcome == .invalidArgument else {
            throw LoadError.unexpected("a FetchX509SVID without the security header ended with \(outcome.map { "\($0)" } ?? "a response"), not InvalidArgument")
        }
    }

    private static func withConnection<Result: Sendable>(
        socket: String, _ body: (Workload_SpiffeWorkloadAPI.Client<HTTP2ClientTransport.Posix>) async throws -> Result
    ) async throws -> Result {
        let transport = try HTTP2ClientTransport.Posix(target: .unixDomainSocket(path: socket), transportSecurity: .plaintext)
        return try await withGRPCClient(transport: transport) { client in
            try await body(Workload_SpiffeWorkloadAPI.Client(wrapping: client))
        }
    }
}
