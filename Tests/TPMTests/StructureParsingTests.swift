import Crypto
import Testing
import _CryptoExtras
@testable import TPM

@Suite("Parsing TPM structures")
struct StructureParsingTests {
    let rsaKey: _RSA.Signing.PrivateKey
    let rsaPublicBytes: [UInt8]
    let eccKey = P256.Signing.PrivateKey()

    init() throws {
        rsaKey = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        rsaPublicBytes = Fixtures.rsaPublic(modulus: try Fixtures.modulus(of: rsaKey))
    }

    @Test func parsesAnRSAPublicArea() throws {
        let area = try TPMPublicArea(marshalled: rsaPublicBytes)
        #expect(area.type == .rsa)
        #expect(area.nameAlgorithm == .sha256)
        #expect(area.attributes.contains([.restricted, .sign, .fixedTPM]))
        #expect(area.scheme == TPMScheme(algorithm: .rsassa, hashAlgorithm: .sha256))
        #expect(area.marshalled == rsaPublicBytes)
        guard case .rsa(let rsa) = area.parameters else {
            Issue.record("not RSA")
            return
        }
        #expect(rsa.keyBits == 2048)
        #expect(rsa.effectiveExponent == 65537)
        guard case .rsa(let key) = try area.publicKey() else {
            Issue.record("not an RSA key")
            return
        }
        #expect(key.pkcs1DERRepresentation == rsaKey.publicKey.pkcs1DERRepresentation)
        // name = nameAlg || SHA-256(TPMT_PUBLIC)
        #expect(area.name == [0x00, 0x0B] + Array(SHA256.hash(data: rsaPublicBytes)))
        #expect(area.identityHex == Array(SHA256.hash(data: rsaPublicBytes)).hexString)
    }

    @Test func parsesAnECCPublicAreaAndTheSizedForm() throws {
        let bytes = Fixtures.eccPublic(point: Array(eccKey.publicKey.rawRepresentation))
        let area = try TPMPublicArea(sizedMarshalled: Marshalling.sized(bytes))
        #expect(area.type == .ecc)
        guard case .p256(let key) = try area.publicKey() else {
            Issue.record("not a P-256 key")
            return
        }
        #expect(key.rawRepresentation == eccKey.publicKey.rawRepresentation)
    }

