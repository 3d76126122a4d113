import Foundation
import SwiftASN1
import X509

/// A node's x509pop credentials: its certificate chain (leaf first) and the leaf's private key,
/// read from PEM files and checked to belong together.
public struct X509PoPCredentials: Sendable {
    /// The chain, leaf first.
    public let chain: [Certificate]
    /// The chain as DER, leaf first: what the payload carries.
    public let chainDER: [[UInt8]]
    /// The leaf's private key.
    public let key: Certificate.PrivateKey

    /// The node certificate.
    public var leaf: Certificate { chain[0] }

    /// Checks that `key` is the key of the chain's leaf and that the key type can sign proofs.
    public init(chain: [Certificate], key: Certificate.PrivateKey) throws(NodeAttestationError) {
        guard let leaf = chain.first else { throw NodeAttestationError("x509pop: the certificate chain is empty") }
        guard key.publicKey == leaf.publicKey else {
            throw NodeAttestationError("x509pop: the private key does not match the node certificate (\(leaf.subject)): it is the key of another certificate")
        }
        guard X509PoPSignatureScheme(key: leaf.publicKey) != nil else {
            throw NodeAttestationError("x509pop: the node certificate's key type (\(leaf.publicKey)) cannot sign proofs; use an EC (P-256, P-384, P-521), RSA or Ed25519 key")
        }
        var der: [[UInt8]] = []
        for certificate in chain {
            var serializer = DER.Serializer()
            do {
                try serializer.serialize(certificate)
            } catch {
                throw NodeAttestationError("x509pop: cannot encode certificate \(certificate.subject): \(error)")
            }
            der.append(serializer.serializedBytes)
        }
        self.chain = chain
        self.chainDER = der
        self.key = key
    }

    /// Reads the chain (PEM certificates, leaf first) and the key (PEM: PKCS#8, SEC1 EC or PKCS#1
    /// RSA). Errors name the file and what is wrong with it, in the terms of the agent's flags.
    public static func load(certificatePath: String, keyPath: String) throws(NodeAttestationError) -> X509PoPCredentials {
        let chain = try certificates(at: certificatePath)
        let key = try privateKey(at: keyPath)
        guard key.publicKey == chain[0].publicKey else {
            throw NodeAttestationError("--x509pop-key \(keyPath) does not match the certificate in --x509pop-cert \(certificatePath) (\(chain[0].subject)): it is the key of another certificate")
        }
        return try X509PoPCredentials(chain: chain, key: key)
    }

    /// The PEM certificates of a file, in order.
    public static func certificates(at path: String) throws(NodeAttestationError) -> [Certificate] {
        let text = try read(path, flag: "--x509pop-cert")
        let documents: [PEMDocument]
        do {
            documents = try PEMDocument.parseMultiple(pemString: text)
        } catch {
            throw NodeAttestationError("--x509pop-cert \(path): not a PEM file (\(error))")
        }
        var chain: [Certificate] = []
        for (index, document) in documents.enumerated() where document.discriminator == "CERTIFICATE" {
            do {
                chain.append(try Certificate(derEncoded: document.derBytes))
            } catch {
                throw NodeAttestationError("--x509pop-cert \(path): certificate #\(index + 1) is not a valid X.509 certificate: \(error)")
            }
        }
        guard !chain.isEmpty else { throw NodeAttestationError("--x509pop-cert \(path): no PEM CERTIFICATE in it") }
        return chain
    }

    /// The first PEM private key of a file.
    public static func privateKey(at path: String) throws(NodeAttestationError) -> Certificate.PrivateKey {
        let text = try read(path, flag: "--x509pop-key")
        let documents: [PEMDocument]
        do {
            documents = try PEMDocument.parseMultiple(pemString: text)
        } catch {
            throw NodeAttestationError("--x509pop-key \(path): not a PEM file (\(error))")
        }
        if documents.contains(where: { $0.discriminator == "ENCRYPTED PRIVATE KEY" }) {
            throw NodeAttestationError("--x509pop-key \(path): the key is encrypted; give an unencrypted PEM key (readable only by the agent)")
        }
        guard let document = documents.first(where: { ["PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY"].contains($0.discriminator) }) else {
            throw NodeAttestationError("--x509pop-key \(path): no PEM private key in it (PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY)")
        }
        do {
            return try Certificate.PrivateKey(pemDocument: document)
        } catch {
            throw NodeAttestationError("--x509pop-key \(path): unsupported or invalid \(document.discriminator): \(error)")
        }
    }

    private static func read(_ path: String, flag: String) throws(NodeAttestationError) -> String {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            let reason = FileManager.default.fileExists(atPath: path) ? "cannot read it" : "no such file"
            throw NodeAttestationError("\(flag) \(path): \(reason)")
        }
        guard data.count <= 1024 * 1024, let text = String(data: data, encoding: .utf8) else {
            throw NodeAttestationError("\(flag) \(path): not a PEM file")
        }
        return text
    }
}
