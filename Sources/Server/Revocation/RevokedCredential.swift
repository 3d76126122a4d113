import Foundation
import SPIFFE

/// A credential revoked before its expiry: what CRLs list, agents drop and callers are refused for.
public struct RevokedCredential: Sendable, Hashable, Codable {
    /// Hex serial number of an X509-SVID, or the token ID of a JWT-SVID.
    public var serialNumber: String
    public var kind: IssuedSVIDRecord.Kind
    public var spiffeID: SPIFFEID
    public var expiresAt: Date
    public var revokedAt: Date
    /// Hex SHA-256 of its public key; nil for JWT-SVIDs. Lineages passing through this key
    /// descend from a revoked layer.
    public var publicKeyHash: String?
    /// Hex subject key identifier of the CA that signed it; nil if unknown (then every CRL lists it).
    public var issuerKeyID: String?
    public var reason: String
    public var revokedBy: String

    public init(
        serialNumber: String, kind: IssuedSVIDRecord.Kind, spiffeID: SPIFFEID, expiresAt: Date, revokedAt: Date,
        publicKeyHash: String? = nil, issuerKeyID: String? = nil, reason: String = "", revokedBy: String = ""
    ) {
        self.serialNumber = serialNumber
        self.kind = kind
        self.spiffeID = spiffeID
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
        self.publicKeyHash = publicKeyHash
        self.issuerKeyID = issuerKeyID
        self.reason = reason
        self.revokedBy = revokedBy
    }

    /// The revocation recorded in `record`; nil when it is not revoked.
    public init?(_ record: IssuedSVIDRecord) {
        guard let revokedAt = record.revokedAt else { return nil }
        self.init(
            serialNumber: record.serialNumber, kind: record.kind, spiffeID: record.spiffeID, expiresAt: record.expiresAt,
            revokedAt: revokedAt, publicKeyHash: record.publicKeyHash, issuerKeyID: record.issuerKeyID,
            reason: record.revocationReason ?? "", revokedBy: record.revokedBy ?? "")
    }

    /// The wire form (node and admin APIs).
    public var wire: Matryoshka_V1_RevokedCredential {
        Matryoshka_V1_RevokedCredential.with {
            $0.serialNumber = serialNumber
            $0.spiffeID = spiffeID.description
            $0.expiresAt = Int64(expiresAt.timeIntervalSince1970)
            $0.revokedAt = Int64(revokedAt.timeIntervalSince1970)
            $0.publicKeyHash = publicKeyHash ?? ""
            $0.reason = reason
        }
    }
}
