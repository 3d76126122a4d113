import Attestation
import Foundation
import SPIFFE
import SwiftASN1
import X509
import _CryptoExtras

/// Server side of x509pop node attestation (`x509pop`): the node proves possession of the private
/// key of a certificate issued by a provisioning CA of the configured bundle (see
/// ``X509PoPNodeAttestation`` for the messages).
///
/// 1. The chain the agent sends (leaf first, at most ``X509PoPNodeAttestation/maximumIntermediates``
///    intermediates) must verify to a CA of the bundle now, under `RFC5280Policy` (validity,
///    CA constraints, signatures) and ``X509PoPLeafPolicy`` (keyUsage digitalSignature, not a CA).
/// 2. The agent must sign a fresh nonce bound to the SPKI of its CSR key with the leaf's key
///    (``X509PoPProof``); the scheme follows the leaf's key type.
///
/// The agent becomes `spiffe://<td>/agent/x509pop/<SHA-256 hex of the leaf DER>` with selectors
/// `x509pop:subject:cn:<CN>`, `x509pop:serialnumber:<hex>`, `x509pop:ca:fingerprint:<SHA-256 hex>`
/// for every certificate above the leaf in the verified chain, and `x509pop:san:dns:…`,
/// `x509pop:san:uri:…`, `x509pop:san:ip:…` for the leaf's SANs. The chain and the proof are the
/// evidence of its SVID's first lineage link.
///
/// Re-attestation re-verifies the chain recorded in that evidence against the bundle (so an
/// expired certificate, or one whose CA left the bundle, fails) and asks for a fresh proof bound to
/// the agent's current SVID key.
public struct X509PoPAttestor: NodeReattestor {
    /// The provisioning CAs (trust anchors); empty when x509pop is not configured.
    public let roots: [Certificate]

    /// Reads the CA bundle of `settings`.
    ///
    /// - Throws: ``ConfigError`` when the bundle cannot be read or holds no PEM certificate.
    public init(settings: X509PoPSettings) throws(ConfigError) {
        if let path = settings.caBundlePath {
            self.roots = try Self.loadBundle(path: path)
        } else {
            self.roots = []
        }
    }

    /// An attestor trusting `roots`.
    public init(roots: [Certificate]) {
        self.roots = roots
    }

