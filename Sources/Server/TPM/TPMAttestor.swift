import Attestation
import Crypto
import Foundation
import SPIFFE
import TPM
import X509

/// Server side of TPM 2.0 node attestation (`tpm`); see ``TPMNodeAttestation`` for the messages.
///
/// 1. The EK must be enrolled (config `tpm.nodes` or `matryoshka server tpm allow`) or carry a
///    certificate from a CA of `tpm.ek_ca_bundle`; the AK must be a restricted signing key made
///    in the TPM (``AttestationKeyPolicy``).
/// 2. Credential activation proves the AK lives in the TPM holding that EK: the agent must return
///    the secret of a credential made for the AK's name under the EK.
/// 3. A quote for a fresh nonce, with extraData = `QuoteBinding.extraData(nonce, SPKI of the
///    agent's CSR key)`, signed by that AK, must cover the configured PCRs and satisfy the PCR
///    policy (the node's own, else the group policy `tpm.pcr_policy`).
///
/// The agent becomes `spiffe://<td>/agent/tpm/<sha256 hex of the EK public area>` with selectors
/// `tpm:ek-hash:<hex>`, `tpm:pcr:<index>:<hex>` for every quoted PCR, `tpm:pcr-digest:<hex>`,
/// and the enrolment's labels. The evidence (``TPMNodeAttestation/Evidence``) goes into the first
/// lineage link of its SVID.
///
/// Re-attestation (``reattest(agentID:selectors:evidence:agentKey:challenger:)``) asks the same AK
/// for a fresh quote bound to the agent's current SVID key; the PCRs must still hold the values
/// the agent was attested with.
public struct TPMAttestor: NodeReattestor {
    let settings: TPMSettings
    let enrolments: (any TPMEnrolmentStore)?
    let ekRoots: [Certificate]

    /// - Throws: ``ConfigError`` when the EK CA bundle cannot be read.
    public init(settings: TPMSettings, enrolments: (any TPMEnrolmentStore)?) throws(ConfigError) {
        self.settings = settings
        self.enrolments = enrolments
        if let path = settings.ekCABundlePath {
            let pem: String
            do {
                pem = try String(contentsOfFile: path, encoding: .utf8)
            } catch {
                throw ConfigError("tpm.ek_ca_bundle: cannot read \(path): \(error.localizedDescription)")
            }
            do {
                self.ekRoots = try EndorsementKeyVerifier(caBundlePEM: pem).trustedRoots
            } catch {
                throw ConfigError("tpm.ek_ca_bundle \(path): \(error)")
            }
        } else {
            self.ekRoots = []
        }
    }

    public var type: String { TPMNodeAttestation.type }

