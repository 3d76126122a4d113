import Authority
import Foundation
import SPIFFE
import SwiftASN1
import Testing
import X509

@testable import Server

/// The CRL builder and parser: DER round trips for every CA key type, tampering, PEM, and
/// openssl reading our CRLs (and refusing a revoked certificate with them).
@Suite("Certificate revocation lists")
struct CertificateRevocationListTests {
    let trustDomain: TrustDomain
    let now = Date(timeIntervalSince1970: 1_760_000_000)

    init() throws {
        trustDomain = try TrustDomain("example.org")
    }

    func leaf(_ ca: CertificateAuthority, _ path: String, now: Date? = nil) throws -> (chain: [Certificate], key: SigningKey) {
        let key = try SigningKey(generating: .ecP256)
        let chain = try ca.issue(
            X509SVIDParameters(spiffeID: try SPIFFEID("spiffe://example.org" + path), publicKey: key.publicKey, ttl: .seconds(3600)),
            now: now ?? self.now)
        return (chain, key)
    }

    @Test("a signed CRL reads back with its issuer, times, entries, number and key identifier", arguments: KeyAlgorithm.allCases)
    func roundTrip(algorithm: KeyAlgorithm) throws {
        let ca = try CertificateAuthority.createRoot(trustDomain: trustDomain, keyAlgorithm: algorithm, now: now)
        let revoked = try leaf(ca, "/revoked").chain[0]
        let kept = try leaf(ca, "/kept").chain[0]
        let revokedAt = now.addingTimeInterval(60)
        let crl = try ca.signCRL(
            entries: [CertificateRevocationList.Entry(serialNumber: revoked.serialNumber, revocationDate: revokedAt)],
            thisUpdate: now, nextUpdate: now.addingTimeInterval(7200), crlNumber: 42)
        let parsed = try CertificateRevocationList(derEncoded: crl.derEncoded)
        #expect(parsed == crl)
        #expect(parsed.version == 2)
        #expect(parsed.issuer == ca.certificate.subject)
        #expect(parsed.thisUpdate == now && parsed.nextUpdate == now.addingTimeInterval(7200))
        #expect(parsed.crlNumber == 42)
        #expect(parsed.authorityKeyIdentifier == ca.keyIdentifier)
        #expect(parsed.signatureAlgorithm == ca.key.signatureAlgorithm)
        #expect(parsed.entries.count == 1)
        #expect(parsed.entry(for: revoked.serialNumber)?.revocationDate == revokedAt)
        #expect(parsed.entry(for: kept.serialNumber) == nil)
        #expect(parsed.isSigned(by: ca.certificate))
        #expect(!parsed.isStale(at: now.addingTimeInterval(7199)) && parsed.isStale(at: now.addingTimeInterval(7201)))
    }

    @Test("a CRL signed with fractional times is the CRL its DER reads back as (whole seconds)")
    func builtEqualsParsed() throws {
        let ca = try CertificateAuthority.createRoot(trustDomain: trustDomain, now: now)
        let entries = try (0..<50).map { index in
            CertificateRevocationList.Entry(serialNumber: try leaf(ca, "/w/\(index)").chain[0].serialNumber, revocationDate: now.addingTimeInterval(Double(index) + 0.6))
        }
        let crl = try ca.signCRL(entries: entries, thisUpdate: now.addingTimeInterval(0.4), nextUpdate: now.addingTimeInterval(600.9), crlNumber: 7)
        #expect(try CertificateRevocationList(derEncoded: crl.derEncoded) == crl)
        #expect(crl.thisUpdate == now && crl.nextUpdate == now.addingTimeInterval(600))
        #expect(crl.entry(for: entries[3].serialNumber)?.revocationDate == now.addingTimeInterval(3))
    }

    @Test("an empty CRL leaves revokedCertificates out and still verifies")
    func emptyList() throws {
        let ca = try CertificateAuthority.createRoot(trustDomain: trustDomain, now: now)
        let crl = try ca.signCRL(entries: [], thisUpdate: now, nextUpdate: now.addingTimeInterval(60), crlNumber: 1)
        #expect(crl.entries.isEmpty && crl.isSigned(by: ca.certificate))
        // TBSCertList: version, signature, issuer, thisUpdate, nextUpdate, [0] extensions: no SEQUENCE OF entries.
        let tbs = try DER.parse(crl.derEncoded)
        guard case .constructed(let parts) = tbs.content, let first = parts.first(where: { _ in true }),
              case .constructed(let fields) = first.content
        else { throw RevocationTestFailure("not a SEQUENCE") }
        #expect(Array(fields).map(\.identifier) == [.integer, .sequence, .sequence, .utcTime, .utcTime, ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)])
    }

