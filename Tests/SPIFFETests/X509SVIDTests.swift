import Authority
import Crypto
import Foundation
import SPIFFE
import SwiftASN1
import Testing
import X509
import _CryptoExtras

@Suite("X509-SVID parsing and keys")
struct X509SVIDTests {
    let id: SPIFFEID

    init() throws { id = try SPIFFEID(TestCertificates.defaultID) }

    @Test func readsPEMChainAndPKCS8Key() throws {
        let root = try CertificateAuthority.createRoot(trustDomain: id.trustDomain)
        let intermediate = try root.createIntermediate(ttl: .seconds(3600))
        let key = P256.Signing.PrivateKey()
        let chain = try intermediate.issue(X509SVIDParameters(spiffeID: id, publicKey: Certificate.PublicKey(key.publicKey)))
        let pem = CertificateEncoding.pem(chain)
        let svid = try X509SVID(certificateBytes: Array(pem.utf8), keyBytes: Array(key.pemRepresentation.utf8))
        #expect(svid.spiffeID == id)
        #expect(svid.certificates == chain)
        #expect(svid.leaf == chain[0])
        #expect(Array(svid.intermediates) == [intermediate.certificate])
        #expect(svid.expiry == chain[0].notValidAfter)
        #expect(svid.privateKey?.publicKey == chain[0].publicKey)
        // And from concatenated DER, without a key.
        let der = try X509SVID(certificateBytes: CertificateEncoding.concatenatedDER(chain))
        #expect(der.certificates == chain)
        #expect(der.privateKey == nil)
    }

    @Test("reads every private key encoding", arguments: ["pkcs8-ec", "sec1-ec", "pkcs1-rsa", "pkcs8-rsa", "der-pkcs8-ec", "der-pkcs8-rsa"])
    func readsPrivateKeyEncodings(_ encoding: String) throws {
        let bytes: [UInt8]
        let expected: Certificate.PublicKey
        switch encoding {
        case "pkcs8-ec", "sec1-ec", "der-pkcs8-ec":
            let key = P256.Signing.PrivateKey()
            expected = Certificate.PublicKey(key.publicKey)
            switch encoding {
            case "pkcs8-ec": bytes = Array(key.pemRepresentation.utf8)
            case "sec1-ec": bytes = Array(PEMDocument(type: "EC PRIVATE KEY", derBytes: Array(try sec1(key))).pemString.utf8)
            default: bytes = Array(key.derRepresentation)
            }
        default:
            let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
            expected = Certificate.PublicKey(key.publicKey)
            switch encoding {
            case "pkcs1-rsa": bytes = Array(key.pemRepresentation.utf8)
            case "pkcs8-rsa": bytes = Array(key.pkcs8PEMRepresentation.utf8)
            default: bytes = Array(key.pkcs8DERRepresentation)
            }
        }
        let key = try PrivateKeyEncoding.privateKey(from: bytes)
        #expect(key.publicKey == expected)
        // PKCS#8 out, and back in.
        let pkcs8 = try PrivateKeyEncoding.pkcs8PEM(key)
        #expect(pkcs8.hasPrefix("-----BEGIN PRIVATE KEY-----"))
        #expect(try PrivateKeyEncoding.privateKey(from: Array(pkcs8.utf8)).publicKey == expected)
        #expect(try PrivateKeyEncoding.privateKey(from: try PrivateKeyEncoding.pkcs8DER(key)).publicKey == expected)
    }

    /// SEC1 DER (`EC PRIVATE KEY`, RFC 5915) of a P-256 key, as OpenSSL writes it without the public key.
    func sec1(_ key: P256.Signing.PrivateKey) throws -> [UInt8] {
        [0x30, 0x31, 0x02, 0x01, 0x01, 0x04, 0x20] + Array(key.rawRepresentation)
            + [0xA0, 0x0A, 0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07]
    }

    @Test func refusesBadKeys() throws {
        #expect(throws: X509SVIDError.privateKey("the key file is empty")) { try PrivateKeyEncoding.privateKey(from: [UInt8]()) }
        #expect(throws: X509SVIDError.privateKey("not a PEM or DER EC/RSA private key")) {
            try PrivateKeyEncoding.privateKey(from: [0x30, 0x03, 0x02, 0x01, 0x01])
        }
        let huge = [UInt8](repeating: 0, count: CertificateEncoding.maximumInputSize + 1)
        #expect(throws: X509SVIDError.self) { try PrivateKeyEncoding.privateKey(from: huge) }
        let garbage = Array("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n".utf8)
        let error = #expect(throws: X509SVIDError.self) { try PrivateKeyEncoding.privateKey(from: garbage) }
        guard case .privateKey? = error else {
            Issue.record("expected privateKey error, got \(String(describing: error))")
            return
        }
    }

    @Test func keyMismatchIsRefused() throws {
        let root = try TestCertificates.authority()
        let leaf = try TestCertificates.leaf(issuer: root)
        let otherKey = TestCertificates.newKey()
        let error = #expect(throws: X509SVIDError.self) { try X509SVID(certificates: [leaf], privateKey: otherKey) }
        #expect(error == .keyMismatch)
        #expect(error?.description.contains("does not match") == true)

        let otherKeyPEM = Array(P256.Signing.PrivateKey().pemRepresentation.utf8)
        #expect(throws: X509SVIDError.keyMismatch) {
            try X509SVID(certificateBytes: CertificateEncoding.der(leaf), keyBytes: otherKeyPEM)
        }
    }

    @Test func matchingKeyIsAccepted() throws {
        let root = try TestCertificates.authority()
        let key = TestCertificates.newKey()
        let leaf = try TestCertificates.leaf(issuer: root, key: key)
        let svid = try X509SVID(certificates: [leaf], privateKey: key, hint: "internal")
        #expect(svid.hint == "internal")
        #expect(svid.privateKey == key)
    }

    @Test func refusesUnreadableInput() {
        #expect(throws: X509SVIDError.emptyChain) { try X509SVID(certificates: []) }
        #expect(throws: X509SVIDError.parsing(.empty)) { try X509SVID(certificateBytes: [UInt8]()) }
        #expect(throws: X509SVIDError.parsing(.notCertificates)) { try X509SVID(certificateBytes: Array("garbage".utf8)) }
        #expect(X509SVIDError.parsing(.notCertificates).description.contains("neither PEM"))
    }

    @Test func spiffeIDOfACertificate() throws {
        let root = try TestCertificates.authority()
        #expect(try X509SVID.spiffeID(of: try TestCertificates.leaf(issuer: root)) == id)
        // The root's own trust domain ID.
        #expect(try X509SVID.spiffeID(of: root.certificate) == id.trustDomain.id)
    }

    @Test func serialNumberHex() {
        #expect(Certificate.SerialNumber(bytes: [0x01, 0xab, 0x00, 0x0f]).hexString == "01ab000f")
    }
}
