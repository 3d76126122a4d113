import Attestation
import Authority
import Foundation
import SPIFFE
import Server
import SwiftASN1
import Synchronization
import Testing
import X509

/// The server's x509pop node attestor, with the agent side played here so that each refusal can
/// be provoked precisely.
@Suite("x509pop node attestor")
struct X509PoPAttestorTests {
    let trustDomain: TrustDomain
    let root: ProvisioningPKI.Issued
    let attestor: X509PoPAttestor

    init() throws {
        trustDomain = try TrustDomain("example.org")
        root = try ProvisioningPKI.root("Provisioning Root")
        attestor = X509PoPAttestor(roots: [root.certificate])
    }

    func attest(_ node: PoPNode, agentKey: Certificate.PublicKey, challenger: ScriptedChallenger? = nil) async throws(NodeAttestationError) -> NodeAttestationResult {
        let payload: [UInt8]
        do {
            payload = try node.payload()
        } catch {
            throw NodeAttestationError("test: \(error)")
        }
        return try await attestor.attest(
            payload: payload, agentKey: agentKey, trustDomain: trustDomain, challenger: challenger ?? node.honest(agentKey: agentKey))
    }

    /// The message of the error `body` throws.
    func refusal(_ body: () async throws(NodeAttestationError) -> Void) async -> String {
        do {
            try await body()
            return "(no error)"
        } catch {
            return error.message
        }
    }

    // MARK: Accepted

