import Attestation
import Foundation
import Lineage
import SPIFFE
import TPM

/// The hardware link of a lineage, checked offline: the first link of a TPM-attested agent
/// carries the quote the server verified at attestation. `lineage verify` checks again that the
/// quote is signed by the AK in the evidence and that its extraData binds the server's nonce to
/// the very key the link names, so the credential proves the TPM vouched for that agent key.
///
/// What it cannot re-check offline: that the AK lives in the TPM of that EK (the server proved it
/// by credential activation, and its CA's signature on the link says so) and the PCR policy of
/// the day (the quoted values are reported).
public struct HardwareEvidence: Codable, Sendable, Equatable {
    /// The attestor of the first link: `tpm`.
    public var type: String
    /// SHA-256 of the EK public area: the node's identity.
    public var ekHash: String
    /// How the server accepted the EK: `allow_list` or `ek_certificate`.
    public var ekAcceptedBy: String
    /// The quoted SHA-256 PCR values, lowercase hex, by index.
    public var pcrs: [String: String]
    /// The PCR digest the TPM signed.
    public var pcrDigest: String

    enum CodingKeys: String, CodingKey {
        case type, ekHash = "ek_hash", ekAcceptedBy = "ek_accepted_by", pcrs, pcrDigest = "pcr_digest"
    }

    /// Checks the first link's evidence when it is a TPM quote; nil for other attestors.
    /// - Throws: ``CLIError`` naming what does not hold.
    static func check(_ lineage: Lineage) throws(CLIError) -> HardwareEvidence? {
        guard let first = lineage.links.first, first.content.attestor == TPMNodeAttestation.type else { return nil }
        let content = first.content
        guard !content.evidence.isEmpty else {
            throw CLIError("the first link (\(content.spiffeID)) was attested by TPM but carries no evidence")
        }
        let evidence: TPMNodeAttestation.Evidence
        do {
            evidence = try TPMNodeAttestation.decode(TPMNodeAttestation.Evidence.self, from: content.evidence, what: "TPM evidence")
        } catch {
            throw CLIError("the first link's TPM evidence is unreadable: \(error)")
        }
        guard evidence.format == TPMNodeAttestation.Evidence.currentFormat else {
            throw CLIError("the first link's TPM evidence has format '\(evidence.format)', not \(TPMNodeAttestation.Evidence.currentFormat)")
        }
        guard let values = evidence.quote.values else {
            throw CLIError("the first link's TPM evidence has PCR values not keyed by PCR index")
        }
        let ak: TPMPublicArea
        do {
            ak = try TPMPublicArea(marshalled: evidence.akPublic)
        } catch {
            throw CLIError("the first link's TPM evidence has an unreadable AK: \(error)")
        }
        let verified: VerifiedQuote
        do {
            verified = try QuoteVerifier.verifyQuote(
                attest: Array(evidence.quote.attest), signature: Array(evidence.quote.signature), akPublic: ak,
                expectedExtraData: QuoteBinding.extraData(nonce: Array(evidence.nonce), subjectPublicKeyInfo: content.publicKey),
                pcrValues: values)
        } catch .extraDataMismatch {
            throw CLIError("the TPM quote in the first link does not bind \(content.spiffeID)'s key: the hardware did not vouch for this agent key")
        } catch {
            throw CLIError("the TPM quote in the first link does not verify: \(error)")
        }
        return HardwareEvidence(
            type: TPMNodeAttestation.type, ekHash: evidence.ekHash, ekAcceptedBy: evidence.ekAcceptedBy,
            pcrs: Dictionary(uniqueKeysWithValues: verified.pcrValues.map { (String($0.key), Hex.encode($0.value)) }),
            pcrDigest: verified.pcrDigestHex)
    }

    var text: String {
        let pcrList = pcrs.keys.compactMap(Int.init).sorted().map { "\($0)=\(pcrs[String($0)] ?? "")" }
        return "hardware: TPM quote verified (EK \(ekHash), accepted by \(ekAcceptedBy); PCRs \(pcrList.joined(separator: " ")))\n"
    }
}
