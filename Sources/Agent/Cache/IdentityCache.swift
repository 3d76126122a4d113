import Attestation
import Foundation
import Logging
import MatryoshkaAPI
import SPIFFE

/// What the agent knows and holds: the entries it serves, their X509-SVIDs, JWT-SVIDs asked for
/// recently, and the trust bundle. Workload API streams watch it and get the new state on every
/// change; the minting loop asks it what needs signing.
actor IdentityCache {
    private(set) var entries: [String: RegistrationEntry] = [:]
    private var svids: [String: CachedSVID] = [:]
    private var jwts: [JWTKey: CachedJWTSVID] = [:]
    private(set) var bundle: SPIFFEBundle
    /// What the server says is revoked: held SVIDs in it are dropped, and workloads get its CRLs.
    private(set) var revocations = RevocationList()
    /// Serial numbers of SVIDs discarded here before the server's revocation arrived.
    private var withdrawn: Set<String> = []
    private let changeSignal = ChangeSignal()
    private var mintSignal: AsyncStream<Void>.Continuation?
    private let logger: Logger

    struct JWTKey: Hashable {
        let entryID: String
        let audience: [String]
    }

    init(bundle: SPIFFEBundle, logger: Logger) {
        self.bundle = bundle
        self.logger = logger
    }

    /// Replaces the served entries, the bundle and (when given) the revocations with what the
    /// server sent. Revoked SVIDs are dropped at once; the minting loop re-issues those whose
    /// entries remain.
    /// Nil entries or revocations: unchanged since the last call.
    func apply(entries newEntries: [RegistrationEntry]?, bundle newBundle: SPIFFEBundle, revocations newRevocations: RevocationList? = nil) {
        var changed = newBundle != bundle
        bundle = newBundle
        if let newRevocations, newRevocations != revocations {
            revocations = newRevocations
            dropRevoked()
            changed = true
        }
        guard let newEntries else {
            if changed { notifyWatchers() }
            mintSignal?.yield()
            return
        }
        let byID = Dictionary(newEntries.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        for (id, entry) in entries where byID[id] == nil {
            svids[id] = nil
            jwts = jwts.filter { $0.key.entryID != id }
            logger.info("entry removed; dropped its SVIDs", metadata: ["entry_id": "\(id)", "spiffe_id": "\(entry.spiffeID)"])
            changed = true
        }
        for (id, entry) in byID {
            if let old = entries[id], old != entry {
                // Changed entry (e.g. new TTL or DNS names): re-issue.
                svids[id] = nil
                jwts = jwts.filter { $0.key.entryID != id }
                changed = true
            }
        }
        if entries.keys.count != byID.keys.count || Set(entries.keys) != Set(byID.keys) { changed = true }
        entries = byID
        if changed { notifyWatchers() }
        mintSignal?.yield()
    }

    /// Entries whose X509-SVID is missing or due for renewal at `now`.
    ///
    /// An SVID that already lasts as long as this layer's own (`layerExpiresAt`) is not due: the
    /// server caps a child's lifetime at its parent's, so renewing it could not extend it and,
    /// at half of an ever shorter remaining life, would only renew it again and again. It is
    /// renewed once this layer has a new SVID.
    func entriesNeedingSVIDs(now: Date = Date(), layerExpiresAt: Date = .distantFuture) -> [RegistrationEntry] {
        entries.values.filter { entry in
            guard let svid = svids[entry.id] else { return true }
            return now >= svid.renewAt && !Self.isCapped(svid, layerExpiresAt: layerExpiresAt)
        }.sorted { $0.id < $1.id }
    }

    /// When the minting loop next has something to do: the earliest renewal of a held SVID that
    /// renewing can extend, or the end of a back-off (`notBefore`) for an entry still without one.
    /// Wildcard entries are minted on demand, never here. Nil when nothing is scheduled.
    func nextMint(layerExpiresAt: Date = .distantFuture, notBefore backoff: [String: Date] = [:]) -> Date? {
        entries.values.compactMap { entry -> Date? in
            guard !entry.isWildcard else { return nil }
            let earliest = backoff[entry.id] ?? .distantPast
            guard let svid = svids[entry.id] else { return earliest }
            guard !Self.isCapped(svid, layerExpiresAt: layerExpiresAt) else { return nil }
            return max(svid.renewAt, earliest)
        }.min()
    }

    /// Whether `svid` ends (within a second) when this layer's own SVID does.
    static func isCapped(_ svid: CachedSVID, layerExpiresAt: Date) -> Bool {
        svid.expiresAt >= layerExpiresAt.addingTimeInterval(-1)
    }

    func store(_ svid: CachedSVID) {
        guard entries[svid.entryID] != nil else { return }
        if let refusal = revocations.refusal(for: svid) {
            // Minted through a layer revoked meanwhile: never serve it.
            logger.warning("refusing to hold a revoked SVID", metadata: ["spiffe_id": "\(svid.spiffeID)", "reason": "\(refusal)"])
            return
        }
        svids[svid.entryID] = svid
        notifyWatchers()
    }

    /// Drops the X509-SVIDs and JWT-SVIDs that are revoked or descend from a revoked layer.
    private func dropRevoked() {
        guard !revocations.isEmpty else { return }
        var dropped: [(svid: CachedSVID, reason: String)] = []
        for (id, svid) in svids {
            guard let refusal = revocations.refusal(for: svid) else { continue }
            svids[id] = nil
            dropped.append((svid, refusal))
            logger.debug("SVID revoked; dropped it", metadata: [
                "spiffe_id": "\(svid.spiffeID)", "serial": "\(svid.serialNumber)", "reason": "\(refusal)",
            ])
        }
        // One line per update, not one per SVID: a subtree revocation can drop thousands at once.
        if let first = dropped.min(by: { $0.svid.spiffeID.description < $1.svid.spiffeID.description }) {
            logger.warning("revoked SVIDs dropped", metadata: [
                "count": "\(dropped.count)", "spiffe_id": "\(first.svid.spiffeID)", "serial": "\(first.svid.serialNumber)",
                "reason": "\(first.reason)", "more": "\(dropped.count - 1)",
            ])
        }
        jwts = jwts.filter { _, jwt in
            guard let svid = try? JWTSVID(parsing: jwt.token) else { return true }
            return revocations.refusal(forToken: jwt.token, claims: svid.claims) == nil
        }
    }

    /// Whether this X509-SVID was dropped because it is revoked (or descends from a revoked layer),
    /// or discarded as about to be (``discard(entryIDs:reason:)``).
    func isRevoked(_ svid: CachedSVID) -> Bool {
        withdrawn.contains(svid.serialNumber) || revocations.refusal(for: svid) != nil
    }

    /// Drops every SVID this layer holds: the server refuses the layer's own SVID (revoked,
    /// evicted), so everything issued under it is revoked too, even if the revocation itself has
    /// not reached this agent (the refusal can overtake the Sync update that carries it).
    func discardAll(reason: String) {
        discard(entryIDs: Set(svids.keys), reason: reason)
    }

    /// Drops the SVIDs of these entries at once (their keys reached a process no longer entitled
    /// to them); the minting loop issues new ones for the processes that still are.
    func discard(entryIDs: Set<String>, reason: String) {
        var dropped = false
        for id in entryIDs {
            guard let svid = svids.removeValue(forKey: id) else { continue }
            dropped = true
            if withdrawn.count > 10_000 { withdrawn.removeAll() }
            withdrawn.insert(svid.serialNumber)
            logger.warning("SVID discarded", metadata: ["spiffe_id": "\(svid.spiffeID)", "serial": "\(svid.serialNumber)", "reason": "\(reason)"])
        }
        jwts = jwts.filter { !entryIDs.contains($0.key.entryID) }
        guard dropped else { return }
        notifyWatchers()
        mintSignal?.yield()
    }

    /// Drops SVIDs that have expired (when the server was unreachable for too long).
    func dropExpired(now: Date = Date()) {
        let expired = svids.values.filter { $0.expiresAt <= now }
        guard !expired.isEmpty else { return }
        for svid in expired {
            svids[svid.entryID] = nil
            logger.warning("SVID expired before it could be renewed", metadata: ["spiffe_id": "\(svid.spiffeID)"])
        }
        jwts = jwts.filter { $0.value.expiresAt > now }
        notifyWatchers()
    }

    /// The entries a workload with `selectors` matches, oldest first (the first is its default identity).
    /// Wildcard entries (`…/task/*`) are not identities the agent serves: their children are named
    /// per request by the layer that holds them (`exec`), so they never match a workload here.
    func matchingEntries(_ selectors: [Selector]) -> [RegistrationEntry] {
        entries.values.filter { !$0.isWildcard && !$0.selectors.isEmpty && selectors.satisfies($0.selectors) }
            .sorted { ($0.createdAt, $0.spiffeID.description, $0.id) < ($1.createdAt, $1.spiffeID.description, $1.id) }
    }

    /// The SVIDs for these entries that the agent holds, in the same order.
    func svids(for entries: [RegistrationEntry], now: Date = Date()) -> [CachedSVID] {
        entries.compactMap { svids[$0.id] }.filter { $0.expiresAt > now }
    }

    func jwt(entryID: String, audience: [String], now: Date = Date()) -> CachedJWTSVID? {
        guard let cached = jwts[JWTKey(entryID: entryID, audience: audience.sorted())], now < cached.renewAt else { return nil }
        return cached
    }

    func storeJWT(_ jwt: CachedJWTSVID, entryID: String, audience: [String]) {
        guard entries[entryID] != nil else { return }
        if jwts.count > 10_000 { jwts = jwts.filter { $0.value.expiresAt > Date() } }
        jwts[JWTKey(entryID: entryID, audience: audience.sorted())] = jwt
    }

    var svidCount: Int { svids.count }

    /// A signal on every change of entries, SVIDs or the bundle.
    func changes() -> AsyncStream<Void> { changeSignal.stream() }

    /// A signal whenever there may be SVIDs to mint.
    func mintRequests() -> AsyncStream<Void> {
        let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        mintSignal = continuation
        continuation.yield()
        return stream
    }

    private func notifyWatchers() { changeSignal.signal() }
}
