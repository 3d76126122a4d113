import Attestation
import Authority
import Foundation
import SPIFFE
import Server
import TPM
import TestSupport
import Testing
import X509

/// The server's TPM node attestor against a real (software) TPM: the agent side is played here
/// with `TPMDevice`, so each refusal can be provoked precisely.
@Suite("TPM node attestor", .serialized, .enabled(if: SoftwareTPM.isAvailable, "swtpm is not installed"))
struct TPMAttestorTests {
    let trustDomain: TrustDomain

    init() throws {
        trustDomain = try TrustDomain("example.org")
    }

    // MARK: Accepted

    @Test func attestsAnEnrolledNodeAndBindsTheQuoteToTheAgentKey() async throws {
        try await SoftwareTPM.with { tpm in
            let device = try await TPMDevice(tcti: tpm.tcti)
            let node = try await Node(device: device)
            let attestor = try TPMAttestor(
                settings: TPMSettings(pcrs: [0, 7], nodes: [TPMEnrolment(ekHash: node.ekHash, labels: [try Selector("region:eu")])]),
                enrolments: nil)
            let agentKey = try SigningKey(generating: .ecP256).publicKey
            let result = try await attestor.attest(
                payload: node.payload(), agentKey: agentKey, trustDomain: trustDomain, challenger: node.honest(agentKey: agentKey))
            await device.close()

            #expect(result.agentID.description == "spiffe://example.org/agent/tpm/\(node.ekHash)")
            #expect(result.canReattest)
            let selectors = Set(result.selectors.map(\.description))
            #expect(selectors.contains("tpm:ek-hash:\(node.ekHash)"))
            #expect(selectors.contains("region:eu"))
            #expect(selectors.contains("tpm:pcr:0:" + String(repeating: "0", count: 64)))
            #expect(selectors.contains { $0.hasPrefix("tpm:pcr:7:") })
            #expect(selectors.contains { $0.hasPrefix("tpm:pcr-digest:") })

            // The evidence re-verifies offline: the AK's quote for the nonce bound to this key.
            let evidence = try JSONDecoder().decode(TPMNodeAttestation.Evidence.self, from: Data(result.evidence))
            #expect(evidence.ekHash == node.ekHash && evidence.ekAcceptedBy == "allow_list")
            let verified = try QuoteVerifier.verifyQuote(
                attest: Array(evidence.quote.attest), signature: Array(evidence.quote.signature),
                akPublic: try TPMPublicArea(marshalled: evidence.akPublic),
                expectedExtraData: try QuoteBinding.extraData(nonce: Array(evidence.nonce), agentKey: agentKey),
                pcrValues: try #require(evidence.quote.values))
            #expect(Set(verified.pcrValues.keys) == [0, 7])
        }
    }

    @Test func admitsAnEKCertifiedByTheEKCA() async throws {
        try await SoftwareTPM.with(provisioned: true) { tpm in
            let bundle = try SoftwareTPM.localCAFiles.map { try String(contentsOfFile: $0, encoding: .utf8) }.joined(separator: "\n")
            let bundlePath = tpm.directory.appendingPathComponent("ek-ca.pem").path
            try bundle.write(toFile: bundlePath, atomically: true, encoding: .utf8)
            let device = try await TPMDevice(tcti: tpm.tcti)
            let node = try await Node(device: device)
            #expect(node.ekCertificate != nil)
            let attestor = try TPMAttestor(settings: TPMSettings(pcrs: [0], ekCABundlePath: bundlePath), enrolments: nil)
            let agentKey = try SigningKey(generating: .ecP256).publicKey
            let result = try await attestor.attest(
                payload: node.payload(), agentKey: agentKey, trustDomain: trustDomain, challenger: node.honest(agentKey: agentKey))
            await device.close()
            let evidence = try JSONDecoder().decode(TPMNodeAttestation.Evidence.self, from: Data(result.evidence))
            #expect(evidence.ekAcceptedBy == "ek_certificate")
        }
    }

    @Test func reattestsWithTheActivatedAKAndFailsOnceAPCRChanged() async throws {
        try await SoftwareTPM.with { tpm in
            var device = try await TPMDevice(tcti: tpm.tcti)
            let node = try await Node(device: device)
            let attestor = try TPMAttestor(settings: TPMSettings(pcrs: [0, 16], nodes: [TPMEnrolment(ekHash: node.ekHash)]), enrolments: nil)
            let agentKey = try SigningKey(generating: .ecP256).publicKey
            let result = try await attestor.attest(
                payload: node.payload(), agentKey: agentKey, trustDomain: trustDomain, challenger: node.honest(agentKey: agentKey))

            // A renewed agent SVID has another key: the quote binds that one.
            let renewedKey = try SigningKey(generating: .ecP256).publicKey
            let again = try await attestor.reattest(
                agentID: result.agentID, selectors: result.selectors, evidence: result.evidence, agentKey: renewedKey,
                challenger: node.honest(agentKey: renewedKey))
            #expect(again.summary.hasPrefix("pcr-digest "))

            await device.close()
            try await tpm.tool("tpm2_pcrextend", ["16:sha256=" + String(repeating: "ab", count: 32)])
            device = try await TPMDevice(tcti: tpm.tcti)
            let changed = Node(device: device, copying: node)
            let error = await #expect(throws: NodeAttestationError.self) {
                try await attestor.reattest(
                    agentID: result.agentID, selectors: result.selectors, evidence: result.evidence, agentKey: renewedKey,
                    challenger: changed.honest(agentKey: renewedKey))
            }
            #expect(error?.message.contains("PCRs off policy: PCR policy: PCR 16 mismatch") == true)
            await device.close()
        }
    }

