import Attestation
import Foundation
import MatryoshkaAPI
import SPIFFE
import Testing

@testable import Agent

/// How the agent reads its sync stream: updates sent whole replace what it held, deltas add to
/// it, and it drops expired revocations itself (the server sends no word of those).
@Suite("Sync stream reader: whole updates and deltas")
struct SyncStreamReaderTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    let trustDomain: TrustDomain

    init() throws {
        trustDomain = try TrustDomain("example.org")
    }

    func entry(_ path: String) throws -> Matryoshka_V1_Entry {
        RegistrationEntry(
            id: path, spiffeID: try SPIFFEID(trustDomain: trustDomain, path: path),
            parentID: try SPIFFEID(trustDomain: trustDomain, path: "/agent"), selectors: [try Selector("unix:uid:0")]).wire
    }

    func revoked(_ serial: String, expiresIn: TimeInterval = 3600, keyHash: String = "") -> Matryoshka_V1_RevokedCredential {
        Matryoshka_V1_RevokedCredential.with {
            $0.serialNumber = serial
            $0.spiffeID = "spiffe://example.org/w/\(serial)"
            $0.expiresAt = Int64(now.addingTimeInterval(expiresIn).timeIntervalSince1970)
            $0.revokedAt = Int64(now.timeIntervalSince1970)
            $0.publicKeyHash = keyHash
        }
    }

    func update(entries: [Matryoshka_V1_Entry] = [], revoked: [Matryoshka_V1_RevokedCredential] = [], delta: Bool = false, unchanged: Bool = false, crls: [Data] = []) -> Matryoshka_V1_SyncUpdate {
        Matryoshka_V1_SyncUpdate.with {
            $0.entries = entries
            $0.bundle = SPIFFEBundle(trustDomain: trustDomain).wire
            $0.revoked = revoked
            $0.revokedIsDelta = delta
            $0.entriesUnchanged = unchanged
            $0.crls = crls
        }
    }

    @Test("deltas add revocations and keep the entries; a whole update replaces both")
    func deltasAndWholeUpdates() throws {
        var reader = SyncStreamReader()
        let first = try reader.read(update(entries: [try entry("/a"), try entry("/b")], revoked: [revoked("01")]), now: now)
        #expect(first.entriesChanged && first.revocationsChanged)
        #expect(first.entries.map(\.id) == ["/a", "/b"] && Set(first.revocations.bySerial.keys) == ["01"])

        let second = try reader.read(update(revoked: [revoked("02", keyHash: "ab")], delta: true, unchanged: true, crls: [Data([1])]), now: now)
        #expect(!second.entriesChanged && second.revocationsChanged)
        #expect(second.entries.map(\.id) == ["/a", "/b"])
        #expect(Set(second.revocations.bySerial.keys) == ["01", "02"] && second.revocations.byKeyHash["ab"]?.serialNumber == "02")
        #expect(second.revocations.crls == [[1]])

        // Nothing new: nothing changed, so the cache and the exec watch skip their comparisons.
        let third = try reader.read(update(delta: true, unchanged: true, crls: [Data([1])]), now: now)
        #expect(!third.entriesChanged && !third.revocationsChanged)
        #expect(third.revocations == second.revocations)

        // A server that sends every update whole (it does not know deltas): replaced, not added.
        let whole = try reader.read(update(entries: [try entry("/c")], revoked: [revoked("03")]), now: now)
        #expect(whole.entriesChanged && whole.revocationsChanged)
        #expect(whole.entries.map(\.id) == ["/c"] && Set(whole.revocations.bySerial.keys) == ["03"] && whole.revocations.byKeyHash.isEmpty)
    }

    @Test("revocations are dropped a minute after their credentials expire, and only then")
    func expiredRevocationsDropped() throws {
        var reader = SyncStreamReader()
        _ = try reader.read(update(revoked: [revoked("01", expiresIn: 10, keyHash: "aa"), revoked("02")]), now: now)
        let held = try reader.read(update(delta: true, unchanged: true), now: now.addingTimeInterval(10 + RevocationList.keptPastExpiry - 1))
        #expect(!held.revocationsChanged && Set(held.revocations.bySerial.keys) == ["01", "02"])
        let dropped = try reader.read(update(delta: true, unchanged: true), now: now.addingTimeInterval(10 + RevocationList.keptPastExpiry))
        #expect(dropped.revocationsChanged)
        #expect(Set(dropped.revocations.bySerial.keys) == ["02"] && dropped.revocations.byKeyHash.isEmpty)
        // A revocation whose expiry the server did not say is kept while it lists it.
        var list = RevocationList(revoked: [Matryoshka_V1_RevokedCredential.with { $0.serialNumber = "03" }], crls: [])
        #expect(!list.dropExpired(now: .distantFuture) && list.bySerial["03"] != nil)
    }

    @Test("a first update that refers to a previous one, or an invalid entry, ends the stream with a clear error")
    func outOfStepOrInvalid() throws {
        var reader = SyncStreamReader()
        #expect(throws: AgentError.self) { try reader.read(update(revoked: [revoked("01")], delta: true), now: now) }
        var second = SyncStreamReader()
        let error = #expect(throws: AgentError.self) { try second.read(update(unchanged: true), now: now) }
        #expect(error?.description.contains("out of step") == true)
        var bad = SyncStreamReader()
        var broken = try entry("/a")
        broken.spiffeID = "not a SPIFFE ID"
        let invalid = #expect(throws: AgentError.self) { try bad.read(update(entries: [broken]), now: now) }
        #expect(invalid?.description.contains("invalid entry /a") == true)
    }
}