    @Test func everyTruncationOfAPublicAreaIsAClearError() {
        for length in 0..<rsaPublicBytes.count {
            #expect(throws: TPMStructureError.self) {
                try TPMPublicArea(marshalled: rsaPublicBytes.prefix(length))
            }
        }
        do {
            _ = try TPMPublicArea(marshalled: rsaPublicBytes.prefix(100))
            Issue.record("a truncated public area parsed")
        } catch {
            #expect(error.description.contains("TPMT_PUBLIC: truncated at unique.rsa"))
        }
    }

    @Test func trailingBytesUnsupportedTypesAndOversizedFieldsAreRefused() {
        #expect(throws: TPMStructureError.trailingBytes(structure: "TPMT_PUBLIC", count: 1)) {
            try TPMPublicArea(marshalled: rsaPublicBytes + [0])
        }
        var keyedHash = rsaPublicBytes
        keyedHash[1] = 0x08
        #expect(throws: TPMStructureError.unsupported(structure: "TPMT_PUBLIC", field: "type", value: 8)) {
            try TPMPublicArea(marshalled: keyedHash)
        }
        var oversizedPolicy = rsaPublicBytes
        oversizedPolicy[8] = 0xFF  // authPolicy.size high byte
        #expect(throws: TPMStructureError.self) {
            try TPMPublicArea(marshalled: oversizedPolicy)
        }
        var badNameAlgorithm = rsaPublicBytes
        badNameAlgorithm[3] = 0x12  // SM3_256
        #expect(throws: TPMStructureError.unsupported(structure: "TPMT_PUBLIC", field: "nameAlg", value: 0x12)) {
            try TPMPublicArea(marshalled: badNameAlgorithm)
        }
    }

    @Test func garbageNeverCrashesTheParsers() {
        var generator = Fixtures.SeededGenerator(state: 42)
        for round in 0..<2000 {
            let length = Int.random(in: 0...400, using: &generator)
            var bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            // Give half of the inputs a plausible header so parsing gets further in.
            if round % 2 == 0, bytes.count > 8 {
                bytes[0] = 0; bytes[1] = round % 4 == 0 ? 0x01 : 0x23
                bytes[2] = 0; bytes[3] = 0x0B
            }
            _ = try? TPMPublicArea(marshalled: bytes)
            _ = try? TPMPublicArea(sizedMarshalled: bytes)
            _ = try? TPMAttestation(marshalled: bytes)
            _ = try? TPMSignature(marshalled: bytes)
        }
    }

    @Test func parsesAQuoteAttestationAndRefusesEveryTruncation() throws {
        let digest = [UInt8](repeating: 7, count: 32)
        let bytes = Fixtures.quoteAttest(extraData: [1, 2, 3], pcrs: [0, 7, 16], pcrDigest: digest)
        let attestation = try TPMAttestation(marshalled: bytes)
        #expect(attestation.magic == TPMAttestation.generatedValue)
        #expect(attestation.type == TPMAttestation.quoteTag)
        #expect(attestation.extraData == [1, 2, 3])
        #expect(attestation.clockInfo.resetCount == 3)
        #expect(attestation.clockInfo.safe)
        #expect(attestation.quoteInfo?.pcrSelection == [PCRSelection(hash: .sha256, indices: [0, 7, 16])])
        #expect(attestation.quoteInfo?.pcrDigest == digest)
        for length in 0..<bytes.count {
            #expect(throws: TPMStructureError.self) {
                try TPMAttestation(marshalled: bytes.prefix(length))
            }
        }
        var badSafe = bytes
        badSafe[2 + 4 + 2 + 34 + 2 + 3 + 16] = 2
        #expect(throws: TPMStructureError.invalid(structure: "TPMS_ATTEST", field: "clockInfo.safe", reason: "2 is not a TPMI_YES_NO")) {
            try TPMAttestation(marshalled: badSafe)
        }
    }

    @Test func parsesSignaturesAndRefusesUnknownAlgorithms() throws {
        let bytes = Fixtures.rsassaSignature([UInt8](repeating: 9, count: 256))
        #expect(try TPMSignature(marshalled: bytes) == .rsassa(hash: .sha256, signature: [UInt8](repeating: 9, count: 256)))
        for length in 0..<bytes.count {
            #expect(throws: TPMStructureError.self) {
                try TPMSignature(marshalled: bytes.prefix(length))
            }
        }
        #expect(throws: TPMStructureError.unsupported(structure: "TPMT_SIGNATURE", field: "sigAlg", value: 0x10)) {
            try TPMSignature(marshalled: [0x00, 0x10])
        }
    }

    @Test func pcrSelectionsRoundTrip() throws {
        let selections = [PCRSelection(hash: .sha256, indices: [23, 0, 7, 7]), PCRSelection(hash: .sha1, indices: [])]
        var reader = TPMReader(PCRSelection.marshalList(selections), structure: "TPML_PCR_SELECTION")
        let parsed = try PCRSelection.parseList(&reader, field: "list")
        #expect(parsed == selections)
        #expect(parsed[0].indices == [0, 7, 23])
        #expect(reader.isAtEnd)
    }

    @Test func endorsementKeyCertificatePaddingIsTrimmed() {
        let der: [UInt8] = [0x30, 0x82, 0x00, 0x03, 1, 2, 3]
        #expect(EndorsementKeyCertificate.trimmed(der + [0, 0, 0xFF]) == der)
        #expect(EndorsementKeyCertificate.trimmed([0x30, 0x03, 1, 2, 3, 0]) == [0x30, 0x03, 1, 2, 3])
        #expect(EndorsementKeyCertificate.trimmed([0x30, 0x85, 0, 0]) == [0x30, 0x85, 0, 0])
        #expect(EndorsementKeyCertificate.trimmed([]) == [])
    }
}
