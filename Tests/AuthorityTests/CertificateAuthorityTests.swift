@testable import Authority
import Crypto
import Foundation
import SPIFFE
import SwiftASN1
import Testing
import X509
import _CryptoExtras

@Suite("Certificate authority: roots, intermediates, loading")
struct CertificateAuthorityTests {
    @Test("root for each key algorithm", arguments: KeyAlgorithm.allCases)
    func root(_ algorithm: KeyAlgorithm) throws {
        let now = TestValues.wholeSeconds()
        let ca = try CertificateAuthority.createRoot(trustDomain: TestValues.trustDomain, keyAlgorithm: algorithm, ttl: .seconds(7200), now: now)
        let certificate = ca.certificate
        #expect(ca.key.algorithm == algorithm)
        #expect(certificate.publicKey == ca.key.publicKey)
        #expect(certificate.signatureAlgorithm == ca.key.signatureAlgorithm)
        #expect(ca.isSelfSigned)
        #expect(ca.upstreamChain.isEmpty)
        #expect(certificate.subject == certificate.issuer)
        #expect(certificate.publicKey.isValidSignature(certificate.signature, for: certificate))
        // cA=true, critical.
        #expect(try certificate.extensions.basicConstraints == .isCertificateAuthority(maxPathLength: nil))
        #expect(certificate.isCritical(.X509ExtensionID.basicConstraints) == true)
        // keyUsage keyCertSign (and cRLSign for CRLs), critical.
        let keyUsage = try #require(try certificate.extensions.keyUsage)
        #expect(keyUsage.keyCertSign)
        #expect(keyUsage.cRLSign)
        #expect(certificate.isCritical(.X509ExtensionID.keyUsage) == true)
        // The trust domain's own SPIFFE ID.
        #expect(try certificate.uriSANs == ["spiffe://example.org"])
        #expect(try certificate.extensions.subjectKeyIdentifier?.keyIdentifier == SubjectKeyIdentifier(hash: certificate.publicKey).keyIdentifier)
        // Validity: back-dated for clock skew, ttl long.
        #expect(certificate.notValidBefore == now.addingTimeInterval(-CertificateAuthority.backdate))
        #expect(certificate.notValidAfter == now.addingTimeInterval(7200))
        #expect(certificate.version == .v3)
    }

    @Test func keyAlgorithmDetails() throws {
        #expect(KeyAlgorithm.default == .ecP256)
        #expect(KeyAlgorithm.allCases.map(\.rawValue) == ["ec-p256", "ec-p384", "rsa-2048", "rsa-3072"])
        let expected: [KeyAlgorithm: (String, Certificate.SignatureAlgorithm)] = [
            .ecP256: ("ES256", .ecdsaWithSHA256), .ecP384: ("ES384", .ecdsaWithSHA384),
            .rsa2048: ("RS256", .sha256WithRSAEncryption), .rsa3072: ("RS256", .sha256WithRSAEncryption),
        ]
        for algorithm in KeyAlgorithm.allCases {
            let key = try SigningKey(generating: algorithm)
            #expect(key.jwsAlgorithm == expected[algorithm]?.0)
            #expect(key.signatureAlgorithm == expected[algorithm]?.1)
            // Stored as PKCS#8 PEM and read back.
            #expect(key.pkcs8PEM.hasPrefix("-----BEGIN PRIVATE KEY-----"))
            let reread = try SigningKey(pem: key.pkcs8PEM)
            #expect(reread.publicKey == key.publicKey)
            #expect(reread.algorithm == algorithm)
        }
        if case .rsa2048 = try SigningKey(generating: .rsa2048).algorithm {} else { Issue.record("RSA-2048 key reports another size") }
    }

    @Test("generated EC keys are distinct, sign, and verify under an independent parse", arguments: [KeyAlgorithm.ecP256, .ecP384])
    func generatedECKeys(algorithm: KeyAlgorithm) throws {
        var seen = Set<[UInt8]>()
        for _ in 0..<32 {
            let key = try SigningKey(generating: algorithm)
            let spki = key.publicKey.spkiDER
            #expect(seen.insert(spki).inserted)
            let message = Array("matryoshka".utf8)
            switch key.backing {
            case .p256(let privateKey):
                #expect(try P256.Signing.PublicKey(derRepresentation: spki).isValidSignature(try privateKey.signature(for: message), for: message))
            case .p384(let privateKey):
                #expect(try P384.Signing.PublicKey(derRepresentation: spki).isValidSignature(try privateKey.signature(for: message), for: message))
            case .rsa:
                Issue.record("an EC algorithm made an RSA key")
            }
        }
    }

