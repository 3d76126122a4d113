import Attestation
import Foundation
import Logging
import MatryoshkaAPI
import WorkloadAPI

/// One X509-SVID stream's view of the cache: what it last sent, and when it stops waiting for a
/// freshly matched entry's first SVID. ``look(entries:)`` reads the cache once and yields a new set
/// when it changed; the stream calls it on every cache change, and once at each deadline while it
/// has sent nothing.
struct X509SVIDStream: Sendable {
    let cache: IdentityCache
    let selectors: [Selector]
    let continuation: AsyncThrowingStream<X509SVIDSet, any Error>.Continuation
    let held: HeldSVIDs
    let logger: Logger
    let pid: Int32
    /// Until when the stream waits for a first SVID before it ends with `noIdentity`.
    let firstSVIDDeadline: ContinuousClock.Instant
    /// Until when the first answer waits for every SVID the workload is entitled to, so its
    /// default identity is the right one, not whichever was minted first.
    let fullSetDeadline: ContinuousClock.Instant
    private(set) var last: X509SVIDSet?
    private var served: [CachedSVID] = []

    init(
        cache: IdentityCache, selectors: [Selector], continuation: AsyncThrowingStream<X509SVIDSet, any Error>.Continuation,
        held: HeldSVIDs, logger: Logger, pid: Int32, firstSVIDTimeout: Duration
    ) {
        let now = ContinuousClock.now
        self.cache = cache
        self.selectors = selectors
        self.continuation = continuation
        self.held = held
        self.logger = logger
        self.pid = pid
        self.firstSVIDDeadline = now.advanced(by: firstSVIDTimeout)
        self.fullSetDeadline = now.advanced(by: .seconds(2))
    }

    /// Whether the stream has sent its first set.
    var hasAnswered: Bool { last != nil }

    /// Reads the cache (with `entries`, the entries matched just now, if the caller has them) and
    /// yields the set if it changed. False once the stream has been finished.
    mutating func look(entries matched: [RegistrationEntry]? = nil) async -> Bool {
        let entries: [RegistrationEntry]
        if let matched { entries = matched } else { entries = await cache.matchingEntries(selectors) }
        if entries.isEmpty {
            continuation.finish(throwing: WorkloadAPIError.noIdentity(detail: "the entries for this workload were removed"))
            return false
        }
        let svids = await cache.svids(for: entries)
        let now = ContinuousClock.now
        if last == nil, !svids.isEmpty, svids.count < entries.count(where: { !$0.isWildcard }), now < fullSetDeadline {
            return true
        }
        if svids.isEmpty, let revoked = await firstRevoked(served) {
            // Every SVID it held is gone and one was revoked: stop at once rather than leave the
            // workload with a revoked identity until a new one is minted.
            logger.notice("workload's X509-SVID was revoked; ending its stream", metadata: ["pid": "\(pid)", "spiffe_id": "\(revoked.spiffeID)"])
            continuation.finish(throwing: WorkloadAPIError.noIdentity(detail: "its X509-SVID for \(revoked.spiffeID) was revoked; ask again for a new one"))
            return false
        }
        if svids.isEmpty {
            if last == nil, now >= firstSVIDDeadline {
                logger.warning("workload matched entries but no SVID is available", metadata: ["pid": "\(pid)"])
                continuation.finish(throwing: WorkloadAPIError.noIdentity(detail: "no SVID has been issued for this workload yet"))
                return false
            }
            return true
        }
        let set = AgentWorkloadProvider.x509Set(svids, bundle: await cache.bundle, crls: await cache.revocations.crls)
        if set != last {
            continuation.yield(set)
            last = set
            served = svids
            held.set(svids)
        }
        return true
    }

    /// The first of `svids` that is revoked now, if any.
    private func firstRevoked(_ svids: [CachedSVID]) async -> CachedSVID? {
        for svid in svids where await cache.isRevoked(svid) { return svid }
        return nil
    }
}
