import Attestation
import Authority
import Foundation
import SPIFFE
import SwiftASN1
import X509

/// A small provisioning PKI built with swift-certificates: CAs and node certificates with the
/// properties each x509pop test needs.
struct ProvisioningPKI {
    struct Issued {
        let certificate: Certificate
        let key: SigningKey
        var der: [UInt8] { CertificateEncoding.der(certificate) }
    }

    /// A self-signed root CA.
    static func root(_ name: String, key: KeyAlgorithm = .ecP256) throws -> Issued {
        let key = try SigningKey(generating: key)
        let subject = try DistinguishedName { CommonName(name) }
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: key.publicKey,
            notValidBefore: Date().addingTimeInterval(-3600), notValidAfter: Date().addingTimeInterval(86400),
            issuer: subject, subject: subject, signatureAlgorithm: key.signatureAlgorithm,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            },
            issuerPrivateKey: key.certificatePrivateKey)
        return Issued(certificate: certificate, key: key)
    }

    /// An intermediate CA under `issuer`.
    static func intermediate(_ name: String, issuer: Issued) throws -> Issued {
        let key = try SigningKey(generating: .ecP256)
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: key.publicKey,
            notValidBefore: Date().addingTimeInterval(-3600), notValidAfter: Date().addingTimeInterval(86400),
            issuer: issuer.certificate.subject, subject: try DistinguishedName { CommonName(name) },
            signatureAlgorithm: issuer.key.signatureAlgorithm,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            },
            issuerPrivateKey: issuer.key.certificatePrivateKey)
        return Issued(certificate: certificate, key: key)
    }

    /// A node certificate under `issuer`.
    static func node(
        _ commonName: String, issuer: Issued, key: KeyAlgorithm = .ecP256, serial: [UInt8] = [0x0a, 0x1b, 0x2c],
        notBefore: Date = Date().addingTimeInterval(-3600), notAfter: Date = Date().addingTimeInterval(86400),
        keyUsage: KeyUsage = KeyUsage(digitalSignature: true), isCA: Bool = false, sans: [GeneralName] = []
    ) throws -> Issued {
        let key = try SigningKey(generating: key)
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(bytes: serial), publicKey: key.publicKey,
            notValidBefore: notBefore, notValidAfter: notAfter,
            issuer: issuer.certificate.subject, subject: try DistinguishedName { CommonName(commonName) },
            signatureAlgorithm: issuer.key.signatureAlgorithm,
            extensions: try Certificate.Extensions {
                Critical(keyUsage)
                if isCA { Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil)) }
                if !sans.isEmpty { SubjectAlternativeNames(sans) }
            },
            issuerPrivateKey: issuer.key.certificatePrivateKey)
        return Issued(certificate: certificate, key: key)
    }
}

/// A node as the agent side plays it: a chain and the key it holds, answering challenges for
/// `agentKey`.
struct PoPNode {
    let chain: [[UInt8]]
    let key: Certificate.PrivateKey

    init(_ leaf: ProvisioningPKI.Issued, intermediates: [ProvisioningPKI.Issued] = []) {
        chain = [leaf.der] + intermediates.map(\.der)
        key = leaf.key.certificatePrivateKey
    }

    init(chain: [[UInt8]], key: Certificate.PrivateKey) {
        self.chain = chain
        self.key = key
    }

    func payload() throws -> [UInt8] {
        try X509PoPNodeAttestation.encode(X509PoPNodeAttestation.Payload(certificates: chain.map { Data($0) }))
    }

    /// Signs each challenge, bound to `agentKey`.
    func honest(agentKey: Certificate.PublicKey) -> ScriptedChallenger {
        let key = key
        return ScriptedChallenger { challenge in
            try Self.answer(challenge, agentKey: agentKey, key: key)
        }
    }

    static func answer(_ challenge: [UInt8], agentKey: Certificate.PublicKey, key: Certificate.PrivateKey) throws -> [UInt8] {
        let message = try X509PoPNodeAttestation.decode(X509PoPNodeAttestation.Challenge.self, from: challenge, what: "challenge")
        guard let scheme = X509PoPSignatureScheme(rawValue: message.signatureScheme) else {
            throw NodeAttestationError("test node: unknown scheme \(message.signatureScheme)")
        }
        return try X509PoPNodeAttestation.encode(X509PoPProof.sign(nonce: Array(message.nonce), agentKey: agentKey, with: key, scheme: scheme))
    }
}

func pem(_ certificates: [Certificate]) throws -> String {
    try certificates.map { try $0.serializeAsPEM().pemString }.joined(separator: "\n") + "\n"
}
