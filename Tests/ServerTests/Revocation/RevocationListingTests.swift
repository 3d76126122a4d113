import Foundation
import SPIFFE
import Testing

@testable import Server

/// The published list of revocations, kept in order as credentials are revoked and expire.
@Suite("Revocation listing")
struct RevocationListingTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func credential(_ serial: String, at offset: TimeInterval, kind: IssuedSVIDRecord.Kind = .x509, issuer: String? = "ca-1", expiresIn: TimeInterval = 3600) throws -> RevokedCredential {
        RevokedCredential(
            serialNumber: serial, kind: kind, spiffeID: try SPIFFEID("spiffe://example.org/w/\(serial)"), expiresAt: now.addingTimeInterval(expiresIn),
            revokedAt: now.addingTimeInterval(offset), issuerKeyID: issuer)
    }

    @Test("credentials are listed by revocation time, then serial number, however they arrive; wire form and CRL entries follow")
    func order() throws {
        var listing = RevocationListing()
        listing.add([try credential("0b", at: 1), try credential("0a", at: 1), try credential("01", at: 0)])
        listing.add([try credential("0c", at: 2)])
        #expect(listing.items.map(\.credential.serialNumber) == ["01", "0a", "0b", "0c"])
        // Older than the newest (the clock stepped back): still in order.
        listing.add([try credential("00", at: -5), try credential("0d", at: 3)])
        #expect(listing.items.map(\.credential.serialNumber) == ["00", "01", "0a", "0b", "0c", "0d"])
        #expect(listing.wire.map(\.serialNumber) == listing.items.map(\.credential.serialNumber))
        #expect(listing.credentials.map(\.serialNumber) == listing.items.map(\.credential.serialNumber))
    }

    @Test("each CA's CRL lists what it signed and what has no known CA; JWT-SVIDs and non-hex serials never")
    func crlEntries() throws {
        var listing = RevocationListing()
        listing.add([
            try credential("01", at: 0, issuer: "ca-1"), try credential("02", at: 1, issuer: "ca-2"), try credential("03", at: 2, issuer: nil),
            try credential("jwt", at: 3, kind: .jwt, issuer: nil), try credential("zz", at: 4, issuer: nil),
        ])
        #expect(listing.crlEntries(issuerKeyID: "ca-1").map(\.serialNumber.bytes) == [[0x01], [0x03]])
        #expect(listing.crlEntries(issuerKeyID: "ca-2").map(\.serialNumber.bytes) == [[0x02], [0x03]])
        #expect(listing.crlEntries(issuerKeyID: "ca-1").first?.revocationDate == now)
    }

    @Test("expired credentials are dropped from the list and its wire form")
    func removal() throws {
        var listing = RevocationListing()
        listing.add([try credential("01", at: 0, expiresIn: 10), try credential("02", at: 1), try credential("03", at: 2, expiresIn: 5)])
        listing.remove { $0.expiresAt <= now.addingTimeInterval(10) }
        #expect(listing.items.map(\.credential.serialNumber) == ["02"])
        #expect(listing.wire.map(\.serialNumber) == ["02"])
    }

    @Test("what was listed after a version: the newest additions, in order, also after a clock step back re-sorted the list")
    func addedAfter() throws {
        var listing = RevocationListing()
        #expect(listing.version == 0 && listing.wire(addedAfter: 0).isEmpty)
        listing.add([try credential("01", at: 0), try credential("02", at: 1)])
        let first = listing.version
        listing.add([try credential("03", at: 2)])
        let second = listing.version
        #expect(listing.wire(addedAfter: 0).map(\.serialNumber) == ["01", "02", "03"])
        #expect(listing.wire(addedAfter: first).map(\.serialNumber) == ["03"])
        #expect(listing.wire(addedAfter: second).isEmpty)
        // Revoked "before" what is listed (the clock stepped back): sorted in among them, still found.
        listing.add([try credential("00", at: -5), try credential("04", at: 3)])
        #expect(listing.items.map(\.credential.serialNumber) == ["00", "01", "02", "03", "04"])
        #expect(listing.wire(addedAfter: second).map(\.serialNumber) == ["00", "04"])
        #expect(listing.wire(addedAfter: first).map(\.serialNumber) == ["00", "03", "04"])
        // Expiries are no addition: the version stays.
        let third = listing.version
        listing.remove { $0.serialNumber == "03" }
        #expect(listing.version == third && listing.wire(addedAfter: third).isEmpty)
    }
}
