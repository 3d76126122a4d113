import Attestation
import Authority
import Foundation
import GRPCCore
import Logging
import SPIFFE
import X509

/// The node API: attestation, agent SVID renewal, entry sync and SVID minting for agents.
struct NodeService: Matryoshka_V1_Node.SimpleServiceProtocol {
    let trustDomain: TrustDomain
    let attestors: [String: any NodeAttestor]
    let authenticator: CallerAuthenticator
    let issuer: Issuer
    let authorities: AuthorityManager
    let index: RegistrationIndex
    let store: any DataStore
    let revocation: Revocation
    let agentTTL: Duration
    let logger: Logger
    var metrics = ServerMetrics()

    /// How long the agent has to answer a challenge.
    static let challengeTimeout: Duration = .seconds(30)

    func attest(
        request: RPCAsyncSequence<Matryoshka_V1_AttestRequest, any Error>,
        response: RPCWriter<Matryoshka_V1_AttestResponse>,
        context: ServerContext
    ) async throws {
        var requests = request.makeAsyncIterator()
        guard let first = try await requests.next(), case .parameters(let parameters)? = first.step else {
            throw RPCError(code: .invalidArgument, message: "attestation must start with the attestation parameters")
        }
        guard let attestor = attestors[parameters.type] else {
            let known = attestors.keys.sorted().joined(separator: ", ")
            throw RPCError(code: .invalidArgument, message: "unknown attestation type '\(parameters.type)' (this server accepts: \(known))")
        }
        let csr: CertificateSigningRequest
        do {
            csr = try X509SVIDParameters.verifiedCSR(der: Array(parameters.csr))
        } catch {
            throw RPCError(code: .invalidArgument, message: "agent CSR: \(error)")
        }
        // The TLS bootstrap certificate must be for the same key as the CSR: the node that
        // attests is the one holding the key.
        guard let peer = CallerAuthenticator.peerChain(context)?.first, peer.publicKey == csr.publicKey else {
            throw RPCError(code: .unauthenticated, message: "the TLS client certificate must be for the key in the CSR")
        }
        let challenger = StreamChallenger(requests: RequestBox(requests), response: response)
        let result: NodeAttestationResult
        do {
            result = try await attestor.attest(payload: Array(parameters.payload), agentKey: csr.publicKey, trustDomain: trustDomain, challenger: challenger)
        } catch {
            logger.warning("node attestation failed", metadata: ["type": "\(parameters.type)", "peer": "\(context.remotePeer)", "reason": "\(error.message)"])
            metrics.attestationFailures.increment()
            try? await store.appendAudit(AuditEvent(kind: "node.attest.failed", actor: context.remotePeer, subject: parameters.type, details: ["reason": error.message]))
            throw RPCError(code: .permissionDenied, message: "node attestation failed: \(error.message)")
        }
        let existing = try? await store.agent(id: result.agentID)
        if let existing, let untrusted = existing.untrustedReason {
            try await refuseUntrusted(existing, reason: untrusted, type: parameters.type, peer: context.remotePeer)
        }
        if let existing, !existing.evicted, !existing.canReattest {
            throw RPCError(code: .permissionDenied, message: "\(result.agentID) is already attested and its attestation method does not allow re-attestation")
        }
        let chain: [Certificate]
        do {
            chain = try await issuer.issueAgentSVID(
                agentID: result.agentID, csrDER: Array(parameters.csr), attestor: parameters.type,
                selectors: result.selectors.map(\.description), evidence: result.evidence, event: "svid.issue.agent")
        } catch {
            throw error.rpcError
        }
        let now = Date()
        // A live agent attesting again (a TPM node renewing for a new key) keeps its history, and
        // its current SVID is honoured until it expires or the next renewal, as with RenewAgent.
        let live = existing.flatMap { $0.evicted ? nil : $0 }
        let agent = AgentRecord(
            spiffeID: result.agentID, attestationType: parameters.type, selectors: result.selectors,
            serialNumber: chain[0].serialNumber.hexString, expiresAt: chain[0].notValidAfter,
            createdAt: live?.createdAt ?? now, lastAttestedAt: now, canReattest: result.canReattest,
            previousSerialNumber: live?.serialNumber)
        do {
            try await store.saveAgent(agent, audit: AuditEvent(
                kind: "node.attest", actor: context.remotePeer, subject: result.agentID.description,
                details: ["type": parameters.type, "selectors": result.selectors.map(\.description).joined(separator: " "),
                          "serial": agent.serialNumber, "evidence_sha256": SHA256Hex.digest(result.evidence)]))
        } catch {
            throw RPCError(code: .unavailable, message: "cannot record agent: \(error)")
        }
        await index.setNodeSelectors(result.selectors, for: result.agentID)
        logger.notice("node attested", metadata: ["agent": "\(result.agentID)", "type": "\(parameters.type)", "peer": "\(context.remotePeer)"])
        let bundle = await authorities.bundle
        try await response.write(Matryoshka_V1_AttestResponse.with {
            $0.identity = Matryoshka_V1_AgentIdentity.with {
                $0.spiffeID = result.agentID.description
                $0.svidChain = chain.map { Data(CertificateEncoding.der($0)) }
                $0.bundle = bundle.wire
            }
        })
    }

