import Attestation
import Authority
import Crypto
import Foundation
import GRPCCore
import Logging
import SPIFFE

/// The operator's API on the local admin socket: entries, join tokens, the bundle, agents.
///
/// Every change is audited with the caller's uid; a call whose caller is unknown is refused with
/// `PermissionDenied` before anything changes (see ``AdminCaller``).
struct AdminService: Matryoshka_V1_Admin.SimpleServiceProtocol {
    let trustDomain: TrustDomain
    let store: any DataStore
    let index: RegistrationIndex
    let authorities: AuthorityManager
    let revocation: Revocation
    let defaultJoinTokenTTL: Duration
    let serverID: SPIFFEID
    /// Who is calling, for the audit log (e.g. `uid:1000(alice)`), from the socket's peer
    /// credentials; throws (`PermissionDenied`) when they are unknown.
    let caller: @Sendable (ServerContext) throws(RPCError) -> String
    let logger: Logger

    func createEntry(request: Matryoshka_V1_CreateEntryRequest, context: ServerContext) async throws -> Matryoshka_V1_Entry {
        var entry: RegistrationEntry
        do {
            entry = try RegistrationEntry(wire: request.entry)
        } catch {
            throw RPCError(code: .invalidArgument, message: error.message)
        }
        entry.id = UUID().uuidString.lowercased()
        entry.createdAt = Date()
        try await validate(entry)
        let actor = try caller(context)
        do {
            let created = try await store.createEntry(entry, audit: AuditEvent(
                kind: "entry.create", actor: actor, subject: entry.spiffeID.description,
                details: ["entry_id": entry.id, "parent_id": entry.parentID.description,
                          "selectors": entry.selectors.map(\.description).joined(separator: " "),
                          "nested": String(entry.nested)]))
            await index.upsert(created)
            logger.notice("entry created", metadata: ["id": "\(created.id)", "spiffe_id": "\(created.spiffeID)", "parent_id": "\(created.parentID)", "by": "\(actor)"])
            return created.wire
        } catch {
            throw error.rpcError
        }
    }

    func listEntries(request: Matryoshka_V1_ListEntriesRequest, context: ServerContext) async throws -> Matryoshka_V1_ListEntriesResponse {
        let spiffeID = try request.spiffeID.isEmpty ? nil : Self.parseID(request.spiffeID, field: "--spiffe-id")
        let parentID = try request.parentID.isEmpty ? nil : Self.parseID(request.parentID, field: "--parent-id")
        do {
            let entries = try await store.listEntries(spiffeID: spiffeID, parentID: parentID)
            return Matryoshka_V1_ListEntriesResponse.with { $0.entries = entries.map(\.wire) }
        } catch {
            throw error.rpcError
        }
    }

    func getEntry(request: Matryoshka_V1_GetEntryRequest, context: ServerContext) async throws -> Matryoshka_V1_Entry {
        do {
            guard let entry = try await store.entry(id: request.id) else {
                throw RPCError(code: .notFound, message: "no entry with ID '\(request.id)'")
            }
            return entry.wire
        } catch let error as DataStoreError {
            throw error.rpcError
        }
    }

    func deleteEntry(request: Matryoshka_V1_DeleteEntryRequest, context: ServerContext) async throws -> Matryoshka_V1_DeleteEntryResponse {
        let actor = try caller(context)
        do {
            let deleted = try await store.deleteEntry(id: request.id, audit: AuditEvent(kind: "entry.delete", actor: actor, subject: request.id))
            await index.delete(id: deleted.id)
            logger.notice("entry deleted", metadata: ["id": "\(deleted.id)", "spiffe_id": "\(deleted.spiffeID)", "by": "\(actor)"])
            return Matryoshka_V1_DeleteEntryResponse()
        } catch {
            if case .notFound = error { throw RPCError(code: .notFound, message: "no entry with ID '\(request.id)'") }
            throw error.rpcError
        }
    }

