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

    public init(
        serialNumber: String, kind: Kind, spiffeID: SPIFFEID, entryID: String?, requestedBy: SPIFFEID?,
        issuedAt: Date, expiresAt: Date, revokedAt: Date? = nil
    ) {
        self.serialNumber = serialNumber
        self.kind = kind
        self.spiffeID = spiffeID
        self.entryID = entryID
        self.requestedBy = requestedBy
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
    }
}