    /// The certificates of a PEM bundle file.
    public static func loadBundle(path: String) throws(ConfigError) -> [Certificate] {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            let reason = FileManager.default.fileExists(atPath: path) ? "cannot read it (\(error.localizedDescription))" : "no such file"
            throw ConfigError("x509pop CA bundle \(path): \(reason)")
        }
        var roots: [Certificate] = []
        do {
            for document in try PEMDocument.parseMultiple(pemString: text) where document.discriminator == "CERTIFICATE" {
                roots.append(try Certificate(derEncoded: document.derBytes))
            }
        } catch {
            throw ConfigError("x509pop CA bundle \(path): not PEM certificates (\(error))")
        }
        guard !roots.isEmpty else { throw ConfigError("x509pop CA bundle \(path): no PEM CERTIFICATE in it") }
        return roots
    }

    public var type: String { X509PoPNodeAttestation.type }

    public func attest(
        payload: [UInt8], agentKey: Certificate.PublicKey, trustDomain: TrustDomain, challenger: any NodeChallenger
    ) async throws(NodeAttestationError) -> NodeAttestationResult {
        guard !roots.isEmpty else {
            throw NodeAttestationError("x509pop attestation is not configured on this server (start it with --x509pop-ca-bundle FILE or x509pop.ca_bundle in its config)")
        }
        let message = try X509PoPNodeAttestation.decode(X509PoPNodeAttestation.Payload.self, from: payload, what: "payload")
        let chain = try Self.parse(message.certificates.map { Array($0) })
        let fingerprint = X509PoPProof.fingerprint(der: Array(message.certificates[0]))
        let verified = try await verify(chain, fingerprint: fingerprint)
        let (nonce, scheme, answer) = try await prove(leaf: chain[0], agentKey: agentKey, challenger: challenger)

        let agentID: SPIFFEID
        do {
            agentID = try SPIFFEID(trustDomain: trustDomain, segments: ["agent", X509PoPNodeAttestation.type, fingerprint])
        } catch {
            throw NodeAttestationError("cannot build the agent ID: \(error)")
        }
        let evidence = try X509PoPNodeAttestation.encode(X509PoPNodeAttestation.Evidence(
            fingerprint: fingerprint, certificates: message.certificates, nonce: nonce, signatureScheme: scheme,
            signature: Array(answer.signature)))
        return NodeAttestationResult(agentID: agentID, selectors: Self.selectors(leaf: chain[0], verifiedChain: verified), canReattest: true, evidence: evidence)
    }

    public func reattest(
        agentID: SPIFFEID, selectors: [Selector], evidence: [UInt8], agentKey: Certificate.PublicKey, challenger: any NodeChallenger
    ) async throws(NodeAttestationError) -> NodeReattestationResult {
        guard !roots.isEmpty else {
            throw NodeAttestationError("x509pop attestation is no longer configured on this server (no x509pop CA bundle)")
        }
        let recorded = try X509PoPNodeAttestation.decode(X509PoPNodeAttestation.Evidence.self, from: evidence, what: "evidence in the agent SVID")
        guard let leafDER = recorded.certificates.first, X509PoPProof.fingerprint(der: Array(leafDER)) == recorded.fingerprint,
              agentID.segments.count == 3, agentID.segments.last.map(String.init) == recorded.fingerprint else {
            throw NodeAttestationError("the agent SVID's x509pop evidence is not for \(agentID)")
        }
        let chain = try Self.parse(recorded.certificates.map { Array($0) })
        _ = try await verify(chain, fingerprint: recorded.fingerprint)
        _ = try await prove(leaf: chain[0], agentKey: agentKey, challenger: challenger)
        return NodeReattestationResult(
            summary: "certificate \(recorded.fingerprint.prefix(16))… valid until \(chain[0].notValidAfter.formatted(.iso8601)), key proven")
    }

    // MARK: Steps

    /// Parses the presented DER chain, with limits.
    static func parse(_ certificates: [[UInt8]]) throws(NodeAttestationError) -> [Certificate] {
        guard !certificates.isEmpty else {
            throw NodeAttestationError("x509pop: the payload has no certificate (the node certificate must come first)")
        }
        guard certificates.count - 1 <= X509PoPNodeAttestation.maximumIntermediates else {
            throw NodeAttestationError("x509pop: \(certificates.count - 1) intermediate certificates; at most \(X509PoPNodeAttestation.maximumIntermediates)")
        }
        var chain: [Certificate] = []
        for (index, der) in certificates.enumerated() {
            let what = index == 0 ? "the node certificate" : "intermediate certificate #\(index)"
            let certificate: Certificate
            do {
                certificate = try Certificate(derEncoded: der)
            } catch {
                throw NodeAttestationError("x509pop: \(what) is not a valid DER X.509 certificate: \(error)")
            }
            if let rsa = _RSA.Signing.PublicKey(certificate.publicKey), rsa.keySizeInBits > 8192 {
                throw NodeAttestationError("x509pop: \(what) has an RSA key of \(rsa.keySizeInBits) bits; at most 8192")
            }
            chain.append(certificate)
        }
        return chain
    }

    /// Verifies the chain to a CA of the bundle, now; returns the verified chain (leaf to root).
    func verify(_ chain: [Certificate], fingerprint: String) async throws(NodeAttestationError) -> [Certificate] {
        let leaf = chain[0]
        let name = "node certificate \"\(leaf.subject)\" (sha256 \(fingerprint))"
        let now = Date()
        if now > leaf.notValidAfter {
            throw NodeAttestationError("x509pop: \(name) expired at \(leaf.notValidAfter.formatted(.iso8601))")
        }
        if now < leaf.notValidBefore {
            throw NodeAttestationError("x509pop: \(name) is not valid before \(leaf.notValidBefore.formatted(.iso8601))")
        }
        var verifier = Verifier(rootCertificates: CertificateStore(roots)) {
            RFC5280Policy()
            X509PoPLeafPolicy()
        }
        let result = await verifier.validate(leaf: leaf, intermediates: CertificateStore(Array(chain.dropFirst())))
        switch result {
        case .validCertificate(let verified):
            return Array(verified)
        case .couldNotValidate(let failures):
            let reasons = Array(Set(failures.map { $0.policyFailureReason.description })).sorted()
            let detail = reasons.isEmpty ? "no chain to a CA of the bundle (issued by \"\(chain.last?.issuer.description ?? "?")\")" : reasons.joined(separator: "; ")
            throw NodeAttestationError("x509pop: \(name) is not trusted by the x509pop CA bundle: \(detail)")
        }
    }

    /// Challenges the agent with a fresh nonce and checks its proof with the leaf's key.
    func prove(
        leaf: Certificate, agentKey: Certificate.PublicKey, challenger: any NodeChallenger
    ) async throws(NodeAttestationError) -> ([UInt8], X509PoPSignatureScheme, X509PoPNodeAttestation.Answer) {
        guard let scheme = X509PoPSignatureScheme(key: leaf.publicKey) else {
            throw NodeAttestationError("x509pop: the node certificate's key type (\(leaf.publicKey)) cannot sign proofs")
        }
        let nonce = SecureRandom.bytes(32)
        let reply = try await challenger.challenge(X509PoPNodeAttestation.encode(X509PoPNodeAttestation.Challenge(nonce: nonce, signatureScheme: scheme)))
        let answer = try X509PoPNodeAttestation.decode(X509PoPNodeAttestation.Answer.self, from: reply, what: "proof")
        try X509PoPProof.verify(answer, nonce: nonce, agentKey: agentKey, nodeKey: leaf.publicKey, scheme: scheme)
        return (nonce, scheme, answer)
    }

    // MARK: Selectors

    /// The selectors a verified node certificate proves.
    static func selectors(leaf: Certificate, verifiedChain: [Certificate]) -> [Selector] {
        var values: [String] = []
        for rdn in leaf.subject {
            for attribute in rdn where attribute.type == .RDNAttributeType.commonName {
                if let cn = String(attribute.value) { values.append("subject:cn:\(cn)") }
            }
        }
        var serial = Array(leaf.serialNumber.bytes)
        while serial.count > 1, serial[0] == 0 { serial.removeFirst() }
        values.append("serialnumber:" + X509PoPProof.hex(serial))
        var seen = Set<String>()
        for certificate in verifiedChain.dropFirst() {
            guard let fingerprint = try? X509PoPProof.fingerprint(certificate), seen.insert(fingerprint).inserted else { continue }
            values.append("ca:fingerprint:\(fingerprint)")
        }
        for name in (try? leaf.extensions.subjectAlternativeNames) ?? SubjectAlternativeNames() {
            switch name {
            case .dnsName(let dns): values.append("san:dns:\(dns)")
            case .uniformResourceIdentifier(let uri): values.append("san:uri:\(uri)")
            case .ipAddress(let address):
                if let text = ipText(Array(address.bytes)) { values.append("san:ip:\(text)") }
            default: continue
            }
        }
        // Invalid values (control characters, over-long names) are left out rather than refused.
        return values.compactMap { try? Selector(type: X509PoPNodeAttestation.type, value: $0) }
    }

    static func ipText(_ bytes: [UInt8]) -> String? {
        switch bytes.count {
        case 4: return bytes.map(String.init).joined(separator: ".")
        case 16:
            return stride(from: 0, to: 16, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }.joined(separator: ":")
        default: return nil
        }
    }
}
