import Authority
import Foundation

/// The unexpired revoked credentials in the order they are published (by revocation time, then
/// serial number), with each one's wire form and CRL entry made once, when it is revoked: a
/// change re-signs CRLs listing thousands, and converting and sorting them all again for every
/// change cost more than signing.
struct RevocationListing: Sendable {
    /// One listed credential, ready to publish.
    struct Item: Sendable {
        var credential: RevokedCredential
        /// Nil for JWT-SVIDs and for a serial number that is not hex (never in a CRL).
        var crlEntry: CertificateRevocationList.Entry?
    }

    private(set) var items: [Item] = []
    /// `items` in wire form, in the same order (what sync streams send).
    private(set) var wire: [Matryoshka_V1_RevokedCredential] = []

    var credentials: [RevokedCredential] { items.map(\.credential) }

    /// Lists `credentials` (none of them listed already). Revocations come in time order, so they
    /// are appended; one older than the newest listed (a clock step back) re-sorts the list.
    mutating func add(_ credentials: [RevokedCredential]) {
        guard !credentials.isEmpty else { return }
        let batch = credentials.sorted(by: Self.publishedBefore).map { credential in
            Item(credential: credential, crlEntry: credential.kind == .x509 ? Revocation.entry(credential) : nil)
        }
        if let last = items.last, let first = batch.first, Self.publishedBefore(first.credential, last.credential) {
            items = (items + batch).sorted { Self.publishedBefore($0.credential, $1.credential) }
            wire = items.map(\.credential.wire)
        } else {
            items += batch
            wire += batch.map(\.credential.wire)
        }
    }

    /// Drops the credentials `isDropped` says to (expired ones).
    mutating func remove(where isDropped: (RevokedCredential) -> Bool) {
        let before = items.count
        items.removeAll { isDropped($0.credential) }
        if items.count != before { wire = items.map(\.credential.wire) }
    }

    /// The CRL entries of the X509-SVIDs the CA with this hex key identifier signed (and of those
    /// whose CA is unknown), in order.
    func crlEntries(issuerKeyID keyID: String) -> [CertificateRevocationList.Entry] {
        items.compactMap { item in
            guard let entry = item.crlEntry, item.credential.issuerKeyID == nil || item.credential.issuerKeyID == keyID else { return nil }
            return entry
        }
    }

    static func publishedBefore(_ a: RevokedCredential, _ b: RevokedCredential) -> Bool {
        (a.revokedAt, a.serialNumber) < (b.revokedAt, b.serialNumber)
    }
}
