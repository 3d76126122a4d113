import Attestation
import Foundation
import GRPCCore
import SPIFFE
import Synchronization
import X509

extension NodeService {
    /// Continuous attestation: an attested agent (authenticated by its agent SVID) proves its node's
    /// state again, over the attestor's challenges. A failed proof evicts the agent and revokes
    /// its SVIDs and everything it vouched for (pushed to agents and CRLs by ``Revocation``); a
    /// broken stream changes nothing.
    func reattest(
        request: RPCAsyncSequence<Matryoshka_V1_ReattestRequest, any Error>,
        response: RPCWriter<Matryoshka_V1_ReattestResponse>,
        context: ServerContext
    ) async throws {
        let caller = try await authenticator.authenticate(context)
        guard case .agent(let agent) = caller.kind else {
            throw RPCError(code: .permissionDenied, message: "only node agents re-attest; nested layers are vouched for by their parent")
        }
        var requests = request.makeAsyncIterator()
        guard let first = try await requests.next(), case .type(let type)? = first.step else {
            throw RPCError(code: .invalidArgument, message: "re-attestation must start with the attestation type")
        }
        guard type == agent.attestationType else {
            throw RPCError(code: .invalidArgument, message: "\(agent.spiffeID) attested with '\(agent.attestationType)', not '\(type)'")
        }
        guard let reattestor = attestors[type] as? any NodeReattestor else {
            throw RPCError(code: .failedPrecondition, message: "'\(type)' attestation cannot be repeated")
        }
        let challenger = ReattestChallenger(requests: ReattestRequestBox(requests), response: response)
        let evidence = caller.lineage.links.first?.content.evidence ?? []
        let result: NodeReattestationResult
        do {
            result = try await reattestor.reattest(
                agentID: agent.spiffeID, selectors: agent.selectors, evidence: evidence, agentKey: caller.certificate.publicKey,
                challenger: challenger)
        } catch {
            if challenger.brokenStream {
                // Not a failed proof: the agent went away. It will try again.
                throw RPCError(code: .aborted, message: "re-attestation interrupted: \(error.message)")
            }
            let reason = "re-attestation failed: \(error.message)"
            logger.warning("node re-attestation failed; evicting the agent", metadata: ["agent": "\(agent.spiffeID)", "reason": "\(error.message)"])
            try? await store.appendAudit(AuditEvent(
                kind: "node.attest.failed", actor: agent.spiffeID.description, subject: agent.spiffeID.description,
                details: ["type": type, "phase": "reattest", "reason": error.message]))
            do {
                try await markUntrusted(agent.spiffeID, reason: reason)
                let revoked = try await revocation.revoke(node: agent.spiffeID, reason: reason, by: "server")
                await index.removeNode(agent.spiffeID)
                logger.notice("untrusted node evicted", metadata: ["agent": "\(agent.spiffeID)", "revoked": "\(revoked.count)"])
            } catch {
                logger.error("cannot evict an agent that failed re-attestation", metadata: ["agent": "\(agent.spiffeID)", "error": "\(error)"])
                throw RPCError(code: .unavailable, message: "\(reason); eviction failed: \(error)")
            }
            throw RPCError(code: .permissionDenied, message: "\(reason); \(agent.spiffeID) is evicted and its identities revoked")
        }
        let now = Date()
        let audit = AuditEvent(
            kind: "node.reattest", actor: agent.spiffeID.description, subject: agent.spiffeID.description,
            details: ["type": type, "result": result.summary], time: now)
        do {
            if let attestations = store as? any AgentAttestationStore {
                try await attestations.recordAttestation(agentID: agent.spiffeID, at: now, audit: audit)
            } else {
                try await store.appendAudit(audit)
            }
        } catch {
            throw RPCError(code: .unavailable, message: "cannot record the attestation: \(error)")
        }
        logger.info("node re-attested", metadata: ["agent": "\(agent.spiffeID)", "result": "\(result.summary)"])
        try await response.write(Matryoshka_V1_ReattestResponse.with {
            $0.result = Matryoshka_V1_ReattestResult.with {
                $0.attestedAt = Int64(now.timeIntervalSince1970)
                $0.summary = result.summary
            }
        })
    }
}

extension NodeService {
    /// Records that an agent failed continuous attestation: it may not attest again until an
    /// operator re-enrols its node.
    func markUntrusted(_ agentID: SPIFFEID, reason: String) async throws(DataStoreError) {
        guard var agent = try await store.agent(id: agentID) else { return }
        agent.untrustedReason = reason
        agent.evicted = true
        try await store.saveAgent(agent, audit: AuditEvent(
            kind: "agent.untrusted", actor: "server", subject: agentID.description, details: ["reason": reason]))
    }

    /// Refuses (and audits) the attestation of a node marked untrusted.
    func refuseUntrusted(_ agent: AgentRecord, reason: String, type: String, peer: String) async throws(RPCError) {
        let remedy = type == "tpm" ? "an operator must re-enrol the node (`matryoshka server tpm allow`) before it may attest again" : "the node must be provisioned with a new identity (e.g. a new x509pop certificate) to attest again"
        let message = "\(agent.spiffeID) is untrusted (\(reason)); \(remedy)"
        logger.warning("node attestation refused: untrusted node", metadata: ["agent": "\(agent.spiffeID)", "peer": "\(peer)"])
        try? await store.appendAudit(AuditEvent(kind: "node.attest.failed", actor: peer, subject: agent.spiffeID.description, details: ["type": type, "reason": message]))
        throw RPCError(code: .permissionDenied, message: "node attestation failed: \(message)")
    }
}

/// Lets an iterator of the re-attestation request stream be used from the challenger.
final class ReattestRequestBox: @unchecked Sendable {
    // Used by one re-attestation at a time, sequentially: the handler hands it to the challenger
    // and does not touch the iterator again.
    var iterator: RPCAsyncSequence<Matryoshka_V1_ReattestRequest, any Error>.AsyncIterator

    init(_ iterator: RPCAsyncSequence<Matryoshka_V1_ReattestRequest, any Error>.AsyncIterator) {
        self.iterator = iterator
    }
}

/// Sends re-attestation challenges and reads the answers; remembers whether the stream broke
/// (which is not a failed proof).
final class ReattestChallenger: NodeChallenger {
    let requests: ReattestRequestBox
    let response: RPCWriter<Matryoshka_V1_ReattestResponse>
    private let broken = Mutex(false)

    init(requests: ReattestRequestBox, response: RPCWriter<Matryoshka_V1_ReattestResponse>) {
        self.requests = requests
        self.response = response
    }

    var brokenStream: Bool { broken.withLock { $0 } }

    func challenge(_ challenge: [UInt8]) async throws(NodeAttestationError) -> [UInt8] {
        let answer: Matryoshka_V1_ReattestRequest?
        do {
            try await response.write(Matryoshka_V1_ReattestResponse.with { $0.challenge = Data(challenge) })
            answer = try await requests.iterator.next()
        } catch {
            broken.withLock { $0 = true }
            throw NodeAttestationError("challenge failed: \(error)")
        }
        guard let answer else {
            broken.withLock { $0 = true }
            throw NodeAttestationError("agent closed the stream instead of answering the challenge")
        }
        guard case .challengeResponse(let bytes)? = answer.step else {
            throw NodeAttestationError("expected a challenge response")
        }
        return Array(bytes)
    }
}
