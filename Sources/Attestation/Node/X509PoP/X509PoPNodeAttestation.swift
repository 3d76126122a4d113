import Foundation

/// The messages of x509pop node attestation (`x509pop`: proof of possession of the private key of
/// a certificate the node was provisioned with), shared by the server's attestor and the agent's
/// client. Each is JSON (bytes as base64), carried in the node API's `payload`, `challenge` and
/// `challenge_response` fields.
///
/// 1. Agent → server, payload: ``Payload`` — the node certificate chain (DER, leaf first).
/// 2. Server → agent: ``Challenge`` — a fresh nonce and the signature scheme the leaf's key type
///    implies. Agent → server: ``Answer`` — a signature by the leaf's key over
///    ``X509PoPProof/signedBytes(nonce:agentKey:)``, which binds the nonce to the SPKI of the
///    agent's new SVID key, so a captured answer proves nothing for another nonce or key.
///
/// Continuous attestation (`Node.Reattest`, authenticated by the agent SVID) is step 2 alone: the
/// server re-verifies the chain recorded in the evidence of the SVID's first lineage link against
/// its CA bundle, then asks for a fresh proof bound to the SVID's current key.
public enum X509PoPNodeAttestation {
    /// The attestation type on the wire.
    public static let type = "x509pop"

    /// The most intermediate certificates a payload may carry (as SPIRE's default).
    public static let maximumIntermediates = 4

    /// The largest message accepted, in bytes.
    public static let maximumMessageSize = 64 * 1024

    /// What the agent sends first.
    public struct Payload: Codable, Sendable, Hashable {
        /// DER certificates: the node's certificate first, then intermediates towards a CA of the
        /// server's x509pop bundle (the root may be left out).
        public var certificates: [Data]

        public init(certificates: [Data]) { self.certificates = certificates }
    }

    /// The server's question.
    public struct Challenge: Codable, Sendable, Hashable {
        /// A fresh random nonce (32 bytes).
        public var nonce: Data
        /// The scheme the server will verify with (``X509PoPSignatureScheme``'s raw value).
        public var signatureScheme: String

        public init(nonce: [UInt8], signatureScheme: X509PoPSignatureScheme) {
            self.nonce = Data(nonce)
            self.signatureScheme = signatureScheme.rawValue
        }

        enum CodingKeys: String, CodingKey { case nonce, signatureScheme = "signature_scheme" }
    }

    /// The agent's answer.
    public struct Answer: Codable, Sendable, Hashable {
        /// The nonce the agent signed (echoed so a stale nonce is reported as such; the server
        /// verifies against its own nonce, never this one).
        public var nonce: Data
        /// SHA-256 of the DER SPKI of the agent key the signature is bound to (echoed likewise).
        public var agentKeySHA256: Data
        /// The signature over ``X509PoPProof/signedBytes(nonce:agentKey:)``.
        public var signature: Data

        public init(nonce: [UInt8], agentKeySHA256: [UInt8], signature: [UInt8]) {
            self.nonce = Data(nonce)
            self.agentKeySHA256 = Data(agentKeySHA256)
            self.signature = Data(signature)
        }

        enum CodingKeys: String, CodingKey { case nonce, agentKeySHA256 = "agent_key_sha256", signature }
    }

    /// What the server keeps of a successful x509pop attestation, in the first lineage link's
    /// `evidence`: the chain the node presented and its proof, so anyone can re-check offline that
    /// the certificate's key signed the nonce bound to the link's public key, and the server can
    /// re-verify the chain (expiry, trust) at each re-attestation.
    public struct Evidence: Codable, Sendable, Hashable {
        /// The format: `matryoshka/x509pop-evidence/v1`.
        public var format: String
        /// SHA-256 hex of the leaf's DER: the agent's identity.
        public var fingerprint: String
        /// The chain as presented (DER, leaf first).
        public var certificates: [Data]
        /// The nonce the server sent.
        public var nonce: Data
        /// The scheme of ``signature``.
        public var signatureScheme: String
        /// The leaf key's signature over ``X509PoPProof/signedBytes(nonce:agentKey:)``.
        public var signature: Data

        public static let currentFormat = "matryoshka/x509pop-evidence/v1"

        public init(fingerprint: String, certificates: [Data], nonce: [UInt8], signatureScheme: X509PoPSignatureScheme, signature: [UInt8]) {
            self.format = Self.currentFormat
            self.fingerprint = fingerprint
            self.certificates = certificates
            self.nonce = Data(nonce)
            self.signatureScheme = signatureScheme.rawValue
            self.signature = Data(signature)
        }

        enum CodingKeys: String, CodingKey {
            case format, fingerprint, certificates, nonce, signatureScheme = "signature_scheme", signature
        }
    }

    static let codec = AttestationMessageCodec(method: "x509pop", maximumMessageSize: maximumMessageSize)

    /// Canonical JSON (sorted keys) of a message.
    public static func encode(_ value: some Encodable) throws(NodeAttestationError) -> [UInt8] {
        try codec.encode(value)
    }

    /// Decodes a message; `what` names it in the error.
    public static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8], what: String) throws(NodeAttestationError) -> T {
        try codec.decode(type, from: bytes, what: what)
    }
}
