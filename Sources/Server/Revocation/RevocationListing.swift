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
        /// The ``RevocationListing/version`` that listed it.
        var version: UInt64
    }

    private(set) var items: [Item] = []
    /// `items` in wire form, in the same order (what sync streams send).
    private(set) var wire: [Matryoshka_V1_RevokedCredential] = []
    /// Counts the additions: a stream that sent version `v` sends next only the items listed
    /// after it (``wire(addedAfter:)``). Expiries do not count: agents drop expired revocations
    /// themselves.
    private(set) var version: UInt64 = 0

    var credentials: [RevokedCredential] { items.map(\.credential) }

    /// Lists `credentials` (none of them listed already). Revocations come in time order, so they
    /// are appended; one older than the newest listed (a clock step back) re-sorts the list.
    mutating func add(_ credentials: [RevokedCredential]) {
        guard !credentials.isEmpty else { return }
        version += 1
        let batch = credentials.sorted(by: Self.publishedBefore).map { [version] credential in
            Item(credential: credential, crlEntry: credential.kind == .x509 ? Revocation.entry(credential) : nil, version: version)
        }
        if let last = items.last, let first = batch.first, Self.publishedBefore(first.credential, last.credential) {
            items = (items + batch).sorted { Self.publishedBefore($0.credential, $1.credential) }
            wire = items.map(\.credential.wire)
        } else {
            items += batch
            wire += batch.map(\.credential.wire)
        }
    }

    /// The wire form of the items listed after `version` (all of them for 0), in listing order.
    func wire(addedAfter version: UInt64) -> [Matryoshka_V1_RevokedCredential] {
        guard version > 0 else { return wire }
        guard version < self.version else { return [] }
        // Newly listed items are at the end unless a clock step back re-sorted the list.
        var start = items.endIndex
        while start > items.startIndex, items[start - 1].version > version { start -= 1 }
        if !items[..<start].contains(where: { $0.version > version }) { return Array(wire[start...]) }
        return zip(items, wire).compactMap { $0.version > version ? $1 : nil }
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
