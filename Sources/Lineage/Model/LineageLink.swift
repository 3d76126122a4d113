import Foundation
import X509

/// One layer in a chain of custody: who this layer is, which key it holds, how the layer around
/// it attested it, for how long, and the signature of the layer around it.
///
/// The signed part is ``LineageLink/Content``, encoded in DER; the signature is made by the
/// parent layer's SVID key (for the first link, by the trust domain's CA) over that DER, which
/// includes the SHA-256 of the previous link.
public struct LineageLink: Sendable, Hashable {
    /// What the parent layer vouches for.
    public struct Content: Sendable, Hashable {
        /// Encoding version; 1.
        public var version: Int
        /// The identity of this layer.
        public var spiffeID: String
        /// SubjectPublicKeyInfo (DER) of this layer's SVID key; empty for the last link of a
        /// JWT-SVID, which has no key.
        public var publicKey: [UInt8]
        /// How the parent attested this layer: `join_token`, `tpm`, `x509pop`, `unix`, `exec`, …
        public var attestor: String
        /// The selectors that matched, e.g. `unix:uid:1000`, `unix:sha256:…`.
        public var selectors: [String]
        /// Seconds since the epoch.
        public var issuedAt: Int64
        /// Seconds since the epoch; never after the parent link's.
        public var expiresAt: Int64
        /// First link only: the TPM quote binding this layer's key, or the server's statement.
        public var evidence: [UInt8]
        /// SHA-256 of the previous link's DER; empty for the first link.
        public var previousLinkHash: [UInt8]

        public init(
            spiffeID: String, publicKey: [UInt8], attestor: String, selectors: [String],
            issuedAt: Int64, expiresAt: Int64, evidence: [UInt8] = [], previousLinkHash: [UInt8] = [], version: Int = 1
        ) {
            self.version = version
            self.spiffeID = spiffeID
            self.publicKey = publicKey
            self.attestor = attestor
            self.selectors = selectors
            self.issuedAt = issuedAt
            self.expiresAt = expiresAt
            self.evidence = evidence
            self.previousLinkHash = previousLinkHash
        }
    }

    public var content: Content
    /// The parent layer's signature over the DER of ``content``.
    public var signature: [UInt8]

    public init(content: Content, signature: [UInt8]) {
        self.content = content
        self.signature = signature
    }

    public var spiffeID: String { content.spiffeID }
    public var issuedAt: Date { Date(timeIntervalSince1970: TimeInterval(content.issuedAt)) }
    public var expiresAt: Date { Date(timeIntervalSince1970: TimeInterval(content.expiresAt)) }

    /// This link's public key, if it has one.
    public func publicKey() throws(LineageError) -> Certificate.PublicKey? {
        guard !content.publicKey.isEmpty else { return nil }
        do {
            return try Certificate.PublicKey(derEncoded: content.publicKey)
        } catch {
            throw .malformed("link for \(content.spiffeID) has an unreadable public key")
        }
    }
}
