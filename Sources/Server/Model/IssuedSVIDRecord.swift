import Foundation
import SPIFFE

/// An SVID the server signed: what, for whom, asked by whom, valid until when.
public struct IssuedSVIDRecord: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Codable { case x509, jwt }

    /// Certificate serial number (hex) for X.509; a token ID (`jti`-like, hex) for JWT.
    public var serialNumber: String
    public var kind: Kind
    public var spiffeID: SPIFFEID
    /// The entry it was issued for; nil for agent SVIDs and the server's own certificate.
    public var entryID: String?
    /// The authenticated caller that asked (the agent or nested layer).
    public var requestedBy: SPIFFEID?
    public var issuedAt: Date
    public var expiresAt: Date
    public var revokedAt: Date?
    /// Why it was revoked (operator's or layer's words); nil while not revoked.
    public var revocationReason: String?
    /// Who revoked it (`uid:1000(alice)`, a layer's SPIFFE ID, `server`); nil while not revoked.
    public var revokedBy: String?
    /// Hex subject key identifier of the CA that signed it (X509-SVIDs): which CA's CRL lists it.
    public var issuerKeyID: String?
    /// Hex SHA-256 of the credential's public key (SubjectPublicKeyInfo DER); nil for JWT-SVIDs.
    public var publicKeyHash: String?
    /// The layers the credential's lineage passes through, outermost first, itself excluded:
    /// revoking any of them revokes this credential too.
    public var ancestors: [Ancestor]

    /// A layer in a credential's lineage.
    public struct Ancestor: Sendable, Hashable, Codable {
        public var spiffeID: SPIFFEID
        /// Hex SHA-256 of the layer's public key.
        public var keyHash: String

        public init(spiffeID: SPIFFEID, keyHash: String) {
            self.spiffeID = spiffeID
            self.keyHash = keyHash
        }
    }

    public init(
        serialNumber: String, kind: Kind, spiffeID: SPIFFEID, entryID: String?, requestedBy: SPIFFEID?,
        issuedAt: Date, expiresAt: Date, revokedAt: Date? = nil, publicKeyHash: String? = nil, ancestors: [Ancestor] = [],
        issuerKeyID: String? = nil, revocationReason: String? = nil, revokedBy: String? = nil
    ) {
        self.serialNumber = serialNumber
        self.kind = kind
        self.spiffeID = spiffeID
        self.entryID = entryID
        self.requestedBy = requestedBy
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
        self.publicKeyHash = publicKeyHash
        self.ancestors = ancestors
        self.issuerKeyID = issuerKeyID
        self.revocationReason = revocationReason
        self.revokedBy = revokedBy
    }

    /// Whether it is revoked.
    public var isRevoked: Bool { revokedAt != nil }
}
