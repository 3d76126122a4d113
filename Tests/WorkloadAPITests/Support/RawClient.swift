import GRPCCore
import GRPCNIOTransportHTTP2
import WorkloadAPI

/// A plain grpc-swift client of the generated service, for requests ``WorkloadAPIClient`` would
/// never send (no security header, spoofed credential metadata).
func withRawClient<T: Sendable>(
    _ address: WorkloadAPIAddress,
    _ body: @escaping @Sendable (Workload_SpiffeWorkloadAPI.Client<HTTP2ClientTransport.Posix>) async throws -> T
) async throws -> T {
    let transport = try HTTP2ClientTransport.Posix(
        target: .unixDomainSocket(path: address.path),
        transportSecurity: .plaintext
    )
    return try await withGRPCClient(transport: transport) { client in
        try await body(Workload_SpiffeWorkloadAPI.Client(wrapping: client))
    }
}

/// The gRPC status code a raw call fails with.
func rpcErrorCode<T>(_ body: () async throws -> T) async -> RPCError.Code? {
    do {
        _ = try await body()
        return nil
    } catch let error as RPCError {
        return error.code
    } catch {
        return .unknown
    }
}