    @Test("a CRL signed by another CA, or altered, does not verify")
    func forgery() throws {
        let ca = try CertificateAuthority.createRoot(trustDomain: trustDomain, now: now)
        let other = try CertificateAuthority.createRoot(trustDomain: trustDomain, now: now)
        let serial = try leaf(ca, "/w").chain[0].serialNumber
        let crl = try ca.signCRL(
            entries: [CertificateRevocationList.Entry(serialNumber: serial, revocationDate: now)],
            thisUpdate: now, nextUpdate: now.addingTimeInterval(60), crlNumber: 7)
        #expect(!crl.isSigned(by: other.certificate))
        // Flip one byte of the serial number inside the signed part.
        var bytes = crl.derEncoded
        let serialBytes = Array(serial.bytes)
        let offset = try #require(bytes.indices.first { Array(bytes[$0..<min($0 + serialBytes.count, bytes.count)]) == serialBytes })
        bytes[offset + serialBytes.count - 1] ^= 0x01
        let altered = try CertificateRevocationList(derEncoded: bytes)
        #expect(!altered.isSigned(by: ca.certificate))
        #expect(altered.entry(for: serial) == nil)
    }

    @Test("PEM and concatenated DER hold several CRLs; junk is refused with a reason")
    func files() throws {
        let first = try CertificateAuthority.createRoot(trustDomain: trustDomain, now: now)
        let second = try CertificateAuthority.createRoot(trustDomain: trustDomain, keyAlgorithm: .ecP384, now: now)
        let a = try first.signCRL(entries: [], thisUpdate: now, nextUpdate: now.addingTimeInterval(60), crlNumber: 1)
        let b = try second.signCRL(entries: [], thisUpdate: now, nextUpdate: now.addingTimeInterval(60), crlNumber: 2)
        #expect(try CertificateRevocationList.parseAll(Array((a.pemEncoded + b.pemEncoded).utf8)) == [a, b])
        #expect(try CertificateRevocationList.parseAll(a.derEncoded + b.derEncoded) == [a, b])
        #expect(a.pemEncoded.hasPrefix("-----BEGIN X509 CRL-----\n"))
        #expect(throws: CRLError.self) { try CertificateRevocationList.parseAll(Array("hello".utf8)) }
        #expect(throws: CRLError.self) { try CertificateRevocationList.parseAll(Array(a.derEncoded.dropLast())) }
        let certificatePEM = "-----BEGIN CERTIFICATE-----\n" + Data(CertificateEncoding.der(first.certificate)).base64EncodedString(options: .lineLength64Characters)
            + "\n-----END CERTIFICATE-----\n"
        let error = #expect(throws: CRLError.self) { try CertificateRevocationList.parseAll(Array(certificatePEM.utf8)) }
        #expect(error?.description.contains("CERTIFICATE") == true)
    }

