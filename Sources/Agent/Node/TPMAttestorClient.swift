import Attestation
import Foundation
import Synchronization
import TPM
import X509

/// The agent side of TPM 2.0 node attestation (`tpm`; see ``TPMNodeAttestation``).
///
/// The TPM is opened for each step and closed right after (swtpm and TPMs without a resource
/// manager serve one client at a time, and an agent should not hold the TPM between quotes). The
/// AK created for the first attestation is kept (and may be persisted with
/// ``attestationKey``) so that re-attestation quotes with the AK the server activated.
final class TPMAttestorClient: NodeReattestorClient {
    /// The TCTI, e.g. `swtpm:host=127.0.0.1,port=2321` or `device:/dev/tpmrm0`.
    let tcti: String
    private let state: Mutex<State>

    private struct State {
        var attestationKey: TPMAttestationKey?
        var agentKey: Certificate.PublicKey?
    }

    init(tcti: String, attestationKey: TPMAttestationKey? = nil) {
        self.tcti = tcti
        self.state = Mutex(State(attestationKey: attestationKey))
    }

    var type: String { TPMNodeAttestation.type }

    /// The AK of the last attestation.
    var attestationKey: TPMAttestationKey? { state.withLock { $0.attestationKey } }

    func payload(agentKey: Certificate.PublicKey) async throws(NodeAttestationError) -> [UInt8] {
        let (ek, certificate, ak) = try await withDevice { device throws(TPMDeviceError) in
            let ek = try await device.endorsementKey()
            let certificate = try await device.endorsementKeyCertificate()
            let ak = try await device.createAttestationKey()
            return (ek, certificate, ak)
        }
        state.withLock {
            $0.attestationKey = ak
            $0.agentKey = agentKey
        }
        return try TPMNodeAttestation.encode(TPMNodeAttestation.Payload(
            ekPublic: Data(ek.marshalled), ekCertificate: certificate.map { Data($0) }, akPublic: Data(ak.publicArea.marshalled)))
    }

    func respond(to challenge: [UInt8]) async throws(NodeAttestationError) -> [UInt8] {
        let message = try TPMNodeAttestation.decode(TPMNodeAttestation.Challenge.self, from: challenge, what: "challenge")
        let (ak, agentKey) = state.withLock { ($0.attestationKey, $0.agentKey) }
        guard let ak, let agentKey else { throw NodeAttestationError("TPM challenge before the attestation payload") }
        switch message.kind {
        case .activateCredential:
            guard let blob = message.credentialBlob, let secret = message.encryptedSecret else {
                throw NodeAttestationError("credential challenge without a credential")
            }
            let recovered = try await withDevice { device throws(TPMDeviceError) in
                try await device.activateCredential(
                    attestationKey: ak, challenge: CredentialChallenge(credentialBlob: Array(blob), encryptedSecret: Array(secret)))
            }
            return try TPMNodeAttestation.encode(TPMNodeAttestation.ActivationAnswer(secret: Data(recovered)))
        case .quote:
            return try await quote(message, ak: ak, agentKey: agentKey)
        }
    }

    func respondToReattestation(_ challenge: [UInt8], agentKey: Certificate.PublicKey) async throws(NodeAttestationError) -> [UInt8] {
        let message = try TPMNodeAttestation.decode(TPMNodeAttestation.Challenge.self, from: challenge, what: "challenge")
        guard message.kind == .quote else { throw NodeAttestationError("re-attestation asks only for quotes, got \(message.kind.rawValue)") }
        guard let ak = attestationKey else { throw NodeAttestationError("no attestation key: the agent must attest again") }
        return try await quote(message, ak: ak, agentKey: agentKey)
    }

    /// Quotes the PCRs the server asked for, bound to its nonce and the agent's key.
    private func quote(_ message: TPMNodeAttestation.Challenge, ak: TPMAttestationKey, agentKey: Certificate.PublicKey) async throws(NodeAttestationError) -> [UInt8] {
        guard let nonce = message.nonce, let pcrs = message.pcrs, !pcrs.isEmpty else {
            throw NodeAttestationError("quote challenge without a nonce or PCRs")
        }
        let extraData: [UInt8]
        do {
            extraData = try QuoteBinding.extraData(nonce: Array(nonce), agentKey: agentKey)
        } catch {
            throw NodeAttestationError("cannot bind the quote to the agent key: \(error)")
        }
        let quote = try await withDevice { device throws(TPMDeviceError) in
            try await device.quote(attestationKey: ak, pcrs: pcrs, qualifyingData: extraData)
        }
        return try TPMNodeAttestation.encode(TPMNodeAttestation.QuoteAnswer(
            attest: Data(quote.attest), signature: Data(quote.signature), pcrValues: quote.pcrValues))
    }

    /// Opens the TPM, runs `body`, closes it.
    func withDevice<T: Sendable>(_ body: (TPMDevice) async throws(TPMDeviceError) -> T) async throws(NodeAttestationError) -> T {
        let device: TPMDevice
        do {
            device = try await TPMDevice(tcti: tcti)
        } catch {
            throw NodeAttestationError("cannot open the TPM (\(tcti)): \(error)")
        }
        do {
            let result = try await body(device)
            await device.close()
            return result
        } catch {
            await device.close()
            throw NodeAttestationError("TPM (\(tcti)): \(error)")
        }
    }
}

/// What `matryoshka agent tpm-info` prints: what an operator needs to enrol a node.
public struct TPMInfo: Sendable, Codable, Hashable {
    /// SHA-256 hex of the EK public area: `--ek-hash` of `server tpm allow`.
    public var ekHash: String
    /// Whether the TPM holds an EK certificate (then an EK CA bundle can admit it).
    public var hasEKCertificate: Bool
    /// SHA-256 PCR values, index → hex.
    public var pcrs: [Int: String]

    enum CodingKeys: String, CodingKey { case ekHash = "ek_hash", hasEKCertificate = "has_ek_certificate", pcrs }

    /// Reads the EK and the SHA-256 PCRs `indices` of the TPM at `tcti`.
    public static func read(tcti: String, pcrs indices: [Int] = Array(0...23)) async throws(NodeAttestationError) -> TPMInfo {
        let client = TPMAttestorClient(tcti: tcti)
        return try await client.withDevice { device throws(TPMDeviceError) in
            let ek = try await device.endorsementKey()
            let certificate = try await device.endorsementKeyCertificate()
            let values = try await device.readPCRs(indices)
            return TPMInfo(
                ekHash: ek.identityHex, hasEKCertificate: certificate != nil,
                pcrs: values.mapValues { $0.map { String(format: "%02x", $0) }.joined() })
        }
    }
}