    func generateJoinToken(request: Matryoshka_V1_GenerateJoinTokenRequest, context: ServerContext) async throws -> Matryoshka_V1_JoinToken {
        guard request.ttlSeconds >= 0 else { throw RPCError(code: .invalidArgument, message: "TTL must be positive") }
        let ttl = request.ttlSeconds > 0 ? Duration.seconds(Int64(request.ttlSeconds)) : defaultJoinTokenTTL
        let alias = try request.aliasSpiffeID.isEmpty ? nil : Self.parseID(request.aliasSpiffeID, field: "--spiffe-id")
        if let alias, alias.trustDomain != trustDomain {
            throw RPCError(code: .invalidArgument, message: "alias \(alias) is not in trust domain \(trustDomain)")
        }
        let token = Self.randomHex(bytes: 16)
        let agentID: SPIFFEID
        do {
            agentID = try SPIFFEID(trustDomain: trustDomain, segments: ["agent", "join_token", UUID().uuidString.lowercased()])
        } catch {
            throw RPCError(code: .internalError, message: "\(error)")
        }
        let now = Date()
        let expiresAt = now.addingTimeInterval(ttl.timeInterval)
        let actor = try caller(context)
        do {
            try await store.createJoinToken(
                JoinTokenRecord(tokenHash: SHA256Hex.digest(Array(token.utf8)), agentID: agentID, alias: alias, expiresAt: expiresAt, createdAt: now),
                audit: AuditEvent(kind: "join_token.create", actor: actor, subject: agentID.description,
                                  details: ["expires_at": expiresAt.formatted(.iso8601), "alias": alias?.description ?? ""]))
            if let alias {
                // The node will also be known as `alias`: entries may name it as their parent.
                let aliasEntry = try await store.createEntry(
                    RegistrationEntry(spiffeID: alias, parentID: agentID, selectors: []),
                    audit: AuditEvent(kind: "entry.create", actor: actor, subject: alias.description, details: ["parent_id": agentID.description, "alias": "true"]))
                await index.upsert(aliasEntry)
            }
        } catch {
            throw error.rpcError
        }
        logger.notice("join token generated", metadata: ["agent_id": "\(agentID)", "alias": "\(alias?.description ?? "-")", "by": "\(actor)"])
        return Matryoshka_V1_JoinToken.with {
            $0.token = token
            $0.agentSpiffeID = agentID.description
            $0.expiresAt = Int64(expiresAt.timeIntervalSince1970)
            $0.aliasSpiffeID = alias?.description ?? ""
        }
    }

    func getBundle(request: Matryoshka_V1_GetBundleRequest, context: ServerContext) async throws -> Matryoshka_V1_Bundle {
        await authorities.bundle.wire
    }

    func listAgents(request: Matryoshka_V1_ListAgentsRequest, context: ServerContext) async throws -> Matryoshka_V1_ListAgentsResponse {
        do {
            var wire: [Matryoshka_V1_Agent] = []
            for agent in try await store.listAgents() { wire.append(await self.wire(agent)) }
            return Matryoshka_V1_ListAgentsResponse.with { $0.agents = wire }
        } catch {
            throw error.rpcError
        }
    }

    /// The rules an entry must follow beyond each field being well formed.
    private func validate(_ entry: RegistrationEntry) async throws(RPCError) {
        guard entry.spiffeID.trustDomain == trustDomain else {
            throw RPCError(code: .invalidArgument, message: "SPIFFE ID \(entry.spiffeID) is not in trust domain \(trustDomain)")
        }
        guard entry.parentID.trustDomain == trustDomain else {
            throw RPCError(code: .invalidArgument, message: "parent ID \(entry.parentID) is not in trust domain \(trustDomain)")
        }
        guard !entry.selectors.isEmpty else {
            throw RPCError(code: .invalidArgument, message: "an entry needs at least one selector (e.g. --selector unix:uid:1000)")
        }
        guard entry.spiffeID != entry.parentID else {
            throw RPCError(code: .invalidArgument, message: "an entry cannot be its own parent")
        }
        guard entry.spiffeID != serverID, entry.spiffeID != trustDomain.id else {
            throw RPCError(code: .invalidArgument, message: "\(entry.spiffeID) is reserved for the server")
        }
        for name in entry.dnsNames {
            do {
                try X509SVIDParameters.validate(dnsName: name)
            } catch {
                throw RPCError(code: .invalidArgument, message: error.description)
            }
        }
        for audience in entry.audiences where audience.isEmpty {
            throw RPCError(code: .invalidArgument, message: "audiences must not be empty strings")
        }
        if entry.parentID == serverID {
            // A node entry names a group of nodes by what they proved; nothing is issued for it.
            guard !entry.nested, !entry.isWildcard, entry.dnsNames.isEmpty, entry.audiences.isEmpty else {
                throw RPCError(code: .invalidArgument, message: "a node entry (parent \(serverID)) names a group of nodes and is never issued: it takes no --nested, wildcard, --dns or --audience")
            }
            return
        }
        guard try await isKnownParent(entry.parentID) else {
            throw RPCError(code: .failedPrecondition, message: "unknown parent \(entry.parentID): it is not an agent, a join token's agent or alias, or another entry's SPIFFE ID")
        }
    }

