import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import SPIFFE
import X509

/// Establishes who is calling the node API from the TLS client certificate chain.
struct CallerAuthenticator: Sendable {
    let authorities: AuthorityManager
    let store: any DataStore

    /// The chain the peer presented, as validated during the TLS handshake.
    static func peerChain(_ context: ServerContext) -> [Certificate]? {
        guard let transport = context.transportSpecific as? HTTP2ServerTransport.Posix.Context else { return nil }
        if let chain = transport.peerCertificateChain { return Array(chain) }
        return transport.peerCertificate.map { [$0] }
    }

    /// The agent behind an RPC: its SVID must verify against the current bundle now, and be the
    /// agent's current SVID (not evicted, not superseded).
    func authenticateAgent(_ context: ServerContext, now: Date = Date()) async throws(RPCError) -> (AgentRecord, Certificate) {
        guard let chain = Self.peerChain(context), !chain.isEmpty else {
            throw RPCError(code: .unauthenticated, message: "no client certificate: present your agent SVID")
        }
        let verified: VerifiedX509SVID
        do {
            verified = try await X509SVIDVerifier(bundles: await authorities.bundle, validationTime: now).verify(chain)
        } catch {
            throw RPCError(code: .unauthenticated, message: "client certificate is not a valid SVID of this trust domain: \(error)")
        }
        let agent: AgentRecord?
        do {
            agent = try await store.agent(id: verified.spiffeID)
        } catch {
            throw RPCError(code: .unavailable, message: "datastore: \(error)")
        }
        guard let agent else {
            throw RPCError(code: .permissionDenied, message: "\(verified.spiffeID) is not an attested agent")
        }
        guard !agent.evicted else {
            throw RPCError(code: .permissionDenied, message: "agent \(agent.spiffeID) was evicted; it must attest again")
        }
        guard agent.serialNumber == verified.leaf.serialNumber.hexString else {
            throw RPCError(code: .permissionDenied, message: "agent SVID \(verified.leaf.serialNumber.hexString) is not the current SVID of \(agent.spiffeID)")
        }
        return (agent, verified.leaf)
    }
}

extension IssuanceError {
    var rpcError: RPCError {
        switch self {
        case .invalidRequest(let message): return RPCError(code: .invalidArgument, message: message)
        case .notFound(let message): return RPCError(code: .notFound, message: message)
        case .permissionDenied(let message): return RPCError(code: .permissionDenied, message: message)
        case .internalError(let message): return RPCError(code: .internalError, message: message)
        }
    }
}