    // MARK: Refused

    @Test func refusesAnUnknownEK() async throws {
        try await SoftwareTPM.with { tpm in
            let device = try await TPMDevice(tcti: tpm.tcti)
            let node = try await Node(device: device)
            let attestor = try TPMAttestor(settings: TPMSettings(pcrs: [0], nodes: [TPMEnrolment(ekHash: String(repeating: "ab", count: 32))]), enrolments: nil)
            let agentKey = try SigningKey(generating: .ecP256).publicKey
            let error = await #expect(throws: NodeAttestationError.self) {
                try await attestor.attest(payload: node.payload(), agentKey: agentKey, trustDomain: trustDomain, challenger: node.honest(agentKey: agentKey))
            }
            #expect(error?.message.hasPrefix("unknown EK \(node.ekHash)") == true)
            await device.close()
        }
    }

    @Test func refusesAnAKThatWasNotActivated() async throws {
        try await SoftwareTPM.with { tpm in
            let device = try await TPMDevice(tcti: tpm.tcti)
            let node = try await Node(device: device)
            let attestor = try TPMAttestor(settings: TPMSettings(pcrs: [0], nodes: [TPMEnrolment(ekHash: node.ekHash)]), enrolments: nil)
            let agentKey = try SigningKey(generating: .ecP256).publicKey
            // An agent that cannot activate the credential answers with a guess.
            let guessing = ScriptedChallenger { challenge in
                let message = try JSONDecoder().decode(TPMNodeAttestation.Challenge.self, from: Data(challenge))
                #expect(message.kind == .activateCredential)
                return Array(try JSONEncoder().encode(TPMNodeAttestation.ActivationAnswer(secret: Data(repeating: 7, count: 32))))
            }
            let error = await #expect(throws: NodeAttestationError.self) {
                try await attestor.attest(payload: node.payload(), agentKey: agentKey, trustDomain: trustDomain, challenger: guessing)
            }
            #expect(error?.message.hasPrefix("AK not activated") == true)
            await device.close()
        }
    }

    @Test func refusesAQuoteByAnotherAK() async throws {
        try await SoftwareTPM.with { tpm in
            let device = try await TPMDevice(tcti: tpm.tcti)
            let node = try await Node(device: device)
            let other = try await device.createAttestationKey()
            let attestor = try TPMAttestor(settings: TPMSettings(pcrs: [0], nodes: [TPMEnrolment(ekHash: node.ekHash)]), enrolments: nil)
            let agentKey = try SigningKey(generating: .ecP256).publicKey
            let error = await #expect(throws: NodeAttestationError.self) {
                try await attestor.attest(
                    payload: node.payload(), agentKey: agentKey, trustDomain: trustDomain, challenger: node.honest(agentKey: agentKey, quotingWith: other))
            }
            #expect(error?.message.hasPrefix("quote not signed by the activated AK") == true)
            await device.close()
        }
    }

    @Test func refusesAQuoteForAStaleNonceOrAnotherKey() async throws {
        try await SoftwareTPM.with { tpm in
            let device = try await TPMDevice(tcti: tpm.tcti)
            let node = try await Node(device: device)
            let attestor = try TPMAttestor(settings: TPMSettings(pcrs: [0], nodes: [TPMEnrolment(ekHash: node.ekHash)]), enrolments: nil)
            let agentKey = try SigningKey(generating: .ecP256).publicKey
            let stale = await #expect(throws: NodeAttestationError.self) {
                try await attestor.attest(
                    payload: node.payload(), agentKey: agentKey, trustDomain: trustDomain,
                    challenger: node.honest(agentKey: agentKey, nonce: Array(repeating: 1, count: 32)))
            }
            #expect(stale?.message.hasPrefix("stale or wrong nonce") == true)
            // The right nonce, bound to a key other than the CSR's.
            let otherKey = try SigningKey(generating: .ecP256).publicKey
            let wrongKey = await #expect(throws: NodeAttestationError.self) {
                try await attestor.attest(payload: node.payload(), agentKey: agentKey, trustDomain: trustDomain, challenger: node.honest(agentKey: otherKey))
            }
            #expect(wrongKey?.message.hasPrefix("stale or wrong nonce") == true)
            await device.close()
        }
    }

    @Test func refusesPCRsOffPolicy() async throws {
        try await SoftwareTPM.with { tpm in
            let device = try await TPMDevice(tcti: tpm.tcti)
            let node = try await Node(device: device)
            let attestor = try TPMAttestor(
                settings: TPMSettings(pcrs: [0], nodes: [TPMEnrolment(ekHash: node.ekHash, pcrPolicy: [7: String(repeating: "ff", count: 32)])]),
                enrolments: nil)
            let agentKey = try SigningKey(generating: .ecP256).publicKey
            let error = await #expect(throws: NodeAttestationError.self) {
                try await attestor.attest(payload: node.payload(), agentKey: agentKey, trustDomain: trustDomain, challenger: node.honest(agentKey: agentKey))
            }
            #expect(error?.message.hasPrefix("PCRs off policy: PCR policy: PCR 7 mismatch") == true)
            await device.close()
        }
    }

    @Test func refusesAReplayedAttestation() async throws {
        try await SoftwareTPM.with { tpm in
            let device = try await TPMDevice(tcti: tpm.tcti)
            let node = try await Node(device: device)
            let attestor = try TPMAttestor(settings: TPMSettings(pcrs: [0], nodes: [TPMEnrolment(ekHash: node.ekHash)]), enrolments: nil)
            let agentKey = try SigningKey(generating: .ecP256).publicKey
            let recorder = Recorder(node.honest(agentKey: agentKey))
            _ = try await attestor.attest(payload: node.payload(), agentKey: agentKey, trustDomain: trustDomain, challenger: recorder)
            await device.close()
            let answers = recorder.answers
            #expect(answers.count == 2)

            // Someone who recorded that exchange replays it without the TPM: the credential
            // (a fresh secret) cannot be answered from the recording.
            let replay = ScriptedChallenger(answers: answers)
            let activation = await #expect(throws: NodeAttestationError.self) {
                try await attestor.attest(payload: node.payload(), agentKey: agentKey, trustDomain: trustDomain, challenger: replay)
            }
            #expect(activation?.message.hasPrefix("AK not activated") == true)

            // Even with a live TPM for the activation, the recorded quote is for an old nonce.
            let device2 = try await TPMDevice(tcti: tpm.tcti)
            let live = Node(device: device2, copying: node)
            let replayedQuote = ScriptedChallenger { challenge in
                let message = try JSONDecoder().decode(TPMNodeAttestation.Challenge.self, from: Data(challenge))
                if message.kind == .quote { return answers[1] }
                return try await live.honest(agentKey: agentKey).challenge(challenge)
            }
            let quote = await #expect(throws: NodeAttestationError.self) {
                try await attestor.attest(payload: node.payload(), agentKey: agentKey, trustDomain: trustDomain, challenger: replayedQuote)
            }
            #expect(quote?.message.hasPrefix("stale or wrong nonce") == true)
            await device2.close()
        }
    }
}