    private func isKnownParent(_ parentID: SPIFFEID) async throws(RPCError) -> Bool {
        if await index.hasEntry(spiffeID: parentID) { return true }
        do {
            if try await store.agent(id: parentID) != nil { return true }
            return try await store.hasPendingJoinToken(agentID: parentID, now: Date())
        } catch {
            throw error.rpcError
        }
    }

    static func parseID(_ text: String, field: String) throws(RPCError) -> SPIFFEID {
        do {
            return try SPIFFEID(text)
        } catch {
            throw RPCError(code: .invalidArgument, message: "\(field) '\(text)': \(error)")
        }
    }

    static func randomHex(bytes count: Int) -> String {
        Hex.encode(SecureRandom.bytes(count))
    }
}

extension DataStoreError {
    var rpcError: RPCError {
        switch self {
        case .duplicateEntry: return RPCError(code: .alreadyExists, message: description)
        case .notFound: return RPCError(code: .notFound, message: description)
        case .tokenUsed, .tokenExpired: return RPCError(code: .failedPrecondition, message: description)
        case .corrupt, .migration: return RPCError(code: .dataLoss, message: description)
        case .unavailable: return RPCError(code: .unavailable, message: description)
        }
    }
}

extension AgentRecord {
    var wire: Matryoshka_V1_Agent {
        Matryoshka_V1_Agent.with {
            $0.spiffeID = spiffeID.description
            $0.attestationType = attestationType
            $0.selectors = selectors.map(\.wire)
            $0.serialNumber = serialNumber
            $0.expiresAt = Int64(expiresAt.timeIntervalSince1970)
            $0.createdAt = Int64(createdAt.timeIntervalSince1970)
            $0.lastAttestedAt = Int64(lastAttestedAt.timeIntervalSince1970)
            $0.evicted = evicted
            $0.untrustedReason = untrustedReason ?? ""
            $0.canReattest = canReattest
        }
    }
}

extension AdminService {
    /// An agent as the admin API shows it: its record and the node groups it belongs to now.
    func wire(_ agent: AgentRecord) async -> Matryoshka_V1_Agent {
        var wire = agent.wire
        if !agent.evicted { wire.nodeGroups = await index.nodeGroups(of: agent.spiffeID).map(\.description).sorted() }
        return wire
    }

    /// Revokes by serial number (optionally with the subtree of that credential), by SPIFFE ID
    /// (optionally with every credential whose lineage passes through it), or a node (evicted,
    /// with everything it vouched for). Audited with the admin caller.
    func revoke(request: Matryoshka_V1_AdminRevokeRequest, context: ServerContext) async throws -> Matryoshka_V1_AdminRevokeResponse {
        let actor = try caller(context)
        let reason = request.reason.isEmpty ? "revoked by the operator" : request.reason
        let revoked: [IssuedSVIDRecord]
        do {
            switch request.target {
            case .serialNumber(let serial)?:
                revoked = try await revocation.revoke(serialNumber: serial, subtree: request.subtree, reason: reason, by: actor)
            case .spiffeID(let text)?:
                let id = try Self.parseID(text, field: "--spiffe-id")
                revoked = try await revocation.revoke(spiffeID: id, subtree: request.subtree, reason: reason, by: actor)
            case .nodeSpiffeID(let text)?:
                let id = try await agentID(named: try Self.parseID(text, field: "--node"))
                revoked = try await revocation.revoke(node: id, reason: reason, by: actor)
                await index.removeNode(id)
            case nil:
                throw RPCError(code: .invalidArgument, message: "name what to revoke: a serial number, a SPIFFE ID or a node")
            }
        } catch let error as RevocationError {
            throw error.rpcError
        }
        logger.notice("revoked", metadata: ["revoked": "\(revoked.count)", "by": "\(actor)", "reason": "\(reason)"])
        return Matryoshka_V1_AdminRevokeResponse.with {
            $0.revoked = Int32(clamping: revoked.count)
            $0.credentials = revoked.compactMap(RevokedCredential.init).map(\.wire)
        }
    }

    /// The agent `id` names: the agent itself, or the agent a node alias (an entry without
    /// selectors, from `token generate --spiffe-id`) stands for.
    private func agentID(named id: SPIFFEID) async throws(RPCError) -> SPIFFEID {
        do {
            if try await store.agent(id: id) != nil { return id }
            let aliases = try await store.listEntries(spiffeID: id, parentID: nil).filter(\.selectors.isEmpty)
            for alias in aliases {
                if try await store.agent(id: alias.parentID) != nil { return alias.parentID }
            }
        } catch {
            throw error.rpcError
        }
        return id
    }
}
