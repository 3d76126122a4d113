import Attestation
import Foundation
import Synchronization
import X509

/// The agent side of x509pop node attestation (`x509pop`; see ``X509PoPNodeAttestation``): sends
/// the node certificate chain and signs the server's nonces, bound to the agent's SVID key, with
/// the certificate's private key.
final class X509PoPAttestorClient: NodeReattestorClient {
    let credentials: X509PoPCredentials
    private let agentKey = Mutex<Certificate.PublicKey?>(nil)

    init(credentials: X509PoPCredentials) {
        self.credentials = credentials
    }

    /// Reads the chain and key files (see ``X509PoPCredentials/load(certificatePath:keyPath:)``).
    convenience init(certificatePath: String, keyPath: String) throws(NodeAttestationError) {
        self.init(credentials: try X509PoPCredentials.load(certificatePath: certificatePath, keyPath: keyPath))
    }

    var type: String { X509PoPNodeAttestation.type }

    func payload(agentKey: Certificate.PublicKey) async throws(NodeAttestationError) -> [UInt8] {
        self.agentKey.withLock { $0 = agentKey }
        return try X509PoPNodeAttestation.encode(X509PoPNodeAttestation.Payload(certificates: credentials.chainDER.map { Data($0) }))
    }

    func respond(to challenge: [UInt8]) async throws(NodeAttestationError) -> [UInt8] {
        guard let agentKey = agentKey.withLock({ $0 }) else { throw NodeAttestationError("x509pop challenge before the attestation payload") }
        return try answer(challenge, agentKey: agentKey)
    }

    func respondToReattestation(_ challenge: [UInt8], agentKey: Certificate.PublicKey) async throws(NodeAttestationError) -> [UInt8] {
        try answer(challenge, agentKey: agentKey)
    }

    /// Signs the challenge's nonce, bound to `agentKey`, with the node key.
    private func answer(_ challenge: [UInt8], agentKey: Certificate.PublicKey) throws(NodeAttestationError) -> [UInt8] {
        let message = try X509PoPNodeAttestation.decode(X509PoPNodeAttestation.Challenge.self, from: challenge, what: "challenge")
        guard message.nonce.count >= 16, message.nonce.count <= 1024 else {
            throw NodeAttestationError("x509pop: the server's nonce has \(message.nonce.count) bytes; refusing to sign it")
        }
        guard let scheme = X509PoPSignatureScheme(rawValue: message.signatureScheme) else {
            throw NodeAttestationError("x509pop: the server asked for an unknown signature scheme '\(message.signatureScheme)'")
        }
        return try X509PoPNodeAttestation.encode(
            X509PoPProof.sign(nonce: Array(message.nonce), agentKey: agentKey, with: credentials.key, scheme: scheme))
    }
}