    @Test(arguments: [KeyAlgorithm.ecP256, .ecP384, .rsa2048])
    func attestsANodeHoldingItsCertificateKey(_ algorithm: KeyAlgorithm) async throws {
        let leaf = try ProvisioningPKI.node("node-1.example.org", issuer: root, key: algorithm)
        let agentKey = try SigningKey(generating: .ecP256).publicKey
        let result = try await attest(PoPNode(leaf), agentKey: agentKey)

        let fingerprint = X509PoPProof.fingerprint(der: leaf.der)
        #expect(fingerprint.count == 64)
        #expect(result.agentID.description == "spiffe://example.org/agent/x509pop/\(fingerprint)")
        #expect(result.canReattest)
        let selectors = Set(result.selectors.map(\.description))
        #expect(selectors.contains("x509pop:subject:cn:node-1.example.org"))
        #expect(selectors.contains("x509pop:serialnumber:0a1b2c"))
        #expect(selectors.contains("x509pop:ca:fingerprint:\(X509PoPProof.fingerprint(der: root.der))"))

        // The evidence re-verifies offline: the node key signed the nonce bound to this agent key.
        let evidence = try JSONDecoder().decode(X509PoPNodeAttestation.Evidence.self, from: Data(result.evidence))
        #expect(evidence.format == "matryoshka/x509pop-evidence/v1")
        #expect(evidence.fingerprint == fingerprint)
        #expect(evidence.certificates == [Data(leaf.der)])
        let scheme = try #require(X509PoPSignatureScheme(rawValue: evidence.signatureScheme))
        #expect(scheme == X509PoPSignatureScheme(key: leaf.certificate.publicKey))
        #expect(leaf.certificate.publicKey.isValidSignature(
            Array(evidence.signature), for: try X509PoPProof.signedBytes(nonce: Array(evidence.nonce), agentKey: agentKey),
            signatureAlgorithm: scheme.algorithm))
    }

    @Test func verifiesThroughIntermediatesAndNamesEveryCAAndSAN() async throws {
        let intermediate = try ProvisioningPKI.intermediate("Provisioning Issuing CA", issuer: root)
        let leaf = try ProvisioningPKI.node(
            "node-2", issuer: intermediate,
            sans: [.dnsName("node-2.eu.example.org"), .uniformResourceIdentifier("urn:node:2"), .ipAddress(ASN1OctetString(contentBytes: [10, 0, 0, 2]))])
        let agentKey = try SigningKey(generating: .ecP256).publicKey
        let result = try await attest(PoPNode(leaf, intermediates: [intermediate]), agentKey: agentKey)

        let selectors = Set(result.selectors.map(\.description))
        #expect(selectors == [
            "x509pop:subject:cn:node-2",
            "x509pop:serialnumber:0a1b2c",
            "x509pop:ca:fingerprint:\(X509PoPProof.fingerprint(der: intermediate.der))",
            "x509pop:ca:fingerprint:\(X509PoPProof.fingerprint(der: root.der))",
            "x509pop:san:dns:node-2.eu.example.org",
            "x509pop:san:uri:urn:node:2",
            "x509pop:san:ip:10.0.0.2",
        ])
        let evidence = try JSONDecoder().decode(X509PoPNodeAttestation.Evidence.self, from: Data(result.evidence))
        #expect(evidence.certificates.count == 2)
    }

    @Test func anIntermediateInTheBundleIsATrustAnchor() async throws {
        let intermediate = try ProvisioningPKI.intermediate("Provisioning Issuing CA", issuer: root)
        let leaf = try ProvisioningPKI.node("node-3", issuer: intermediate)
        let attestor = X509PoPAttestor(roots: [intermediate.certificate])
        let agentKey = try SigningKey(generating: .ecP256).publicKey
        let node = PoPNode(leaf)
        let result = try await attestor.attest(payload: node.payload(), agentKey: agentKey, trustDomain: trustDomain, challenger: node.honest(agentKey: agentKey))
        #expect(result.selectors.map(\.description).contains("x509pop:ca:fingerprint:\(X509PoPProof.fingerprint(der: intermediate.der))"))
    }

    // MARK: Refused

    @Test func refusesACertificateFromAnotherCA() async throws {
        let stranger = try ProvisioningPKI.root("Somebody Else's CA")
        let leaf = try ProvisioningPKI.node("intruder", issuer: stranger)
        let agentKey = try SigningKey(generating: .ecP256).publicKey
        let message = await refusal { () async throws(NodeAttestationError) in _ = try await attest(PoPNode(leaf), agentKey: agentKey) }
        #expect(message.contains("is not trusted by the x509pop CA bundle"), "\(message)")
        #expect(message.contains("intruder"), "\(message)")
    }

    @Test func refusesAnExpiredCertificate() async throws {
        let leaf = try ProvisioningPKI.node(
            "old-node", issuer: root, notBefore: Date().addingTimeInterval(-7200), notAfter: Date().addingTimeInterval(-60))
        let agentKey = try SigningKey(generating: .ecP256).publicKey
        let message = await refusal { () async throws(NodeAttestationError) in _ = try await attest(PoPNode(leaf), agentKey: agentKey) }
        #expect(message.contains("expired at"), "\(message)")
    }

    @Test func refusesACertificateNotForDigitalSignature() async throws {
        let leaf = try ProvisioningPKI.node("encrypt-only", issuer: root, keyUsage: KeyUsage(keyEncipherment: true))
        let agentKey = try SigningKey(generating: .ecP256).publicKey
        let message = await refusal { () async throws(NodeAttestationError) in _ = try await attest(PoPNode(leaf), agentKey: agentKey) }
        #expect(message.contains("does not allow digitalSignature"), "\(message)")
    }

    @Test func refusesACACertificateAsNodeIdentity() async throws {
        let leaf = try ProvisioningPKI.node("sub-ca", issuer: root, keyUsage: KeyUsage(digitalSignature: true, keyCertSign: true), isCA: true)
        let agentKey = try SigningKey(generating: .ecP256).publicKey
        let message = await refusal { () async throws(NodeAttestationError) in _ = try await attest(PoPNode(leaf), agentKey: agentKey) }
        #expect(message.contains("is a CA certificate"), "\(message)")
    }

    @Test func refusesASignatureByAnotherKey() async throws {
        let leaf = try ProvisioningPKI.node("node-1", issuer: root)
        let thief = PoPNode(chain: [leaf.der], key: try SigningKey(generating: .ecP256).certificatePrivateKey)
        let agentKey = try SigningKey(generating: .ecP256).publicKey
        let message = await refusal { () async throws(NodeAttestationError) in _ = try await attest(thief, agentKey: agentKey) }
        #expect(message.contains("does not verify with the node certificate's key"), "\(message)")
    }

    @Test func refusesAReplayedAnswerForAnEarlierNonce() async throws {
        let leaf = try ProvisioningPKI.node("node-1", issuer: root)
        let node = PoPNode(leaf)
        let agentKey = try SigningKey(generating: .ecP256).publicKey
        // An answer captured from an earlier attestation of the same node and agent key.
        let captured = Captured()
        let recording = ScriptedChallenger { challenge in
            let answer = try PoPNode.answer(challenge, agentKey: agentKey, key: node.key)
            captured.set(answer)
            return answer
        }
        _ = try await attest(node, agentKey: agentKey, challenger: recording)
        let replayed = try #require(captured.value)
        let message = await refusal { () async throws(NodeAttestationError) in
            _ = try await attest(node, agentKey: agentKey, challenger: ScriptedChallenger(answers: [replayed]))
        }
        #expect(message.contains("stale or wrong nonce"), "\(message)")
    }

    @Test func refusesASignatureOverADifferentNonceEvenIfTheAnswerEchoesTheRightOne() async throws {
        let leaf = try ProvisioningPKI.node("node-1", issuer: root)
        let node = PoPNode(leaf)
        let agentKey = try SigningKey(generating: .ecP256).publicKey
        let key = node.key
        let lying = ScriptedChallenger { challenge in
            let asked = try X509PoPNodeAttestation.decode(X509PoPNodeAttestation.Challenge.self, from: challenge, what: "challenge")
            let other = try X509PoPProof.sign(nonce: Array(repeating: 7, count: 32), agentKey: agentKey, with: key, scheme: .ecdsaP256SHA256)
            return try X509PoPNodeAttestation.encode(X509PoPNodeAttestation.Answer(
                nonce: Array(asked.nonce), agentKeySHA256: Array(other.agentKeySHA256), signature: Array(other.signature)))
        }
        let message = await refusal { () async throws(NodeAttestationError) in _ = try await attest(node, agentKey: agentKey, challenger: lying) }
        #expect(message.contains("does not verify with the node certificate's key"), "\(message)")
    }

    @Test func refusesAnAnswerBoundToAnotherAgentKey() async throws {
        let leaf = try ProvisioningPKI.node("node-1", issuer: root)
        let node = PoPNode(leaf)
        let agentKey = try SigningKey(generating: .ecP256).publicKey
        let attackerKey = try SigningKey(generating: .ecP256).publicKey
        // The node signs for the attacker's key; the attacker presents it with the agent key's CSR.
        let message = await refusal { () async throws(NodeAttestationError) in
            _ = try await attest(node, agentKey: agentKey, challenger: node.honest(agentKey: attackerKey))
        }
        #expect(message.contains("bound to another agent key"), "\(message)")
    }

    @Test func refusesGarbageAndEmptyPayloads() async throws {
        let agentKey = try SigningKey(generating: .ecP256).publicKey
        let never = ScriptedChallenger(answers: [])
        let garbage = await refusal { () async throws(NodeAttestationError) in
            _ = try await attestor.attest(payload: Array("not json".utf8), agentKey: agentKey, trustDomain: trustDomain, challenger: never)
        }
        #expect(garbage.contains("malformed payload"), "\(garbage)")
        let empty = await refusal { () async throws(NodeAttestationError) in
            _ = try await attest(PoPNode(chain: [], key: root.key.certificatePrivateKey), agentKey: agentKey, challenger: never)
        }
        #expect(empty.contains("has no certificate"), "\(empty)")
        let notDER = await refusal { () async throws(NodeAttestationError) in
            _ = try await attest(PoPNode(chain: [[0x30, 0x03, 0x02, 0x01, 0x01]], key: root.key.certificatePrivateKey), agentKey: agentKey, challenger: never)
        }
        #expect(notDER.contains("the node certificate is not a valid DER X.509 certificate"), "\(notDER)")
        let tooLong = await refusal { () async throws(NodeAttestationError) in
            _ = try await attest(PoPNode(chain: Array(repeating: root.der, count: 6), key: root.key.certificatePrivateKey), agentKey: agentKey, challenger: never)
        }
        #expect(tooLong.contains("5 intermediate certificates; at most 4"), "\(tooLong)")
        let leaf = try ProvisioningPKI.node("node-1", issuer: root)
        let garbageAnswer = await refusal { () async throws(NodeAttestationError) in
            _ = try await attest(PoPNode(leaf), agentKey: agentKey, challenger: ScriptedChallenger(answers: [Array("{}".utf8)]))
        }
        #expect(garbageAnswer.contains("malformed proof"), "\(garbageAnswer)")
    }

    @Test func refusesWhenNoBundleIsConfigured() async throws {
        let leaf = try ProvisioningPKI.node("node-1", issuer: root)
        let node = PoPNode(leaf)
        let agentKey = try SigningKey(generating: .ecP256).publicKey
        let unconfigured = try X509PoPAttestor(settings: X509PoPSettings())
        let payload = try node.payload()
        let message = await refusal { () async throws(NodeAttestationError) in
            _ = try await unconfigured.attest(payload: payload, agentKey: agentKey, trustDomain: trustDomain, challenger: node.honest(agentKey: agentKey))
        }
        #expect(message.contains("not configured on this server"), "\(message)")
    }

    // MARK: Re-attestation

    @Test func reattestsWithAFreshProofForTheCurrentKeyAndFailsOnceTheCAIsDropped() async throws {
        let leaf = try ProvisioningPKI.node("node-1", issuer: root)
        let node = PoPNode(leaf)
        let firstKey = try SigningKey(generating: .ecP256).publicKey
        let result = try await attest(node, agentKey: firstKey)

        // Later, with a renewed SVID key.
        let currentKey = try SigningKey(generating: .ecP256).publicKey
        let outcome = try await attestor.reattest(
            agentID: result.agentID, selectors: result.selectors, evidence: result.evidence, agentKey: currentKey,
            challenger: node.honest(agentKey: currentKey))
        #expect(outcome.summary.contains("key proven"))

        // A proof for the old key does not do.
        let stale = await refusal { () async throws(NodeAttestationError) in
            _ = try await attestor.reattest(
                agentID: result.agentID, selectors: result.selectors, evidence: result.evidence, agentKey: currentKey,
                challenger: node.honest(agentKey: firstKey))
        }
        #expect(stale.contains("bound to another agent key"), "\(stale)")

        // The provisioning CA is no longer trusted.
        let otherRoot = try ProvisioningPKI.root("New Provisioning Root")
        let rotated = X509PoPAttestor(roots: [otherRoot.certificate])
        let untrusted = await refusal { () async throws(NodeAttestationError) in
            _ = try await rotated.reattest(
                agentID: result.agentID, selectors: result.selectors, evidence: result.evidence, agentKey: currentKey,
                challenger: node.honest(agentKey: currentKey))
        }
        #expect(untrusted.contains("is not trusted by the x509pop CA bundle"), "\(untrusted)")

        // Evidence of one node does not re-attest another.
        let otherID = try SPIFFEID("spiffe://example.org/agent/x509pop/" + String(repeating: "0", count: 64))
        let mismatch = await refusal { () async throws(NodeAttestationError) in
            _ = try await attestor.reattest(
                agentID: otherID, selectors: [], evidence: result.evidence, agentKey: currentKey, challenger: node.honest(agentKey: currentKey))
        }
        #expect(mismatch.contains("evidence is not for"), "\(mismatch)")
    }

    // MARK: Configuration and agent files

    @Test func refusesAnUnreadableOrNonPEMBundle() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("x509pop-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let missing = directory.appendingPathComponent("missing.pem").path
        #expect(throws: ConfigError("x509pop CA bundle \(missing): no such file")) { try X509PoPAttestor(settings: X509PoPSettings(caBundlePath: missing)) }
        let text = directory.appendingPathComponent("text.pem").path
        try "hello\n".write(toFile: text, atomically: true, encoding: .utf8)
        #expect(throws: ConfigError("x509pop CA bundle \(text): no PEM CERTIFICATE in it")) { try X509PoPAttestor(settings: X509PoPSettings(caBundlePath: text)) }
        let good = directory.appendingPathComponent("ca.pem").path
        try pem([root.certificate]).write(toFile: good, atomically: true, encoding: .utf8)
        #expect(try X509PoPAttestor(settings: X509PoPSettings(caBundlePath: good)).roots == [root.certificate])
    }

    @Test func agentCredentialsMustMatch() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("x509pop-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let leaf = try ProvisioningPKI.node("node-1", issuer: root, key: .rsa2048)
        let certPath = directory.appendingPathComponent("node.pem").path
        let keyPath = directory.appendingPathComponent("node-key.pem").path
        let otherKeyPath = directory.appendingPathComponent("other-key.pem").path
        try pem([leaf.certificate, root.certificate]).write(toFile: certPath, atomically: true, encoding: .utf8)
        try leaf.key.pkcs8PEM.write(toFile: keyPath, atomically: true, encoding: .utf8)
        try SigningKey(generating: .ecP256).pkcs8PEM.write(toFile: otherKeyPath, atomically: true, encoding: .utf8)

        let credentials = try X509PoPCredentials.load(certificatePath: certPath, keyPath: keyPath)
        #expect(credentials.chain.count == 2 && credentials.leaf == leaf.certificate)

        #expect(throws: NodeAttestationError(
            "--x509pop-key \(otherKeyPath) does not match the certificate in --x509pop-cert \(certPath) (\(leaf.certificate.subject)): it is the key of another certificate")) {
            try X509PoPCredentials.load(certificatePath: certPath, keyPath: otherKeyPath)
        }
        let missing = directory.appendingPathComponent("missing.pem").path
        #expect(throws: NodeAttestationError("--x509pop-cert \(missing): no such file")) {
            try X509PoPCredentials.load(certificatePath: missing, keyPath: keyPath)
        }
        #expect(throws: NodeAttestationError("--x509pop-key \(certPath): no PEM private key in it (PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY)")) {
            try X509PoPCredentials.load(certificatePath: certPath, keyPath: certPath)
        }
        #expect(throws: NodeAttestationError("--x509pop-cert \(keyPath): no PEM CERTIFICATE in it")) {
            try X509PoPCredentials.load(certificatePath: keyPath, keyPath: keyPath)
        }
    }
}

/// Holds an answer captured by a challenger.
final class Captured: Sendable {
    private let storage = Mutex<[UInt8]?>(nil)
    func set(_ value: [UInt8]) { storage.withLock { $0 = value } }
    var value: [UInt8]? { storage.withLock { $0 } }
}