    public func attest(
        payload: [UInt8], agentKey: Certificate.PublicKey, trustDomain: TrustDomain, challenger: any NodeChallenger
    ) async throws(NodeAttestationError) -> NodeAttestationResult {
        let message = try TPMNodeAttestation.decode(TPMNodeAttestation.Payload.self, from: payload, what: "payload")
        let ek = try Self.publicArea(message.ekPublic, what: "EK")
        let ak = try Self.publicArea(message.akPublic, what: "AK")
        let ekHash = ek.identityHex
        let enrolment = try await enrolment(ekHash: ekHash)

        // 1. The EK: enrolled by hash, or certified by a trusted EK CA.
        let verifier = EndorsementKeyVerifier(
            allowedIdentities: enrolment == nil ? [] : [ekHash], trustedRoots: ekRoots,
            requireDefaultTemplate: settings.requireDefaultEKTemplate)
        let verified: VerifiedEndorsementKey
        do {
            verified = try await verifier.verify(ekPublic: ek, certificate: message.ekCertificate.map { Array($0) })
        } catch {
            if case .notAllowed = error {
                throw NodeAttestationError("unknown EK \(ekHash): it is not enrolled (`matryoshka server tpm allow --ek-hash \(ekHash)`) and no trusted EK certificate vouches for it")
            }
            throw NodeAttestationError("EK \(ekHash) refused: \(error)")
        }
        do {
            try AttestationKeyPolicy.check(ak)
        } catch {
            throw NodeAttestationError("AK refused: \(error)")
        }

        // 2. Credential activation: the AK is in the TPM that holds the EK.
        let secret = SecureRandom.bytes(32)
        let credential: CredentialChallenge
        do {
            credential = try CredentialActivation.makeCredential(ekPublic: ek, objectName: ak.name, secret: secret)
        } catch {
            throw NodeAttestationError("cannot make a credential for the AK: \(error)")
        }
        let activation = try await challenger.challenge(TPMNodeAttestation.encode(
            TPMNodeAttestation.Challenge.activateCredential(credentialBlob: credential.credentialBlob, encryptedSecret: credential.encryptedSecret)))
        let answer = try TPMNodeAttestation.decode(TPMNodeAttestation.ActivationAnswer.self, from: activation, what: "credential activation answer")
        guard Self.constantTimeEqual(Array(answer.secret), secret) else {
            throw NodeAttestationError("AK not activated: the agent did not return the secret of the credential made for its AK (the AK is not in the TPM holding EK \(ekHash))")
        }

        // 3. A fresh quote, bound to the agent's key, against the PCR policy.
        let policyValues = enrolment.map(\.pcrPolicy).flatMap { $0.isEmpty ? nil : $0 } ?? settings.pcrPolicy
        let policy = try Self.policy(policyValues)
        let pcrs = Array(Set(settings.pcrs).union(policyValues.keys)).sorted()
        let (quote, nonce, verifiedQuote) = try await Self.quote(ak: ak, agentKey: agentKey, pcrs: pcrs, policy: policy, challenger: challenger)

        let agentID: SPIFFEID
        do {
            agentID = try SPIFFEID(trustDomain: trustDomain, segments: ["agent", "tpm", ekHash])
        } catch {
            throw NodeAttestationError("cannot build the agent ID: \(error)")
        }
        var selectors = Self.selectors(ekHash: ekHash, quote: verifiedQuote)
        selectors += enrolment?.labels ?? []
        let acceptedBy: String
        switch verified.method {
        case .allowList: acceptedBy = "allow_list"
        case .certificate: acceptedBy = "ek_certificate"
        }
        let evidence = try TPMNodeAttestation.encode(TPMNodeAttestation.Evidence(
            ekHash: ekHash, ekAcceptedBy: acceptedBy, akPublic: message.akPublic, nonce: Data(nonce), quote: quote))
        return NodeAttestationResult(agentID: agentID, selectors: selectors, canReattest: true, evidence: evidence)
    }

    public func reattest(
        agentID: SPIFFEID, selectors: [Selector], evidence: [UInt8], agentKey: Certificate.PublicKey, challenger: any NodeChallenger
    ) async throws(NodeAttestationError) -> NodeReattestationResult {
        let recorded = try TPMNodeAttestation.decode(TPMNodeAttestation.Evidence.self, from: evidence, what: "evidence in the agent SVID")
        guard agentID.segments.count == 3, agentID.segments.last.map(String.init) == recorded.ekHash else {
            throw NodeAttestationError("the agent SVID's evidence is for EK \(recorded.ekHash), not for \(agentID)")
        }
        let enrolment = try await enrolment(ekHash: recorded.ekHash)
        if recorded.ekAcceptedBy != "ek_certificate", enrolment == nil {
            throw NodeAttestationError("EK \(recorded.ekHash) is no longer enrolled")
        }
        let ak = try Self.publicArea(recorded.akPublic, what: "AK")
        // The PCRs must still hold what the agent was attested with, and satisfy today's policy.
        var expected: [Int: String] = enrolment.map(\.pcrPolicy).flatMap { $0.isEmpty ? nil : $0 } ?? settings.pcrPolicy
        for selector in selectors where selector.type == "tpm" && selector.value.hasPrefix("pcr:") {
            let parts = selector.value.split(separator: ":")
            if parts.count == 3, let index = Int(parts[1]) { expected[index] = String(parts[2]) }
        }
        let policy = try Self.policy(expected)
        let pcrs = Array(Set(settings.pcrs).union(expected.keys)).sorted()
        let (_, _, verified) = try await Self.quote(ak: ak, agentKey: agentKey, pcrs: pcrs, policy: policy, challenger: challenger)
        return NodeReattestationResult(summary: "pcr-digest \(verified.pcrDigestHex)")
    }

