import Foundation
import MatryoshkaAPI
import SPIFFE

/// What one sync stream has sent its agent, so that each update after the first carries only
/// what changed: the credentials revoked since the previous update, and no entries when they are
/// those of the previous update. Only for an agent that asks for deltas (`accepts_deltas`): any
/// other gets every update whole, as before.
///
/// A subtree revocation otherwise re-sent every revoked, unexpired credential (thousands after a
/// few rounds) and every entry of a pod agent to every agent on every change, and each agent
/// decoded and re-indexed all of it.
struct SyncStreamCursor: Sendable {
    let acceptsDeltas: Bool
    /// The entries of the previous update; nil before the first.
    private var sentEntries: [RegistrationEntry]?
    /// The ``RevocationListing/version`` the previous update was made from; nil before the first.
    private var sentRevocationVersion: UInt64?

    init(acceptsDeltas: Bool) {
        self.acceptsDeltas = acceptsDeltas
    }

    /// The next update of the stream, and notes what it sent.
    mutating func update(entries: [RegistrationEntry], bundle: SPIFFEBundle, revocations: RevocationSnapshot) -> Matryoshka_V1_SyncUpdate {
        var update = Matryoshka_V1_SyncUpdate()
        update.bundle = bundle.wire
        // CRLs are signed anew on every change and go out whole: one per CA, not one per credential.
        update.crls = revocations.crls.map { Data($0.derEncoded) }
        guard acceptsDeltas else {
            update.entries = entries.map(\.wire)
            update.revoked = revocations.wireCredentials
            return update
        }
        if let sentEntries, sentEntries == entries {
            update.entriesUnchanged = true
        } else {
            update.entries = entries.map(\.wire)
        }
        if let sentRevocationVersion {
            update.revoked = revocations.wireCredentials(addedAfter: sentRevocationVersion)
            update.revokedIsDelta = true
        } else {
            update.revoked = revocations.wireCredentials
        }
        sentEntries = entries
        sentRevocationVersion = revocations.version
        return update
    }
}
