import Authority
import Foundation

extension Revocation {
    /// Keeps the published revocations current until cancelled: re-signs when the set of CAs or
    /// the active CA changes, drops revocations of expired credentials, re-signs CRLs before they
    /// go stale, and prunes expired records from the datastore.
    public func run() async throws {
        let bundles = await authorities.bundleUpdates()
        let interval = settings.maintenanceInterval
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in bundles { await self.authoritiesChanged(now: Date()) }
            }
            group.addTask {
                while true {
                    try await Task.sleep(for: interval)
                    await self.maintain(now: Date())
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }

    /// Re-signs when the CAs are no longer those the CRLs were signed for.
    func authoritiesChanged(now: Date) async {
        let authorities = await self.authorities.x509Authorities.map(\.keyIdentifier)
        let activeKeyID = (try? await self.authorities.activeCA)?.keyIdentifier
        let signed = snapshot.crls.map { $0.authorityKeyIdentifier ?? [] }
        if authorities != signed || snapshot.activeCRL?.authorityKeyIdentifier != activeKeyID {
            logger.info("CAs changed; re-signing CRLs", metadata: ["cas": "\(authorities.count)"])
            await publish(now: now)
        }
    }

    /// One maintenance step at `now`.
    func maintain(now: Date) async {
        let expired = revoked.values.filter { $0.expiresAt <= now }
        for credential in expired {
            revoked[credential.serialNumber] = nil
            if let key = credential.publicKeyHash { revokedKeys[key] = nil }
        }
        if !expired.isEmpty { listing.remove { $0.expiresAt <= now } }
        let validity = await crlValidity()
        let due = snapshot.signedAt.map { now >= $0.addingTimeInterval(validity.timeInterval / 2) } ?? true
        if !expired.isEmpty || due { await publish(now: now) }
        if lastPrune.map({ now >= $0.addingTimeInterval(settings.pruneInterval.timeInterval) }) ?? true {
            lastPrune = now
            do {
                let pruned = try await store.pruneSVIDs(
                    expiredBefore: now.addingTimeInterval(-settings.pruneAfter.timeInterval),
                    audit: AuditEvent(kind: "svid.prune", actor: "server", subject: "issued_svids", time: now))
                if pruned > 0 { logger.info("pruned records of expired SVIDs", metadata: ["count": "\(pruned)"]) }
            } catch {
                logger.warning("cannot prune expired SVIDs", metadata: ["error": "\(error)"])
            }
        }
    }
}
