import Foundation
import SPIFFE
import Testing
import X509

@Suite("X.509 bundles")
struct X509BundleTests {
    let trustDomain: TrustDomain

    init() throws { trustDomain = try TrustDomain("example.org") }

    @Test func readsPEMWithSeveralCertificates() throws {
        let bundle = try X509Bundle(trustDomain: trustDomain, parsing: try Fixture.bytes("x509bundle_two_roots.pem"))
        #expect(bundle.authorities.count == 2)
        #expect(bundle.authorities.map { String(describing: $0.subject) } == ["CN=Fixture Root EC", "CN=Fixture Root RSA"])
    }

    @Test func readsSingleAndConcatenatedDER() throws {
        let pem = try X509Bundle(trustDomain: trustDomain, parsing: try Fixture.bytes("x509bundle_two_roots.pem"))
        let one = try X509Bundle(trustDomain: trustDomain, parsing: try Fixture.bytes("x509bundle_one_root.der"))
        let two = try X509Bundle(trustDomain: trustDomain, parsing: try Fixture.bytes("x509bundle_two_roots.der"))
        #expect(one.authorities == [pem.authorities[0]])
        #expect(two.authorities == pem.authorities)
        #expect(two.der == (try Fixture.bytes("x509bundle_two_roots.der")))
    }

    @Test func writesPEMAndDERThatReadBack() throws {
        let bundle = try X509Bundle(trustDomain: trustDomain, parsing: try Fixture.bytes("x509bundle_two_roots.der"))
        #expect(bundle.pem.components(separatedBy: "-----BEGIN CERTIFICATE-----").count == 3)
        #expect(try X509Bundle(trustDomain: trustDomain, parsing: Array(bundle.pem.utf8)) == bundle)
        #expect(try X509Bundle(trustDomain: trustDomain, parsing: bundle.der) == bundle)
    }

    @Test func dropsDuplicatesAndSupportsAddRemove() throws {
        let roots = try X509Bundle(trustDomain: trustDomain, parsing: try Fixture.bytes("x509bundle_two_roots.pem")).authorities
        var bundle = X509Bundle(trustDomain: trustDomain, authorities: roots + roots)
        #expect(bundle.authorities == roots)
        bundle.add(roots[0])
        #expect(bundle.authorities.count == 2)
        bundle.remove(roots[0])
        #expect(bundle.authorities == [roots[1]])
    }

    @Test("refuses malformed input with the reason", arguments: [
        ("x509bundle_truncated.der", CertificateParsingError.invalidCertificate(index: 0, reason: "truncated or not DER")),
        ("x509bundle_private_key_block.pem", .unexpectedPEMBlock("PRIVATE KEY", index: 1)),
        ("x509bundle_unterminated.pem", .invalidPEM("a BEGIN line has no matching END line (truncated?)")),
        ("jwks_valid.json", .notCertificates),
    ])
    func refusesMalformed(_ fixture: String, _ expected: CertificateParsingError) throws {
        let bytes = try Fixture.bytes(fixture)
        #expect(throws: BundleError.invalidCertificates(expected)) { try X509Bundle(trustDomain: trustDomain, parsing: bytes) }
    }

    @Test func refusesEmptyHugeAndGarbage() throws {
        #expect(throws: BundleError.invalidCertificates(.empty)) { try X509Bundle(trustDomain: trustDomain, parsing: [UInt8]()) }
        let huge = [UInt8](repeating: 0x30, count: CertificateEncoding.maximumInputSize + 1)
        #expect(throws: BundleError.invalidCertificates(.tooLarge(size: huge.count, limit: CertificateEncoding.maximumInputSize))) {
            try X509Bundle(trustDomain: trustDomain, parsing: huge)
        }
        let pemGarbage = Array("-----BEGIN CERTIFICATE-----\n!!!! not base64 !!!!\n-----END CERTIFICATE-----\n".utf8)
        let error = #expect(throws: BundleError.self) { try X509Bundle(trustDomain: trustDomain, parsing: pemGarbage) }
        #expect(error == .invalidCertificates(.invalidPEM("a block's body is not valid base64")))
        // Valid base64 of something that is not a certificate.
        let notACertificate = Array("-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n".utf8)
        guard case .invalidCertificates(.invalidCertificate(index: 0, _))? = #expect(throws: BundleError.self, performing: {
            try X509Bundle(trustDomain: trustDomain, parsing: notACertificate)
        }) else {
            Issue.record("expected invalidCertificate(index: 0)")
            return
        }
    }

    @Test func randomBytesNeverCrashTheParser() throws {
        var generator = SystemRandomNumberGenerator()
        let valid = try Fixture.bytes("x509bundle_one_root.der")
        for round in 0..<300 {
            var bytes: [UInt8]
            switch round % 3 {
            case 0: bytes = (0..<Int.random(in: 0...2048, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            case 1: bytes = Array(valid.prefix(Int.random(in: 0..<valid.count, using: &generator)))  // truncated DER
            default:
                bytes = valid  // one corrupted byte
                bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            }
            if round % 3 == 0 { bytes.insert(0x30, at: 0) }  // take the DER path
            _ = try? X509Bundle(trustDomain: trustDomain, parsing: bytes)
        }
    }

    @Test func bundleIsOnlyForItsTrustDomain() throws {
        let bundle = X509Bundle(trustDomain: trustDomain, authorities: [])
        #expect(try bundle.x509Bundle(for: trustDomain) == bundle)
        let other = try TrustDomain("other.org")
        #expect(throws: BundleError.noBundle(other)) { try bundle.x509Bundle(for: other) }
    }
}