    @Test("openssl parses our CRL and refuses a revoked SVID with it, accepting one that is not revoked")
    func openSSLInterop() async throws {
        guard OpenSSL.path != nil else {
            Issue.record("openssl is not installed; the interop check did not run")
            return
        }
        try await withTemporaryDirectory { directory in
            let now = Date()
            let ca = try CertificateAuthority.createRoot(trustDomain: trustDomain, now: now.addingTimeInterval(-60))
            let revoked = try leaf(ca, "/revoked", now: now).chain[0]
            let kept = try leaf(ca, "/kept", now: now).chain[0]
            let crl = try ca.signCRL(
                entries: [CertificateRevocationList.Entry(serialNumber: revoked.serialNumber, revocationDate: now)],
                thisUpdate: now.addingTimeInterval(-10), nextUpdate: now.addingTimeInterval(3600), crlNumber: 3)
            func write(_ name: String, _ bytes: [UInt8]) throws -> String {
                let url = directory.appendingPathComponent(name)
                try Data(bytes).write(to: url)
                return url.path
            }
            func pem(_ certificate: Certificate) -> [UInt8] {
                Array(("-----BEGIN CERTIFICATE-----\n" + Data(CertificateEncoding.der(certificate)).base64EncodedString(options: .lineLength64Characters)
                    + "\n-----END CERTIFICATE-----\n").utf8)
            }
            let der = try write("crl.der", crl.derEncoded)
            let crlPEM = try write("crl.pem", Array(crl.pemEncoded.utf8))
            let bundle = try write("bundle.pem", pem(ca.certificate))
            let revokedPath = try write("revoked.pem", pem(revoked))
            let keptPath = try write("kept.pem", pem(kept))

            let text = try await OpenSSL.run(["crl", "-inform", "DER", "-in", der, "-noout", "-text"], in: directory)
            #expect(text.status == 0, "\(text)")
            #expect(text.stdout.contains("Version 2"), "\(text)")
            #expect(text.stdout.contains("X509v3 CRL Number") && text.stdout.contains("3"), "\(text)")
            #expect(text.stdout.contains("X509v3 Authority Key Identifier"), "\(text)")
            #expect(text.stdout.uppercased().contains(revoked.serialNumber.hexString.uppercased()), "\(text)")
            let signature = try await OpenSSL.run(["crl", "-in", crlPEM, "-CAfile", bundle, "-noout"], in: directory)
            #expect(signature.status == 0 && signature.output.contains("verify OK"), "\(signature)")

            let refused = try await OpenSSL.run(["verify", "-crl_check", "-CRLfile", crlPEM, "-CAfile", bundle, revokedPath], in: directory)
            #expect(refused.status != 0, "\(refused)")
            #expect(refused.output.contains("certificate revoked"), "\(refused)")
            let accepted = try await OpenSSL.run(["verify", "-crl_check", "-CRLfile", crlPEM, "-CAfile", bundle, keptPath], in: directory)
            #expect(accepted.status == 0 && accepted.stdout.contains("OK"), "\(accepted)")
        }
    }

    @Test("a CRL made by openssl (openssl ca -gencrl) reads back with its revoked serial")
    func readsOpenSSLCRL() async throws {
        guard OpenSSL.path != nil else {
            Issue.record("openssl is not installed; the interop check did not run")
            return
        }
        try await withTemporaryDirectory { directory in
            let config = """
                [ ca ]
                default_ca = test_ca
                [ test_ca ]
                database = \(directory.path)/index.txt
                crlnumber = \(directory.path)/crlnumber
                default_md = sha256
                default_crl_days = 1
                [ req ]
                distinguished_name = dn
                prompt = no
                [ dn ]
                CN = openssl test CA
                [ v3_ca ]
                basicConstraints = critical, CA:TRUE
                keyUsage = critical, keyCertSign, cRLSign
                subjectKeyIdentifier = hash
                [ crl_ext ]
                authorityKeyIdentifier = keyid
                """
            try Data(config.utf8).write(to: directory.appendingPathComponent("openssl.cnf"))
            try Data().write(to: directory.appendingPathComponent("index.txt"))
            try Data("1000\n".utf8).write(to: directory.appendingPathComponent("crlnumber"))
            let steps: [[String]] = [
                ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
                 "-days", "1", "-config", "openssl.cnf", "-extensions", "v3_ca"],
                ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "leaf.key", "-out", "leaf.csr",
                 "-subj", "/CN=leaf", "-config", "openssl.cnf"],
                ["x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial", "0x8a3f01", "-days", "1", "-out", "leaf.pem"],
                ["ca", "-config", "openssl.cnf", "-keyfile", "ca.key", "-cert", "ca.pem", "-revoke", "leaf.pem", "-crl_reason", "keyCompromise"],
                ["ca", "-config", "openssl.cnf", "-keyfile", "ca.key", "-cert", "ca.pem", "-gencrl", "-crlexts", "crl_ext", "-out", "crl.pem"],
            ]
            for step in steps {
                let result = try await OpenSSL.run(step, in: directory)
                try #require(result.status == 0, "openssl \(step.joined(separator: " ")): \(result)")
            }
            let lists = try CertificateRevocationList.parseAll(Array(try Data(contentsOf: directory.appendingPathComponent("crl.pem"))))
            let crl = try #require(lists.first)
            let caCertificate = try #require(try CertificateEncoding.certificates(from: Array(try Data(contentsOf: directory.appendingPathComponent("ca.pem")))).first)
            #expect(crl.isSigned(by: caCertificate))
            #expect(crl.crlNumber == 0x1000)
            #expect(crl.entry(for: Certificate.SerialNumber(bytes: [0x00, 0x8a, 0x3f, 0x01])) != nil)
            #expect(crl.entries.count == 1)
        }
    }
}
