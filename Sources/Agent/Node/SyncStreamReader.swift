import Foundation
import MatryoshkaAPI
import SPIFFE

/// Reads one sync stream: turns each update into the whole state it stands for. An update the
/// server sent whole replaces what the stream said before; one that carries only what changed
/// (the agent asks for those, `accepts_deltas`) is applied on top of it.
struct SyncStreamReader: Sendable {
    private var entries: [RegistrationEntry] = []
    private var revocations = RevocationList()
    private var isFirst = true

    /// The state after `update`, and what in it changed since the previous update.
    mutating func read(_ update: Matryoshka_V1_SyncUpdate, now: Date = Date()) throws(AgentError) -> NodeClient.SyncState {
        if isFirst, update.entriesUnchanged || update.revokedIsDelta {
            throw AgentError("the server's first sync update refers to a previous one (a delta): the stream is out of step")
        }
        let entriesChanged = !update.entriesUnchanged
        if entriesChanged {
            var decoded: [RegistrationEntry] = []
            decoded.reserveCapacity(update.entries.count)
            for wire in update.entries {
                do {
                    decoded.append(try RegistrationEntry(wire: wire))
                } catch {
                    throw AgentError("the server sent an invalid entry \(wire.id): \(error)")
                }
            }
            entries = decoded
        }
        let bundle: SPIFFEBundle
        do {
            bundle = try SPIFFEBundle(wire: update.bundle)
        } catch {
            throw AgentError("the server sent an invalid bundle: \(error)")
        }
        var revocationsChanged: Bool
        if update.revokedIsDelta {
            revocationsChanged = !update.revoked.isEmpty || update.crls.map(Array.init) != revocations.crls
            revocations.add(update.revoked)
            revocations.replaceCRLs(update.crls)
        } else {
            let whole = RevocationList(revoked: update.revoked, crls: update.crls)
            revocationsChanged = isFirst || whole != revocations
            revocations = whole
        }
        if revocations.dropExpired(now: now) { revocationsChanged = true }
        defer { isFirst = false }
        return NodeClient.SyncState(
            entries: entries, bundle: bundle, revocations: revocations,
            entriesChanged: isFirst || entriesChanged, revocationsChanged: revocationsChanged)
    }
}
