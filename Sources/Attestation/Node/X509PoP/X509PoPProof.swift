import Crypto
import SPIFFE
import SwiftASN1
import X509
import _CryptoExtras

/// How a node key signs an x509pop proof: fixed by the key type, never chosen by the signer.
public enum X509PoPSignatureScheme: String, Sendable, Hashable, CaseIterable {
    /// ECDSA with SHA-256, for P-256 keys.
    case ecdsaP256SHA256 = "ecdsa-p256-sha256"
    /// ECDSA with SHA-384, for P-384 keys.
    case ecdsaP384SHA384 = "ecdsa-p384-sha384"
    /// ECDSA with SHA-512, for P-521 keys.
    case ecdsaP521SHA512 = "ecdsa-p521-sha512"
    /// RSA PKCS#1 v1.5 with SHA-256 (what swift-certificates signs and verifies for RSA keys).
    case rsaPKCS1SHA256 = "rsa-pkcs1-sha256"
    /// Ed25519, for Ed25519 keys.
    case ed25519

    /// The scheme a key's type implies.
    public init?(key: Certificate.PublicKey) {
        if P256.Signing.PublicKey(key) != nil {
            self = .ecdsaP256SHA256
        } else if P384.Signing.PublicKey(key) != nil {
            self = .ecdsaP384SHA384
        } else if P521.Signing.PublicKey(key) != nil {
            self = .ecdsaP521SHA512
        } else if _RSA.Signing.PublicKey(key) != nil {
            self = .rsaPKCS1SHA256
        } else if Curve25519.Signing.PublicKey(key) != nil {
            self = .ed25519
        } else {
            return nil
        }
    }

    /// The swift-certificates algorithm of the scheme.
    public var algorithm: Certificate.SignatureAlgorithm {
        switch self {
        case .ecdsaP256SHA256: return .ecdsaWithSHA256
        case .ecdsaP384SHA384: return .ecdsaWithSHA384
        case .ecdsaP521SHA512: return .ecdsaWithSHA512
        case .rsaPKCS1SHA256: return .sha256WithRSAEncryption
        case .ed25519: return .ed25519
        }
    }
}

/// The x509pop proof of possession: what the node key signs, and the checks of it.
public enum X509PoPProof {
    /// The domain-separation label: a signature made for x509pop is no signature over anything else.
    public static let label = "matryoshka/x509pop/v1"

    /// The bytes the node key signs:
    ///
    /// `"matryoshka/x509pop/v1" ‖ 0x00 ‖ uint32be(len(nonce)) ‖ nonce ‖ SHA-256(DER SPKI of agentKey)`
    ///
    /// The nonce is the server's; `agentKey` is the key the agent SVID is (to be) issued for, so a
    /// proof captured on the wire cannot be replayed for another attestation or another key.
    public static func signedBytes(nonce: [UInt8], agentKey: Certificate.PublicKey) throws(NodeAttestationError) -> [UInt8] {
        signedBytes(nonce: nonce, agentKeySHA256: try agentKeyDigest(agentKey))
    }

    /// ``signedBytes(nonce:agentKey:)`` from the agent key's digest.
    public static func signedBytes(nonce: [UInt8], agentKeySHA256: [UInt8]) -> [UInt8] {
        Array(label.utf8) + [0] + UInt32(truncatingIfNeeded: nonce.count).bigEndianBytes + nonce + agentKeySHA256
    }

    /// SHA-256 of the DER `SubjectPublicKeyInfo` of `key`.
    public static func agentKeyDigest(_ key: Certificate.PublicKey) throws(NodeAttestationError) -> [UInt8] {
        var serializer = DER.Serializer()
        do {
            try serializer.serialize(key)
        } catch {
            throw NodeAttestationError("cannot encode the agent key: \(error)")
        }
        return Array(SHA256.hash(data: serializer.serializedBytes))
    }

    /// SHA-256 hex (lowercase, no colons) of a certificate's DER: x509pop's fingerprint, as
    /// `openssl x509 -outform DER | sha256sum` prints it.
    public static func fingerprint(_ certificate: Certificate) throws(NodeAttestationError) -> String {
        var serializer = DER.Serializer()
        do {
            try serializer.serialize(certificate)
        } catch {
            throw NodeAttestationError("cannot encode a certificate: \(error)")
        }
        return fingerprint(der: serializer.serializedBytes)
    }

    /// SHA-256 hex of DER bytes.
    public static func fingerprint(der: [UInt8]) -> String {
        hex(Array(SHA256.hash(data: der)))
    }

    /// Lowercase hex of bytes.
    public static func hex(_ bytes: [UInt8]) -> String {
        Hex.encode(bytes)
    }

    /// Signs the proof for `nonce` and `agentKey` with the node key, by `scheme` (which must be the
    /// node key's own).
    public static func sign(
        nonce: [UInt8], agentKey: Certificate.PublicKey, with nodeKey: Certificate.PrivateKey, scheme: X509PoPSignatureScheme
    ) throws(NodeAttestationError) -> X509PoPNodeAttestation.Answer {
        guard let own = X509PoPSignatureScheme(key: nodeKey.publicKey) else {
            throw NodeAttestationError("x509pop: the node key's type (\(nodeKey.publicKey)) cannot sign proofs; use an EC (P-256, P-384, P-521), RSA or Ed25519 key")
        }
        guard own == scheme else {
            throw NodeAttestationError("x509pop: the server asked for a \(scheme.rawValue) signature, but the node key signs \(own.rawValue) (is the certificate for this key?)")
        }
        let digest = try agentKeyDigest(agentKey)
        do {
            let signature = try nodeKey.sign(bytes: signedBytes(nonce: nonce, agentKeySHA256: digest), signatureAlgorithm: scheme.algorithm)
            return X509PoPNodeAttestation.Answer(nonce: nonce, agentKeySHA256: digest, signature: signature.rawRepresentation)
        } catch {
            throw NodeAttestationError("x509pop: cannot sign with the node key: \(error)")
        }
    }

    /// Checks an answer against what the server asked: its own `nonce`, the `agentKey` it expects,
    /// the `scheme` of the node certificate's key. Throws a message naming what did not match.
    public static func verify(
        _ answer: X509PoPNodeAttestation.Answer, nonce: [UInt8], agentKey: Certificate.PublicKey,
        nodeKey: Certificate.PublicKey, scheme: X509PoPSignatureScheme
    ) throws(NodeAttestationError) {
        guard Array(answer.nonce) == nonce else {
            throw NodeAttestationError("x509pop proof refused: stale or wrong nonce (the answer is not for this attestation's challenge)")
        }
        let digest = try agentKeyDigest(agentKey)
        guard Array(answer.agentKeySHA256) == digest else {
            throw NodeAttestationError("x509pop proof refused: the signature is bound to another agent key, not the key this agent presents")
        }
        // Verified over what the server computed itself, never over what the answer echoes.
        guard nodeKey.isValidSignature(Array(answer.signature), for: signedBytes(nonce: nonce, agentKeySHA256: digest), signatureAlgorithm: scheme.algorithm) else {
            throw NodeAttestationError("x509pop proof refused: the signature does not verify with the node certificate's key (\(scheme.rawValue)); the agent does not hold the certificate's private key")
        }
    }
}

extension UInt32 {
    fileprivate var bigEndianBytes: [UInt8] {
        [UInt8(truncatingIfNeeded: self >> 24), UInt8(truncatingIfNeeded: self >> 16), UInt8(truncatingIfNeeded: self >> 8), UInt8(truncatingIfNeeded: self)]
    }
}