    @Test func ecKeyGenerationRedrawsOutOfRangeScalarsAndGivesUpClearly() throws {
        // An out-of-range draw is redrawn, not returned...
        var draws = 0
        let key = try SigningKey.ecKey(scalarBytes: 32) { bytes -> P256.Signing.PrivateKey in
            draws += 1
            #expect(bytes.count == 32)
            if draws < 3 { return try P256.Signing.PrivateKey(rawRepresentation: [UInt8](repeating: 0, count: 32)) }
            return try P256.Signing.PrivateKey(rawRepresentation: bytes)
        }
        #expect(draws == 3)
        #expect(key.rawRepresentation.count == 32)
        // ...and a generator that never yields a valid scalar is an error, not a hang.
        #expect(throws: AuthorityError.keyGeneration("no valid EC private key in 16 draws from the system random number generator")) {
            _ = try SigningKey.ecKey(scalarBytes: 32) { _ -> P256.Signing.PrivateKey in
                try P256.Signing.PrivateKey(rawRepresentation: [UInt8](repeating: 0xFF, count: 32))
            }
        }
    }

    @Test("the subject key identifier from SPKI bytes is the one swift-certificates derives", arguments: KeyAlgorithm.allCases)
    func subjectKeyIdentifierFromSPKIBytes(algorithm: KeyAlgorithm) throws {
        let key = try SigningKey(generating: algorithm).publicKey
        #expect(try CertificateAuthority.keyIdentifier(ofSPKI: key.spkiDER) == SubjectKeyIdentifier(hash: key))
        let ca = try CertificateAuthority.createRoot(trustDomain: TestValues.trustDomain)
        var parameters = X509SVIDParameters(spiffeID: TestValues.workload, publicKey: key)
        let derived = try ca.issue(parameters)[0]
        parameters.publicKeySPKI = key.spkiDER
        let given = try ca.issue(parameters)[0]
        #expect(try given.extensions.subjectKeyIdentifier == (try derived.extensions.subjectKeyIdentifier))
        #expect(try given.extensions.subjectKeyIdentifier == SubjectKeyIdentifier(hash: key))
    }

    @Test func subjectKeyIdentifierRefusesBytesThatAreNotSPKI() {
        for bytes: [UInt8] in [[], [0x30, 0x00], [0x04, 0x01, 0x00], [0x30, 0x03, 0x02, 0x01, 0x00]] {
            #expect(throws: (any Error).self) { try CertificateAuthority.keyIdentifier(ofSPKI: bytes) }
        }
    }

    @Test func signingKeyRefusesUnsupportedPEM() throws {
        let expected = AuthorityError.invalidKey("not a PEM EC P-256, EC P-384 or RSA (≥ 2048 bits) private key")
        #expect(throws: expected) { try SigningKey(pem: "") }
        #expect(throws: expected) { try SigningKey(pem: P521.Signing.PrivateKey().pemRepresentation) }
        #expect(throws: expected) { try SigningKey(pem: try _RSA.Signing.PrivateKey(unsafeKeySize: .init(bitCount: 1024)).pemRepresentation) }
        #expect(throws: expected) { try SigningKey(pem: P256.Signing.PrivateKey().publicKey.pemRepresentation) }
    }

    @Test func loadingRefusesAMismatchedKey() throws {
        let ca = try CertificateAuthority.createRoot(trustDomain: TestValues.trustDomain)
        let reloaded = try CertificateAuthority(trustDomain: ca.trustDomain, certificate: ca.certificate, key: try SigningKey(pem: ca.key.pkcs8PEM))
        #expect(reloaded.certificate == ca.certificate)
        let error = #expect(throws: AuthorityError.self) {
            try CertificateAuthority(trustDomain: ca.trustDomain, certificate: ca.certificate, key: try SigningKey(generating: .ecP256))
        }
        #expect(error == .keyDoesNotMatchCertificate)
        #expect(error?.description == "the CA private key does not match the CA certificate")
    }

    @Test func loadingRefusesCertificatesThatCannotSign() throws {
        let ca = try CertificateAuthority.createRoot(trustDomain: TestValues.trustDomain)
        // A leaf: cA=false.
        let leafKey = try SigningKey(generating: .ecP256)
        let leaf = try ca.issue(X509SVIDParameters(spiffeID: TestValues.workload, publicKey: leafKey.publicKey))[0]
        #expect(throws: AuthorityError.notACertificateAuthority("basicConstraints cA is not true")) {
            try CertificateAuthority(trustDomain: ca.trustDomain, certificate: leaf, key: leafKey)
        }
        // cA=true but keyUsage without keyCertSign.
        let key = try SigningKey(generating: .ecP256)
        let name = try DistinguishedName { CommonName("No keyCertSign") }
        let weak = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: key.publicKey,
            notValidBefore: Date(), notValidAfter: Date().addingTimeInterval(3600), issuer: name, subject: name,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(digitalSignature: true, cRLSign: true))
            },
            issuerPrivateKey: key.certificatePrivateKey)
        #expect(throws: AuthorityError.notACertificateAuthority("keyUsage lacks keyCertSign")) {
            try CertificateAuthority(trustDomain: ca.trustDomain, certificate: weak, key: key)
        }
    }

    @Test func loadingRefusesAnUnreadableSubjectKeyIdentifierAndDerivesAMissingOne() throws {
        let trustDomain = TestValues.trustDomain
        let key = try SigningKey(generating: .ecP256)
        let name = try DistinguishedName { CommonName("SKI test") }
        func selfSigned(_ extra: Certificate.Extension?) throws -> Certificate {
            var extensions = try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(digitalSignature: true, keyCertSign: true, cRLSign: true))
            }
            if let extra { try extensions.append(extra) }
            return try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: key.publicKey,
                notValidBefore: Date(), notValidAfter: Date().addingTimeInterval(3600), issuer: name, subject: name,
                signatureAlgorithm: .ecdsaWithSHA256, extensions: extensions, issuerPrivateKey: key.certificatePrivateKey)
        }
        // Refused when it is loaded, not at its first issuance.
        let garbled = try selfSigned(Certificate.Extension(oid: .X509ExtensionID.subjectKeyIdentifier, critical: false, value: [0x05]))
        let error = #expect(throws: AuthorityError.self) { try CertificateAuthority(trustDomain: trustDomain, certificate: garbled, key: key) }
        guard case .invalidCertificate(let reason)? = error else {
            Issue.record("expected invalidCertificate, got \(String(describing: error))")
            return
        }
        #expect(reason.hasPrefix("unreadable subjectKeyIdentifier"))

        // Without one, issued certificates name the identifier derived from the CA's key.
        let ca = try CertificateAuthority(trustDomain: trustDomain, certificate: try selfSigned(nil), key: key)
        #expect(ca.isSelfSigned)
        #expect(ca.keyIdentifier == Array(SubjectKeyIdentifier(hash: key.publicKey).keyIdentifier))
        let leaf = try ca.issue(X509SVIDParameters(spiffeID: TestValues.workload, publicKey: TestValues.newPublicKey()))[0]
        #expect(try leaf.extensions.authorityKeyIdentifier?.keyIdentifier.map(Array.init) == ca.keyIdentifier)
    }

    @Test func rootRefusesNonPositiveTTL() {
        #expect(throws: AuthorityError.invalidTTL("CA TTL must be positive")) {
            try CertificateAuthority.createRoot(trustDomain: TestValues.trustDomain, ttl: .zero)
        }
    }

    @Test func intermediateIsSignedByItsParentAndNeverOutlivesIt() throws {
        let now = TestValues.wholeSeconds()
        let root = try CertificateAuthority.createRoot(trustDomain: TestValues.trustDomain, ttl: .seconds(3600), now: now, commonName: "Root")
        let intermediate = try root.createIntermediate(keyAlgorithm: .ecP384, ttl: .seconds(86400), now: now)
        let certificate = intermediate.certificate
        #expect(!intermediate.isSelfSigned)
        #expect(certificate.issuer == root.certificate.subject)
        #expect(certificate.subject != root.certificate.subject)
        #expect(root.certificate.publicKey.isValidSignature(certificate.signature, for: certificate))
        #expect(certificate.notValidAfter == root.certificate.notValidAfter)  // clamped
        #expect(try certificate.extensions.basicConstraints == .isCertificateAuthority(maxPathLength: nil))
        #expect(try certificate.extensions.keyUsage?.keyCertSign == true)
        #expect(try certificate.extensions.authorityKeyIdentifier?.keyIdentifier == (try root.certificate.extensions.subjectKeyIdentifier?.keyIdentifier))
        #expect(intermediate.upstreamChain.isEmpty)
        #expect(intermediate.key.algorithm == .ecP384)

        let chain = try intermediate.issue(X509SVIDParameters(spiffeID: TestValues.workload, publicKey: TestValues.newPublicKey()))
        #expect(chain.count == 2)
        #expect(chain[1] == certificate)
    }

    @Test func nestedIntermediatesCarryTheirUpstreamChain() throws {
        let root = try CertificateAuthority.createRoot(trustDomain: TestValues.trustDomain)
        let first = try root.createIntermediate(ttl: .seconds(3600))
        let second = try first.createIntermediate(ttl: .seconds(3600))
        #expect(second.certificate.subject != first.certificate.subject)
        #expect(second.upstreamChain == [first.certificate])
        let chain = try second.issue(X509SVIDParameters(spiffeID: TestValues.workload, publicKey: TestValues.newPublicKey()))
        #expect(chain == [chain[0], second.certificate, first.certificate])
    }

    @Test func sameNamedIntermediatesAreNotMistakenForSelfSigned() throws {
        // An operator may give every intermediate the same name; a CA is only self-signed if it
        // signed itself.
        let root = try CertificateAuthority.createRoot(trustDomain: TestValues.trustDomain)
        let first = try root.createIntermediate(ttl: .seconds(3600), commonName: "Intermediate")
        let second = try first.createIntermediate(ttl: .seconds(3600), commonName: "Intermediate")
        #expect(!second.isSelfSigned)
        let chain = try second.issue(X509SVIDParameters(spiffeID: TestValues.workload, publicKey: TestValues.newPublicKey()))
        #expect(chain.count == 3)
    }
}
