import Foundation

/// A signing key of the server, X.509 CA or JWT, with its place in the rotation.
public struct AuthorityRecord: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Codable { case x509, jwt }

    /// `prepared` keys are published in the bundle but do not sign yet; `active` keys sign;
    /// `retired` keys no longer sign but stay in the bundle until what they signed has expired.
    public enum State: String, Sendable, Codable { case prepared, active, retired }

    public var id: String
    public var kind: Kind
    /// PKCS#8 PEM of the private key.
    public var privateKeyPEM: String
    /// The CA certificate (DER) for X.509 authorities; empty for JWT.
    public var certificateDER: [UInt8]
    /// The JWT key ID; empty for X.509.
    public var keyID: String
    public var notBefore: Date
    public var notAfter: Date
    public var state: State
    public var createdAt: Date

    public init(
        id: String = UUID().uuidString.lowercased(), kind: Kind, privateKeyPEM: String, certificateDER: [UInt8] = [], keyID: String = "",
        notBefore: Date, notAfter: Date, state: State, createdAt: Date = Date()
    ) {
        self.id = id
        self.kind = kind
        self.privateKeyPEM = privateKeyPEM
        self.certificateDER = certificateDER
        self.keyID = keyID
        self.notBefore = notBefore
        self.notAfter = notAfter
        self.state = state
        self.createdAt = createdAt
    }
}
