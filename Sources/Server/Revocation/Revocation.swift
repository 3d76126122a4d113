import Authority
import Foundation
import Lineage
import Logging
import MatryoshkaAPI
import SPIFFE
import X509

/// Revokes credentials and publishes what is revoked.
///
/// - By serial number, optionally with its subtree: every credential whose lineage passes through
///   that credential's key.
/// - By SPIFFE ID: every unexpired credential with that ID, and with `subtree` every credential
///   whose lineage passes through a layer with that ID.
/// - A node: the agent is evicted, and its SVIDs and everything under them revoked.
/// - A layer (node API): only credentials it vouched for, and their subtrees.
///
/// The datastore is the source of truth; this actor keeps the unexpired revoked set in memory, for
/// the checks on every node API call (``refusal(for:lineage:)``), signs a CRL per X.509 CA on every
/// change (``snapshot``), and tells every watcher at once (``changes()``), so open Sync streams
/// push the change to agents without polling.
public actor Revocation {
    public struct Settings: Sendable {
        /// CRL lifetime (nextUpdate − thisUpdate); nil means the bundle's refresh hint.
        public var crlValidity: Duration?
        /// How often expired revocations are dropped and CRLs re-signed when half their life is gone.
        public var maintenanceInterval: Duration
        /// How long after expiry an SVID's record is kept before it is pruned.
        public var pruneAfter: Duration
        /// How often pruning runs.
        public var pruneInterval: Duration

        public init(
            crlValidity: Duration? = nil, maintenanceInterval: Duration = .seconds(30), pruneAfter: Duration = .seconds(24 * 3600),
            pruneInterval: Duration = .seconds(3600)
        ) {
            self.crlValidity = crlValidity
            self.maintenanceInterval = maintenanceInterval
            self.pruneAfter = pruneAfter
            self.pruneInterval = pruneInterval
        }
    }

    /// The most serial numbers one node API request may name.
    public static let maximumSerialsPerRequest = 1000

    let store: any DataStore
    let authorities: AuthorityManager
    let settings: Settings
    let logger: Logger
    /// Unexpired revoked credentials by serial number.
    var revoked: [String: RevokedCredential] = [:]
    /// Serial numbers of unexpired revoked credentials by public key hash.
    var revokedKeys: [String: String] = [:]
    /// `revoked` in published order, ready to sign and send.
    var listing = RevocationListing()
    /// What is published now.
    public internal(set) var snapshot = RevocationSnapshot()
    let changeSignal = ChangeSignal()
    var signing = false
    var signingWaiters: [CheckedContinuation<Void, Never>] = []
    var lastPrune: Date?

    let metrics: ServerMetrics

    public init(
        store: any DataStore, authorities: AuthorityManager, settings: Settings = Settings(), logger: Logger,
        metrics: ServerMetrics = ServerMetrics()
    ) {
        self.store = store
        self.authorities = authorities
        self.settings = settings
        self.logger = logger
        self.metrics = metrics
    }

    /// Loads the unexpired revocations from the datastore and signs the CRLs. Call after the
    /// authorities have started.
    public func start(now: Date = Date()) async throws(ServerError) {
        let records: [IssuedSVIDRecord]
        do {
            records = try await store.revokedSVIDs(now: now)
        } catch {
            throw ServerError("cannot load revoked credentials: \(error)")
        }
        remember(records)
        await resignCRLs(now: now)
        guard snapshot.activeCRL != nil else { throw ServerError("cannot sign the certificate revocation list") }
        logger.info("revocation loaded", metadata: ["revoked": "\(revoked.count)", "crls": "\(snapshot.crls.count)"])
    }

    // MARK: Revoking

    /// Revokes the credential with this serial number (or JWT token ID) and, with `subtree`, every
    /// unexpired credential whose lineage passes through its key.
    ///
    /// - Parameters:
    ///   - serialNumber: hex, any case, colons and a `0x` prefix allowed.
    ///   - actor: who asks, for the audit log.
    /// - Returns: the credentials this call revoked (none when all were revoked or expired already).
    /// - Throws: ``RevocationError/notFound(_:)`` for an unknown serial number.
    public func revoke(serialNumber: String, subtree: Bool, reason: String, by actor: String, now: Date = Date()) async throws(RevocationError) -> [IssuedSVIDRecord] {
        let record = try await credential(serialNumber)
        var selection = SVIDSelection(serialNumbers: [record.serialNumber])
        if subtree, let key = record.publicKeyHash { selection.ancestorKeyHashes = [key] }
        return try await commit(selection, reason: reason, actor: actor, subject: record.spiffeID.description,
                                scope: subtree ? "serial+subtree" : "serial", now: now)
    }

    /// Revokes every unexpired credential with this SPIFFE ID and, with `subtree`, every unexpired
    /// credential whose lineage passes through a layer with this ID.
    public func revoke(spiffeID: SPIFFEID, subtree: Bool, reason: String, by actor: String, now: Date = Date()) async throws(RevocationError) -> [IssuedSVIDRecord] {
        let selection = SVIDSelection(spiffeIDs: [spiffeID], ancestorSPIFFEIDs: subtree ? [spiffeID] : [])
        return try await commit(selection, reason: reason, actor: actor, subject: spiffeID.description,
                                scope: subtree ? "spiffe_id+subtree" : "spiffe_id", now: now)
    }

    /// Evicts the agent `node` (it must attest again) and revokes its SVIDs and everything it
    /// vouched for, at any depth.
    /// - Throws: ``RevocationError/notFound(_:)`` when no agent has this SPIFFE ID.
    public func revoke(node: SPIFFEID, reason: String, by actor: String, now: Date = Date()) async throws(RevocationError) -> [IssuedSVIDRecord] {
        guard var agent = try await storage({ () async throws(DataStoreError) in try await store.agent(id: node) }) else {
            throw .notFound("no agent \(node) (list agents with `matryoshka agent list`)")
        }
        if !agent.evicted {
            agent.evicted = true
            let evicted = agent
            try await storage { () async throws(DataStoreError) in
                try await store.saveAgent(evicted, audit: AuditEvent(
                    kind: "agent.evict", actor: actor, subject: node.description, details: ["reason": reason], time: now))
            }
            logger.notice("agent evicted", metadata: ["agent": "\(node)", "by": "\(actor)"])
        }
        return try await commit(SVIDSelection(spiffeIDs: [node], ancestorSPIFFEIDs: [node]), reason: reason, actor: actor,
                                subject: node.description, scope: "node", now: now)
    }

    /// Revokes credentials a layer vouched for (whose lineage passes through the caller's SPIFFE
    /// ID or key), each with its subtree: what `matryoshka exec` does when its child exits.
    /// - Throws: ``RevocationError/permissionDenied(_:)`` (audited) for a credential the caller did
    ///   not vouch for; nothing is revoked then.
    public func revoke(serialNumbers: [String], vouchedBy caller: Caller, reason: String, now: Date = Date()) async throws(RevocationError) -> [IssuedSVIDRecord] {
        guard !serialNumbers.isEmpty else { throw .invalidRequest("name at least one serial number to revoke") }
        guard serialNumbers.count <= Self.maximumSerialsPerRequest else {
            throw .invalidRequest("at most \(Self.maximumSerialsPerRequest) serial numbers per request (got \(serialNumbers.count))")
        }
        let callerKey = LineageLink.hexSHA256(caller.certificate.publicKey.spkiDER)
        var selection = SVIDSelection()
        var subject: String?
        for serial in serialNumbers {
            let record = try await credential(serial)
            guard record.ancestors.contains(where: { $0.spiffeID == caller.spiffeID || $0.keyHash == callerKey }) else {
                let message = "\(caller.spiffeID) did not vouch for \(record.spiffeID) (serial \(record.serialNumber)): a layer may only revoke its own descendants"
                logger.warning("refused a revocation", metadata: ["caller": "\(caller.spiffeID)", "serial": "\(record.serialNumber)"])
                try? await store.appendAudit(AuditEvent(
                    kind: "revoke.refuse", actor: caller.spiffeID.description, subject: record.spiffeID.description,
                    details: ["serial": record.serialNumber, "reason": message], time: now))
                throw .permissionDenied(message)
            }
            subject = subject ?? record.spiffeID.description
            selection.serialNumbers.append(record.serialNumber)
            if let key = record.publicKeyHash { selection.ancestorKeyHashes.append(key) }
        }
        return try await commit(selection, reason: reason, actor: caller.spiffeID.description, subject: subject ?? caller.spiffeID.description,
                                scope: "vouched", now: now)
    }

    /// Revokes credentials just issued to `caller` if the caller itself was revoked while they
    /// were being signed (a revocation racing an issuance). Returns why, or nil if it was not.
    public func revokeIfCallerRevoked(_ caller: Caller, issued serialNumbers: [String], now: Date = Date()) async -> String? {
        guard let refusal = refusal(for: caller.certificate, lineage: caller.lineage) else { return nil }
        _ = try? await commit(SVIDSelection(serialNumbers: serialNumbers), reason: "issued to a layer revoked during issuance", actor: "server",
                              subject: caller.spiffeID.description, scope: "race", now: now)
        return refusal
    }

    // MARK: Internals

    /// Revokes the unrevoked, unexpired credentials `selection` names in one transaction (found
    /// and revoked in one step by the datastore), then publishes. The audit record's
    /// `descendants` are the credentials revoked because their lineage passes through the subject.
    private func commit(
        _ selection: SVIDSelection, reason: String, actor: String, subject: String, scope: String, now: Date
    ) async throws(RevocationError) -> [IssuedSVIDRecord] {
        let started = ContinuousClock.now
        let records = try await storage { () async throws(DataStoreError) in
            try await store.revokeSVIDs(
                selection, reason: reason, revokedBy: actor, now: now,
                audit: AuditEvent(kind: "revoke", actor: actor, subject: subject, details: ["scope": scope], time: now))
        }
        let stored = ContinuousClock.now
        metrics.revokedCredentials.increment(by: Int64(records.count))
        remember(records)
        if !records.isEmpty { await publish(now: now) }
        logger.notice("revoked credentials", metadata: [
            "subject": "\(subject)", "scope": "\(scope)", "revoked": "\(records.count)", "by": "\(actor)", "reason": "\(reason)",
            // How long recording took, and re-signing and publishing the CRLs.
            "store_ms": "\(String(format: "%.1f", (stored - started).timeInterval * 1000))",
            "publish_ms": "\(String(format: "%.1f", (ContinuousClock.now - stored).timeInterval * 1000))",
        ])
        return records
    }

    /// The record of `serialNumber`, tolerating case, colons, a `0x` prefix and a missing or
    /// extra leading zero byte (as openssl prints serial numbers).
    private func credential(_ serialNumber: String) async throws(RevocationError) -> IssuedSVIDRecord {
        guard let candidates = Self.serialCandidates(serialNumber) else {
            throw .invalidRequest("'\(serialNumber)' is not a hexadecimal serial number")
        }
        for candidate in candidates {
            if let record = try await storage({ () async throws(DataStoreError) in try await store.issuedSVID(serialNumber: candidate) }) {
                return record
            }
        }
        throw .notFound("no credential with serial number \(candidates[0]) (it may have expired and been pruned)")
    }

    static func serialCandidates(_ text: String) -> [String]? {
        var hex = text.trimmingCharacters(in: .whitespaces).lowercased().replacingOccurrences(of: ":", with: "")
        if hex.hasPrefix("0x") { hex.removeFirst(2) }
        guard !hex.isEmpty, hex.allSatisfy(\.isHexDigit) else { return nil }
        if hex.count % 2 == 1 { hex = "0" + hex }
        var candidates = [hex, "00" + hex]
        var stripped = Substring(hex)
        while stripped.hasPrefix("00"), stripped.count > 2 { stripped = stripped.dropFirst(2) }
        if stripped != Substring(hex) { candidates.append(String(stripped)) }
        return candidates
    }

    /// Keeps the revocations recorded in `records` (those not known already) and lists them for publishing.
    func remember(_ records: [IssuedSVIDRecord]) {
        var added: [RevokedCredential] = []
        for record in records {
            guard let credential = RevokedCredential(record), revoked[credential.serialNumber] == nil else { continue }
            revoked[credential.serialNumber] = credential
            if let key = credential.publicKeyHash { revokedKeys[key] = credential.serialNumber }
            added.append(credential)
        }
        listing.add(added)
    }

    func storage<T>(_ body: () async throws(DataStoreError) -> T) async throws(RevocationError) -> T {
        do {
            return try await body()
        } catch {
            throw .storage(error)
        }
    }
}
