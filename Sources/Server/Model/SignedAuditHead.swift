import Foundation

/// A signed statement of the audit chain's head: "record `sequence` has hash `hash`", signed at
/// `signedAt` by the server's X.509 CA key (the certificate is kept with it, so a head signed by
/// a CA that has since rotated still verifies).
///
/// The signature covers the UTF-8 bytes of
///
/// ```
/// matryoshka-audit-head-v1 LF <sequence in decimal> LF <hash> LF <signedAt, integer ms since 1970>
/// ```
///
/// made with the algorithm the certificate's key implies (ECDSA with SHA-256/384 for P-256/384,
/// RSA PKCS#1 v1.5 with SHA-256), the signature in its X.509 encoding (DER ECDSA-Sig-Value).
public struct SignedAuditHead: Sendable, Hashable, Codable {
    /// The audit record the head covers (the `audit.head.sign` record written with it).
    public var sequence: Int64
    /// That record's hash.
    public var hash: String
    public var signedAt: Date
    public var signature: [UInt8]
    /// DER of the CA certificate whose key signed it.
    public var certificateDER: [UInt8]
    /// The CA's key ID (hex SHA-256 of its subject key identifier), for display.
    public var keyID: String

    public init(sequence: Int64, hash: String, signedAt: Date, signature: [UInt8], certificateDER: [UInt8], keyID: String) {
        self.sequence = sequence
        self.hash = hash
        self.signedAt = signedAt
        self.signature = signature
        self.certificateDER = certificateDER
        self.keyID = keyID
    }

    /// The bytes the signature covers.
    public static func signedBytes(sequence: Int64, hash: String, signedAt: Date) -> [UInt8] {
        Array("matryoshka-audit-head-v1\n\(sequence)\n\(hash)\n\(StoredTime.milliseconds(signedAt))".utf8)
    }

    public var signedBytes: [UInt8] { Self.signedBytes(sequence: sequence, hash: hash, signedAt: signedAt) }
}

/// What signs audit chain heads: the certificate (DER) and key ID to store with the head, and a
/// function that signs bytes with its key. Called inside the datastore's write transaction, so
/// it must be quick and must not touch the datastore.
public struct AuditHeadSigner: Sendable {
    public var certificateDER: [UInt8]
    public var keyID: String
    public var sign: @Sendable ([UInt8]) throws -> [UInt8]

    public init(certificateDER: [UInt8], keyID: String, sign: @escaping @Sendable ([UInt8]) throws -> [UInt8]) {
        self.certificateDER = certificateDER
        self.keyID = keyID
        self.sign = sign
    }
}