    func renewAgent(request: Matryoshka_V1_RenewAgentRequest, context: ServerContext) async throws -> Matryoshka_V1_RenewAgentResponse {
        let caller = try await authenticator.authenticate(context)
        guard case .agent(let agent) = caller.kind else {
            throw RPCError(code: .permissionDenied, message: "only node agents renew through the server; nested layers get their SVIDs from their parent")
        }
        guard !agent.canReattest else {
            // The first lineage link of a TPM or x509pop agent is evidence binding its key (a quote,
            // a signature): a new key needs new evidence.
            throw RPCError(code: .failedPrecondition, message: "a \(agent.attestationType)-attested agent renews by attesting again for its new key (Attest), so fresh evidence binds it")
        }
        let chain: [Certificate]
        do {
            // The first lineage link is re-stated for the new key; the evidence of the original
            // attestation is carried over.
            let evidence = caller.lineage.links.first?.content.evidence ?? []
            chain = try await issuer.issueAgentSVID(
                agentID: agent.spiffeID, csrDER: Array(request.csr), attestor: agent.attestationType,
                selectors: agent.selectors.map(\.description), evidence: evidence, event: "svid.renew.agent")
        } catch {
            throw error.rpcError
        }
        var renewed = agent
        renewed.previousSerialNumber = agent.serialNumber
        renewed.serialNumber = chain[0].serialNumber.hexString
        renewed.expiresAt = chain[0].notValidAfter
        do {
            try await store.saveAgent(renewed, audit: AuditEvent(kind: "agent.renew", actor: agent.spiffeID.description, subject: agent.spiffeID.description, details: ["serial": renewed.serialNumber]))
        } catch {
            throw RPCError(code: .unavailable, message: "cannot record agent: \(error)")
        }
        logger.info("agent SVID renewed", metadata: ["agent": "\(agent.spiffeID)", "serial": "\(renewed.serialNumber)"])
        return Matryoshka_V1_RenewAgentResponse.with { $0.svidChain = chain.map { Data(CertificateEncoding.der($0)) } }
    }

    func sync(request: Matryoshka_V1_SyncRequest, response: RPCWriter<Matryoshka_V1_SyncUpdate>, context: ServerContext) async throws {
        let authenticated = try await authenticator.authenticate(context)
        let caller = authenticated.spiffeID
        logger.info("agent connected", metadata: ["agent": "\(caller)", "peer": "\(context.remotePeer)", "deltas": "\(request.acceptsDeltas)"])
        metrics.connectedAgents.increment()
        defer {
            metrics.connectedAgents.decrement()
            logger.info("agent disconnected", metadata: ["agent": "\(caller)"])
        }
        let (signals, signal) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        try await withThrowingTaskGroup(of: Void.self) { group in
            let entryChanges = await index.changes(for: caller)
            let bundleChanges = await authorities.bundleUpdates()
            let revocationChanges = await revocation.changes()
            group.addTask {
                // The agent went away (gRPC signals it through the RPC's cancellation handle, not by
                // cancelling this task): end the stream now rather than at the next change.
                try? await context.cancellation.cancelled
            }
            group.addTask {
                for await _ in entryChanges { signal.yield() }
            }
            group.addTask {
                for await _ in bundleChanges { signal.yield() }
            }
            group.addTask {
                for await _ in revocationChanges { signal.yield() }
            }
            group.addTask {
                var cursor = SyncStreamCursor(acceptsDeltas: request.acceptsDeltas)
                for await _ in signals {
                    // Entries go out with their effective TTLs, so the agent can ask for exactly that.
                    let entries = await index.entries(servedBy: caller).map { entry in
                        var resolved = entry
                        resolved.x509TTL = Int(issuer.x509TTL(of: entry).wholeSeconds)
                        resolved.jwtTTL = Int(issuer.jwtTTL(of: entry).wholeSeconds)
                        return resolved
                    }
                    let bundle = await authorities.bundle
                    let revoked = await revocation.snapshot
                    try await response.write(cursor.update(entries: entries, bundle: bundle, revocations: revoked))
                    // A layer revoked while connected hears of it (above), then loses the stream.
                    if let refusal = await revocation.refusal(for: authenticated.certificate, lineage: authenticated.lineage) {
                        logger.notice("ending the sync stream of a revoked layer", metadata: ["agent": "\(caller)", "reason": "\(refusal)"])
                        throw RPCError(code: .permissionDenied, message: refusal)
                    }
                }
            }
            signal.yield()
            try await group.next()
            group.cancelAll()
        }
    }

