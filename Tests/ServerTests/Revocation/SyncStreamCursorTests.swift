import Attestation
import Foundation
import MatryoshkaAPI
import SPIFFE
import Testing

@testable import Server

/// What each sync update carries: everything to an agent that does not take deltas, and after the
/// first update only what changed to one that does — adding up to the same revoked set.
@Suite("Sync stream: updates whole or as deltas")
struct SyncStreamCursorTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    let trustDomain: TrustDomain
    let bundle: SPIFFEBundle

    init() throws {
        trustDomain = try TrustDomain("example.org")
        bundle = SPIFFEBundle(trustDomain: trustDomain)
    }

    func credential(_ serial: String, at offset: TimeInterval, expiresIn: TimeInterval = 3600) throws -> RevokedCredential {
        RevokedCredential(
            serialNumber: serial, kind: .x509, spiffeID: try SPIFFEID("spiffe://example.org/w/\(serial)"), expiresAt: now.addingTimeInterval(expiresIn),
            revokedAt: now.addingTimeInterval(offset), issuerKeyID: "ca-1")
    }

    func entry(_ path: String) throws -> RegistrationEntry {
        RegistrationEntry(
            id: path, spiffeID: try SPIFFEID(trustDomain: trustDomain, path: path),
            parentID: try SPIFFEID(trustDomain: trustDomain, path: "/agent"), selectors: [try Selector("unix:uid:0")])
    }

    func snapshot(_ listing: RevocationListing) -> RevocationSnapshot {
        RevocationSnapshot(listing: listing, crls: [], activeCRL: nil, signedAt: now)
    }

    @Test("an agent that does not ask for deltas gets every update whole, as before")
    func wholeUpdatesWithoutDeltas() throws {
        var cursor = SyncStreamCursor(acceptsDeltas: false)
        var listing = RevocationListing()
        listing.add([try credential("01", at: 0)])
        let entries = [try entry("/a"), try entry("/b")]
        _ = cursor.update(entries: entries, bundle: bundle, revocations: snapshot(listing))
        listing.add([try credential("02", at: 1)])
        let second = cursor.update(entries: entries, bundle: bundle, revocations: snapshot(listing))
        #expect(!second.revokedIsDelta && !second.entriesUnchanged)
        #expect(second.revoked.map(\.serialNumber) == ["01", "02"])
        #expect(second.entries.map(\.id) == ["/a", "/b"])
    }

    @Test("to an agent that asks: the first update whole, then only new revocations and no unchanged entries")
    func deltasAfterTheFirst() throws {
        var cursor = SyncStreamCursor(acceptsDeltas: true)
        var listing = RevocationListing()
        listing.add([try credential("01", at: 0)])
        let entries = [try entry("/a"), try entry("/b")]
        let first = cursor.update(entries: entries, bundle: bundle, revocations: snapshot(listing))
        #expect(!first.revokedIsDelta && !first.entriesUnchanged)
        #expect(first.revoked.map(\.serialNumber) == ["01"] && first.entries.count == 2)

        listing.add([try credential("02", at: 1), try credential("03", at: 2)])
        let second = cursor.update(entries: entries, bundle: bundle, revocations: snapshot(listing))
        #expect(second.revokedIsDelta && second.entriesUnchanged)
        #expect(second.revoked.map(\.serialNumber) == ["02", "03"] && second.entries.isEmpty)
        #expect(second.hasBundle)

        // An entry change with no new revocation: the entries whole, an empty delta.
        let third = cursor.update(entries: [try entry("/a")], bundle: bundle, revocations: snapshot(listing))
        #expect(third.revokedIsDelta && third.revoked.isEmpty)
        #expect(!third.entriesUnchanged && third.entries.map(\.id) == ["/a"])
    }

    @Test("the deltas add up to the whole list, through clock steps back and expiries")
    func deltasAddUpToTheWholeList() throws {
        var cursor = SyncStreamCursor(acceptsDeltas: true)
        var listing = RevocationListing()
        var held: [String: Matryoshka_V1_RevokedCredential] = [:]
        func sync() {
            let update = cursor.update(entries: [], bundle: bundle, revocations: snapshot(listing))
            if !update.revokedIsDelta { held = [:] }
            for credential in update.revoked { held[credential.serialNumber] = credential }
            // What the agent does itself: drop what expired.
            held = held.filter { $0.value.expiresAt > Int64(now.addingTimeInterval(100).timeIntervalSince1970) }
        }
        sync()
        for round in 0..<20 {
            // Some rounds revoke "in the past" (a clock step back), some revoke credentials that expire soon.
            let offset = round % 4 == 3 ? -TimeInterval(round) : TimeInterval(round)
            listing.add([
                try credential(String(format: "%02x", 2 * round), at: offset, expiresIn: round % 3 == 0 ? 50 : 3600),
                try credential(String(format: "%02x", 2 * round + 1), at: offset),
            ])
            if round % 5 == 4 { listing.remove { $0.expiresAt <= now.addingTimeInterval(100) } }
            if round % 2 == 1 { sync() }
        }
        listing.remove { $0.expiresAt <= now.addingTimeInterval(100) }
        sync()
        #expect(Set(held.keys) == Set(listing.wire.map(\.serialNumber)))
        #expect(held.count == 20 + 13)
    }
}