// MARK: The agent side, played with TPMDevice

/// A node's TPM as the agent uses it: its EK and one AK.
struct Node: Sendable {
    let device: TPMDevice
    let ek: TPMPublicArea
    let ekCertificate: [UInt8]?
    let ak: TPMAttestationKey

    var ekHash: String { ek.identityHex }

    init(device: TPMDevice) async throws {
        self.device = device
        ek = try await device.endorsementKey()
        ekCertificate = try await device.endorsementKeyCertificate()
        ak = try await device.createAttestationKey()
    }

    /// The same node, reached through another connection.
    init(device: TPMDevice, copying node: Node) {
        self.device = device
        ek = node.ek
        ekCertificate = node.ekCertificate
        ak = node.ak
    }

    func payload() throws -> [UInt8] {
        Array(try JSONEncoder().encode(TPMNodeAttestation.Payload(
            ekPublic: Data(ek.marshalled), ekCertificate: ekCertificate.map { Data($0) }, akPublic: Data(ak.publicArea.marshalled))))
    }

    /// Answers as an honest agent would, optionally quoting with another AK or for another nonce.
    func honest(agentKey: Certificate.PublicKey, quotingWith quoteKey: TPMAttestationKey? = nil, nonce forcedNonce: [UInt8]? = nil) -> ScriptedChallenger {
        ScriptedChallenger { challenge in
            let message = try JSONDecoder().decode(TPMNodeAttestation.Challenge.self, from: Data(challenge))
            switch message.kind {
            case .activateCredential:
                let secret = try await device.activateCredential(
                    attestationKey: ak,
                    challenge: CredentialChallenge(
                        credentialBlob: Array(try #require(message.credentialBlob)), encryptedSecret: Array(try #require(message.encryptedSecret))))
                return Array(try JSONEncoder().encode(TPMNodeAttestation.ActivationAnswer(secret: Data(secret))))
            case .quote:
                let sent = Array(try #require(message.nonce))
                let nonce = forcedNonce ?? sent
                let quote = try await device.quote(
                    attestationKey: quoteKey ?? ak, pcrs: try #require(message.pcrs),
                    qualifyingData: try QuoteBinding.extraData(nonce: nonce, agentKey: agentKey))
                return Array(try JSONEncoder().encode(TPMNodeAttestation.QuoteAnswer(
                    attest: Data(quote.attest), signature: Data(quote.signature), pcrValues: quote.pcrValues)))
            }
        }
    }
}

/// A challenger that answers with a closure (or a fixed list of answers).
struct ScriptedChallenger: NodeChallenger {
    let answer: @Sendable ([UInt8]) async throws -> [UInt8]

    init(_ answer: @escaping @Sendable ([UInt8]) async throws -> [UInt8]) {
        self.answer = answer
    }

    init(answers: [[UInt8]]) {
        let remaining = Remaining(answers)
        self.answer = { _ in try remaining.next() }
    }

    func challenge(_ challenge: [UInt8]) async throws(NodeAttestationError) -> [UInt8] {
        do {
            return try await answer(challenge)
        } catch let error as NodeAttestationError {
            throw error
        } catch {
            throw NodeAttestationError("test agent: \(error)")
        }
    }
}

/// Records the answers an inner challenger gave.
final class Recorder: NodeChallenger, @unchecked Sendable {
    // Used sequentially by one attestation.
    private let inner: any NodeChallenger
    private(set) var answers: [[UInt8]] = []

    init(_ inner: any NodeChallenger) { self.inner = inner }

    func challenge(_ challenge: [UInt8]) async throws(NodeAttestationError) -> [UInt8] {
        let answer = try await inner.challenge(challenge)
        answers.append(answer)
        return answer
    }
}

final class Remaining: @unchecked Sendable {
    // Used sequentially by one attestation.
    private var answers: [[UInt8]]
    init(_ answers: [[UInt8]]) { self.answers = answers }
    func next() throws -> [UInt8] {
        guard !answers.isEmpty else { throw NodeAttestationError("no more recorded answers") }
        return answers.removeFirst()
    }
}
