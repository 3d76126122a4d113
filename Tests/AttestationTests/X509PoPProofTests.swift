import Attestation
import Crypto
import Foundation
import Testing
import X509
import _CryptoExtras

/// What an x509pop proof signs, and the agent-side refusals that need no server.
@Suite("x509pop proof")
struct X509PoPProofTests {
    @Test func signedBytesAreLabelNonceAndAgentKeyDigest() throws {
        let agent = P256.Signing.PrivateKey()
        let nonce = Array(repeating: UInt8(0xab), count: 32)
        let bytes = try X509PoPProof.signedBytes(nonce: nonce, agentKey: Certificate.PublicKey(agent.publicKey))
        // The SPKI digest computed independently, from swift-crypto's own DER SubjectPublicKeyInfo.
        let spkiDigest = Array(SHA256.hash(data: agent.publicKey.derRepresentation))
        #expect(bytes == Array("matryoshka/x509pop/v1".utf8) + [0, 0, 0, 0, 32] + nonce + spkiDigest)
    }

    @Test func schemesFollowTheKeyType() throws {
        #expect(X509PoPSignatureScheme(key: Certificate.PublicKey(P256.Signing.PrivateKey().publicKey)) == .ecdsaP256SHA256)
        #expect(X509PoPSignatureScheme(key: Certificate.PublicKey(P384.Signing.PrivateKey().publicKey)) == .ecdsaP384SHA384)
        #expect(X509PoPSignatureScheme(key: Certificate.PublicKey(P521.Signing.PrivateKey().publicKey)) == .ecdsaP521SHA512)
        #expect(X509PoPSignatureScheme(key: Certificate.PublicKey(try _RSA.Signing.PrivateKey(keySize: .bits2048).publicKey)) == .rsaPKCS1SHA256)
        #expect(X509PoPSignatureScheme(key: Certificate.PublicKey(Curve25519.Signing.PrivateKey().publicKey)) == .ed25519)
    }

    @Test(arguments: [0, 1, 2, 3])
    func signsAndVerifiesForEveryKeyType(_ kind: Int) throws {
        let node: Certificate.PrivateKey = switch kind {
        case 0: Certificate.PrivateKey(P256.Signing.PrivateKey())
        case 1: Certificate.PrivateKey(P384.Signing.PrivateKey())
        case 2: Certificate.PrivateKey(try _RSA.Signing.PrivateKey(keySize: .bits2048))
        default: Certificate.PrivateKey(Curve25519.Signing.PrivateKey())
        }
        let scheme = try #require(X509PoPSignatureScheme(key: node.publicKey))
        let agentKey = Certificate.PublicKey(P256.Signing.PrivateKey().publicKey)
        let nonce = (0..<32).map { UInt8($0) }
        let answer = try X509PoPProof.sign(nonce: nonce, agentKey: agentKey, with: node, scheme: scheme)
        try X509PoPProof.verify(answer, nonce: nonce, agentKey: agentKey, nodeKey: node.publicKey, scheme: scheme)
        #expect(throws: NodeAttestationError(
            "x509pop proof refused: the signature does not verify with the node certificate's key (\(scheme.rawValue)); the agent does not hold the certificate's private key")) {
            let other = Certificate.PrivateKey(P256.Signing.PrivateKey())
            try X509PoPProof.verify(answer, nonce: nonce, agentKey: agentKey, nodeKey: other.publicKey, scheme: scheme)
        }
    }

    @Test func aNodeKeyRefusesASchemeItDoesNotSign() {
        let node = Certificate.PrivateKey(P256.Signing.PrivateKey())
        let agentKey = Certificate.PublicKey(P256.Signing.PrivateKey().publicKey)
        #expect(throws: NodeAttestationError(
            "x509pop: the server asked for a rsa-pkcs1-sha256 signature, but the node key signs ecdsa-p256-sha256 (is the certificate for this key?)")) {
            try X509PoPProof.sign(nonce: Array(repeating: 1, count: 32), agentKey: agentKey, with: node, scheme: .rsaPKCS1SHA256)
        }
    }
}
