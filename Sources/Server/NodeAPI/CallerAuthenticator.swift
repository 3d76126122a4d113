import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Lineage
import SPIFFE
import X509

/// Establishes who is calling the node API from the TLS client certificate chain: an attested
/// agent presenting its current agent SVID, or a nested layer presenting the SVID of an entry
/// registered as `nested`. A revoked SVID, or one whose lineage passes through a revoked layer,
/// is refused.
struct CallerAuthenticator: Sendable {
    let authorities: AuthorityManager
    let store: any DataStore
    let index: RegistrationIndex
    let revocation: Revocation

    /// The chain the peer presented, as validated during the TLS handshake.
    static func peerChain(_ context: ServerContext) -> [Certificate]? {
        guard let transport = context.transportSpecific as? HTTP2ServerTransport.Posix.Context else { return nil }
        if let chain = transport.peerCertificateChain { return Array(chain) }
        return transport.peerCertificate.map { [$0] }
    }

    /// The caller behind an RPC. Its SVID must verify against the current bundle now.
    func authenticate(_ context: ServerContext, now: Date = Date()) async throws(RPCError) -> Caller {
        guard let chain = Self.peerChain(context), !chain.isEmpty else {
            throw RPCError(code: .unauthenticated, message: "no client certificate: present your SVID")
        }
        return try await authenticate(chain: chain, now: now)
    }

    /// The caller presenting `chain` (leaf first), as checked after the TLS handshake.
    func authenticate(chain: [Certificate], now: Date = Date()) async throws(RPCError) -> Caller {
        let verified: VerifiedX509SVID
        do {
            verified = try await X509SVIDVerifier(bundles: await authorities.bundle, validationTime: now).verify(chain)
        } catch {
            throw RPCError(code: .unauthenticated, message: "client certificate is not a valid SVID of this trust domain: \(error)")
        }
        let lineage: Lineage
        do {
            lineage = try LineageExtension.lineage(of: verified.leaf) ?? Lineage()
        } catch {
            throw RPCError(code: .unauthenticated, message: "client certificate carries a malformed lineage: \(error)")
        }
        if let refusal = await revocation.refusal(for: verified.leaf, lineage: lineage) {
            throw RPCError(code: .permissionDenied, message: await explain(refusal, of: verified.spiffeID, lineage: lineage))
        }
        let agent: AgentRecord?
        do {
            agent = try await store.agent(id: verified.spiffeID)
        } catch {
            throw RPCError(code: .unavailable, message: "datastore: \(error)")
        }
        if let agent {
            guard !agent.evicted else {
                throw RPCError(code: .permissionDenied, message: "agent \(agent.spiffeID) was evicted; it must attest again")
            }
            guard agent.honours(serialNumber: verified.leaf.serialNumber.hexString) else {
                throw RPCError(code: .permissionDenied, message: "agent SVID \(verified.leaf.serialNumber.hexString) is not the current SVID of \(agent.spiffeID)")
            }
            return Caller(spiffeID: agent.spiffeID, kind: .agent(agent), certificate: verified.leaf, lineage: lineage)
        }
        guard let entry = await index.nestedEntry(granting: verified.spiffeID) else {
            throw RPCError(code: .permissionDenied, message: "\(verified.spiffeID) is neither an attested agent nor a nested layer (its entry must be created with --nested)")
        }
        return Caller(
            spiffeID: verified.spiffeID, kind: .nested(entry), certificate: verified.leaf, lineage: lineage,
            ancestorAudienceLimits: await Self.ancestorAudienceLimits(lineage, index: index))
    }

    /// A refusal of a nested layer whose node was found untrusted says so first: the layer (a pod)
    /// must move to a trusted node, as trying again through this one will never work.
    func explain(_ refusal: String, of caller: SPIFFEID, lineage: Lineage) async -> String {
        guard lineage.depth > 1, let root = lineage.links.first.flatMap({ try? SPIFFEID($0.spiffeID) }),
              let node = try? await store.agent(id: root), let reason = node.untrustedReason
        else { return refusal }
        return "pod moved to an untrusted node: \(caller) reaches the server through node \(root), which is untrusted (\(reason)); it must be started on a trusted node. \(refusal)"
    }

    /// The audience limits of the nested layers above the last link of `lineage`, nearest first.
    static func ancestorAudienceLimits(_ lineage: Lineage, index: RegistrationIndex) async -> [Caller.AudienceLimit] {
        var limits: [Caller.AudienceLimit] = []
        for id in lineage.spiffeIDs.dropLast().reversed() {
            guard let layer = try? SPIFFEID(id), let entry = await index.nestedEntry(granting: layer), !entry.audiences.isEmpty else { continue }
            limits.append(Caller.AudienceLimit(layer: layer, audiences: entry.audiences))
        }
        return limits
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
