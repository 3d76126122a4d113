import Foundation

/// The messages of TPM 2.0 node attestation (`tpm`), shared by the server's attestor and the
/// agent's client. Each is JSON (bytes as base64), carried in the node API's `payload`,
/// `challenge` and `challenge_response` fields.
///
/// 1. Agent → server, payload: ``Payload`` — the EK public area, the EK certificate if the TPM has
///    one, and a fresh AK public area.
/// 2. Server → agent: ``Challenge`` of kind ``ChallengeKind/activateCredential`` — a credential
///    (TPM2_MakeCredential) for the AK's name under the EK. Agent → server: ``ActivationAnswer``
///    with the secret TPM2_ActivateCredential released.
/// 3. Server → agent: ``Challenge`` of kind ``ChallengeKind/quote`` — a nonce and the PCRs to
///    quote. Agent → server: ``QuoteAnswer`` — TPM2_Quote with extraData
///    `QuoteBinding.extraData(nonce, SPKI of the agent SVID key)` and the PCR values.
///
/// Continuous attestation (`Node.Reattest`, authenticated by the agent SVID) is step 3 alone, with
/// the AK from the evidence in the SVID's first lineage link and the SVID's key in the binding.
public enum TPMNodeAttestation {
    /// The attestation type on the wire.
    public static let type = "tpm"

    /// What the agent sends first.
    public struct Payload: Codable, Sendable, Hashable {
        /// Marshalled `TPMT_PUBLIC` of the EK (no size prefix).
        public var ekPublic: Data
        /// The EK certificate (DER), if the TPM has one.
        public var ekCertificate: Data?
        /// Marshalled `TPMT_PUBLIC` of a fresh attestation key under the EK.
        public var akPublic: Data

        public init(ekPublic: Data, ekCertificate: Data?, akPublic: Data) {
            self.ekPublic = ekPublic
            self.ekCertificate = ekCertificate
            self.akPublic = akPublic
        }

        enum CodingKeys: String, CodingKey { case ekPublic = "ek_public", ekCertificate = "ek_certificate", akPublic = "ak_public" }
    }

    /// What a challenge asks for.
    public enum ChallengeKind: String, Codable, Sendable, Hashable {
        case activateCredential = "activate_credential"
        case quote
    }

    /// A question from the server.
    public struct Challenge: Codable, Sendable, Hashable {
        public var kind: ChallengeKind
        /// ``ChallengeKind/activateCredential``: the marshalled `TPM2B_ID_OBJECT`.
        public var credentialBlob: Data?
        /// ``ChallengeKind/activateCredential``: the marshalled `TPM2B_ENCRYPTED_SECRET`.
        public var encryptedSecret: Data?
        /// ``ChallengeKind/quote``: the server's fresh nonce.
        public var nonce: Data?
        /// ``ChallengeKind/quote``: the SHA-256 PCRs to quote.
        public var pcrs: [Int]?

        public static func activateCredential(credentialBlob: [UInt8], encryptedSecret: [UInt8]) -> Challenge {
            Challenge(kind: .activateCredential, credentialBlob: Data(credentialBlob), encryptedSecret: Data(encryptedSecret))
        }

        public static func quote(nonce: [UInt8], pcrs: [Int]) -> Challenge {
            Challenge(kind: .quote, nonce: Data(nonce), pcrs: pcrs)
        }

        enum CodingKeys: String, CodingKey {
            case kind, credentialBlob = "credential_blob", encryptedSecret = "encrypted_secret", nonce, pcrs
        }
    }

    /// The answer to ``ChallengeKind/activateCredential``.
    public struct ActivationAnswer: Codable, Sendable, Hashable {
        public var secret: Data
        public init(secret: Data) { self.secret = secret }
    }

    /// The answer to ``ChallengeKind/quote``.
    public struct QuoteAnswer: Codable, Sendable, Hashable {
        /// The marshalled `TPMS_ATTEST`.
        public var attest: Data
        /// The marshalled `TPMT_SIGNATURE`.
        public var signature: Data
        /// SHA-256 PCR values by index (decimal string keys, as JSON objects need).
        public var pcrValues: [String: Data]

        public init(attest: Data, signature: Data, pcrValues: [Int: [UInt8]]) {
            self.attest = attest
            self.signature = signature
            self.pcrValues = Dictionary(uniqueKeysWithValues: pcrValues.map { (String($0.key), Data($0.value)) })
        }

        /// The PCR values by index; nil if a key is not a PCR index.
        public var values: [Int: [UInt8]]? {
            var result: [Int: [UInt8]] = [:]
            for (key, value) in pcrValues {
                guard let index = Int(key), (0...23).contains(index) else { return nil }
                result[index] = Array(value)
            }
            return result
        }

        enum CodingKeys: String, CodingKey { case attest, signature, pcrValues = "pcr_values" }
    }

    /// What the server keeps of a successful TPM attestation, in the first lineage link's
    /// `evidence`: enough for anyone to re-check offline that the TPM quoted for a nonce bound to
    /// the link's public key (``QuoteAnswer`` plus the AK and the nonce), and for the server to
    /// re-attest with the same AK.
    public struct Evidence: Codable, Sendable, Hashable {
        /// The format: `matryoshka/tpm-evidence/v1`.
        public var format: String
        /// SHA-256 hex of the EK public area: the agent's identity.
        public var ekHash: String
        /// How the EK was accepted: `allow_list` or `ek_certificate`.
        public var ekAcceptedBy: String
        /// Marshalled `TPMT_PUBLIC` of the activated AK.
        public var akPublic: Data
        /// The nonce the server sent.
        public var nonce: Data
        /// The quote, its signature and the PCR values.
        public var quote: QuoteAnswer

        public static let currentFormat = "matryoshka/tpm-evidence/v1"

        public init(ekHash: String, ekAcceptedBy: String, akPublic: Data, nonce: Data, quote: QuoteAnswer) {
            self.format = Self.currentFormat
            self.ekHash = ekHash
            self.ekAcceptedBy = ekAcceptedBy
            self.akPublic = akPublic
            self.nonce = nonce
            self.quote = quote
        }

        enum CodingKeys: String, CodingKey {
            case format, ekHash = "ek_hash", ekAcceptedBy = "ek_accepted_by", akPublic = "ak_public", nonce, quote
        }
    }

    static let codec = AttestationMessageCodec(method: "TPM")

    /// Canonical JSON (sorted keys) of a message.
    public static func encode(_ value: some Encodable) throws(NodeAttestationError) -> [UInt8] {
        try codec.encode(value)
    }

    /// Decodes a message; `what` names it in the error.
    public static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8], what: String) throws(NodeAttestationError) -> T {
        try codec.decode(type, from: bytes, what: what)
    }
}