    // MARK: Helpers

    /// The enrolment of an EK: the datastore's, else the config's.
    func enrolment(ekHash: String) async throws(NodeAttestationError) -> TPMEnrolment? {
        if let enrolments {
            do {
                if let stored = try await enrolments.tpmEnrolment(ekHash: ekHash) { return stored }
            } catch {
                throw NodeAttestationError("cannot read TPM enrolments: \(error)")
            }
        }
        return settings.nodes.first { $0.ekHash == ekHash }
    }

    /// Sends a nonce, receives and verifies the quote.
    static func quote(
        ak: TPMPublicArea, agentKey: Certificate.PublicKey, pcrs: [Int], policy: PCRPolicy?, challenger: any NodeChallenger
    ) async throws(NodeAttestationError) -> (TPMNodeAttestation.QuoteAnswer, [UInt8], VerifiedQuote) {
        let nonce = SecureRandom.bytes(32)
        let expectedExtraData: [UInt8]
        do {
            expectedExtraData = try QuoteBinding.extraData(nonce: nonce, agentKey: agentKey)
        } catch {
            throw NodeAttestationError("cannot bind the quote to the agent key: \(error)")
        }
        let reply = try await challenger.challenge(TPMNodeAttestation.encode(TPMNodeAttestation.Challenge.quote(nonce: nonce, pcrs: pcrs)))
        let answer = try TPMNodeAttestation.decode(TPMNodeAttestation.QuoteAnswer.self, from: reply, what: "quote")
        guard let values = answer.values else { throw NodeAttestationError("quote: PCR values are not keyed by PCR index") }
        let verified: VerifiedQuote
        do {
            verified = try QuoteVerifier.verifyQuote(
                attest: Array(answer.attest), signature: Array(answer.signature), akPublic: ak,
                expectedExtraData: expectedExtraData, pcrValues: values, policy: policy)
        } catch {
            throw NodeAttestationError(describe(error))
        }
        if let missing = pcrs.first(where: { verified.pcrValues[$0] == nil }) {
            throw NodeAttestationError("quote: PCR \(missing) was asked for but not quoted")
        }
        return (answer, nonce, verified)
    }

    /// One line per refusal reason, naming what the operator should look at.
    static func describe(_ error: QuoteVerificationError) -> String {
        switch error {
        case .extraDataMismatch:
            return "stale or wrong nonce: the quote is not for this attestation's nonce and agent key (\(error))"
        case .badSignature, .signatureAlgorithmMismatch:
            return "quote not signed by the activated AK: \(error)"
        case .policy(let policyError):
            return "PCRs off policy: \(policyError)"
        default:
            return error.description
        }
    }

    static func selectors(ekHash: String, quote: VerifiedQuote) -> [Selector] {
        var texts = ["ek-hash:\(ekHash)", "pcr-digest:\(quote.pcrDigestHex)"]
        for (index, value) in quote.pcrValues.sorted(by: { $0.key < $1.key }) {
            texts.append("pcr:\(index):\(value.map { String(format: "%02x", $0) }.joined())")
        }
        // Fixed type, hex values: always valid selectors.
        return texts.compactMap { try? Selector(type: "tpm", value: $0) }
    }

    static func policy(_ values: [Int: String]) throws(NodeAttestationError) -> PCRPolicy? {
        guard !values.isEmpty else { return nil }
        do {
            return try PCRPolicy(expected: values)
        } catch {
            throw NodeAttestationError("invalid PCR policy: \(error)")
        }
    }

    static func publicArea(_ bytes: Data, what: String) throws(NodeAttestationError) -> TPMPublicArea {
        do {
            return try TPMPublicArea(marshalled: bytes)
        } catch {
            throw NodeAttestationError("malformed \(what) public area: \(error)")
        }
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        return zip(a, b).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
