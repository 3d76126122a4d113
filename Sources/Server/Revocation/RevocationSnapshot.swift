import Authority
import Foundation

/// The published state of revocation at one moment: every unexpired revoked credential and the
/// CRLs signed for it. Sync streams send it to agents; `GET /crl` serves its CRLs.
public struct RevocationSnapshot: Sendable {
    /// What is revoked, in published order.
    var listing = RevocationListing()
    /// Unexpired revoked credentials, oldest revocation first.
    public var credentials: [RevokedCredential] { listing.credentials }
    /// One CRL per X.509 CA (prepared, active, retired), oldest CA first.
    public var crls: [CertificateRevocationList] = []
    /// The CRL of the CA that signs now.
    public var activeCRL: CertificateRevocationList?
    /// When the CRLs were signed; nil before the first signing.
    public var signedAt: Date?
    /// `credentials` in wire form, converted once per credential, when it is revoked.
    public var wireCredentials: [Matryoshka_V1_RevokedCredential] { listing.wire }
    /// Counts the revocations listed so far (``RevocationListing/version``).
    var version: UInt64 { listing.version }

    /// The wire form of the credentials listed after `version`: what a sync stream that sent
    /// `version` sends next.
    func wireCredentials(addedAfter version: UInt64) -> [Matryoshka_V1_RevokedCredential] {
        listing.wire(addedAfter: version)
    }

    public init() {}

    init(listing: RevocationListing, crls: [CertificateRevocationList], activeCRL: CertificateRevocationList?, signedAt: Date) {
        self.listing = listing
        self.crls = crls
        self.activeCRL = activeCRL
        self.signedAt = signedAt
    }

    /// Every CRL as PEM blocks (`-----BEGIN X509 CRL-----`), for `openssl verify -CRLfile`.
    public var pem: String { crls.map(\.pemEncoded).joined() }

    /// The CRLs as DER, for the Workload API `crl` fields and the sync stream.
    public var crlDER: [[UInt8]] { crls.map(\.derEncoded) }
}