    func mintX509SVIDs(request: Matryoshka_V1_MintX509SVIDsRequest, context: ServerContext) async throws -> Matryoshka_V1_MintX509SVIDsResponse {
        let caller = try await authenticator.authenticate(context)
        guard request.requests.count <= 1000 else {
            throw RPCError(code: .invalidArgument, message: "at most 1000 SVIDs per request (got \(request.requests.count))")
        }
        let minted = await issuer.mintX509SVIDs(caller: caller, requests: request.requests.map {
            X509SVIDRequest(entryID: $0.entryID, requestedID: $0.spiffeID, csrDER: Array($0.csr), linkDER: Array($0.lineageLink))
        })
        var results: [Matryoshka_V1_X509SVIDResult] = []
        var issued: [String] = []
        for (item, result) in zip(request.requests, minted) {
            switch result {
            case .success(let svid):
                issued.append(svid.chain[0].serialNumber.hexString)
                results.append(Matryoshka_V1_X509SVIDResult.with {
                    $0.entryID = item.entryID
                    $0.spiffeID = svid.spiffeID.description
                    $0.svidChain = svid.chain.map { Data(CertificateEncoding.der($0)) }
                })
            case .failure(let error):
                results.append(Matryoshka_V1_X509SVIDResult.with {
                    $0.entryID = item.entryID
                    $0.error = error.description
                })
            }
        }
        if let refusal = await revocation.revokeIfCallerRevoked(caller, issued: issued) {
            throw RPCError(code: .permissionDenied, message: refusal)
        }
        return Matryoshka_V1_MintX509SVIDsResponse.with { $0.results = results }
    }

    func mintJWTSVID(request: Matryoshka_V1_MintJWTSVIDRequest, context: ServerContext) async throws -> Matryoshka_V1_MintJWTSVIDResponse {
        let caller = try await authenticator.authenticate(context)
        let token: String
        let expiresAt: Date
        do {
            (token, expiresAt) = try await issuer.mintJWTSVID(
                caller: caller, entryID: request.entryID, requestedID: request.spiffeID, audience: request.audience,
                linkDER: Array(request.lineageLink))
        } catch {
            throw error.rpcError
        }
        if let refusal = await revocation.revokeIfCallerRevoked(caller, issued: [Issuer.tokenID(token)]) {
            throw RPCError(code: .permissionDenied, message: refusal)
        }
        return Matryoshka_V1_MintJWTSVIDResponse.with {
            $0.token = token
            $0.expiresAt = Int64(expiresAt.timeIntervalSince1970)
        }
    }
}

extension NodeService {
    /// Revokes credentials the caller vouched for, each with its subtree.
    func revoke(request: Matryoshka_V1_RevokeRequest, context: ServerContext) async throws -> Matryoshka_V1_RevokeResponse {
        let caller = try await authenticator.authenticate(context)
        let reason = request.reason.isEmpty ? "revoked by \(caller.spiffeID)" : request.reason
        do {
            let revoked = try await revocation.revoke(serialNumbers: request.serialNumbers, vouchedBy: caller, reason: reason)
            return Matryoshka_V1_RevokeResponse.with { $0.revoked = Int32(clamping: revoked.count) }
        } catch {
            throw error.rpcError
        }
    }
}

/// Lets an iterator of the request stream be used from the challenger.
final class RequestBox: @unchecked Sendable {
    // Used by one attestation at a time, sequentially: the RPC handler hands it to the challenger
    // and does not touch the iterator again.
    var iterator: RPCAsyncSequence<Matryoshka_V1_AttestRequest, any Error>.AsyncIterator

    init(_ iterator: RPCAsyncSequence<Matryoshka_V1_AttestRequest, any Error>.AsyncIterator) {
        self.iterator = iterator
    }
}

/// Sends challenges down the attestation stream and reads the answers.
struct StreamChallenger: NodeChallenger {
    let requests: RequestBox
    let response: RPCWriter<Matryoshka_V1_AttestResponse>

    func challenge(_ challenge: [UInt8]) async throws(NodeAttestationError) -> [UInt8] {
        do {
            try await response.write(Matryoshka_V1_AttestResponse.with { $0.challenge = Data(challenge) })
            guard let answer = try await requests.iterator.next() else {
                throw NodeAttestationError("agent closed the stream instead of answering the challenge")
            }
            guard case .challengeResponse(let bytes)? = answer.step else {
                throw NodeAttestationError("expected a challenge response")
            }
            return Array(bytes)
        } catch let error as NodeAttestationError {
            throw error
        } catch {
            throw NodeAttestationError("challenge failed: \(error)")
        }
    }
}
