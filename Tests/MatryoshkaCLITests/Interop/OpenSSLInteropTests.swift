import Foundation
import Testing

/// `matryoshka svid verify` against certificates made by `openssl`.
@Suite("Interop: X509-SVIDs made by openssl", .openSSLFixture)
struct OpenSSLInteropTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let certificate: String
        let bundle: String
        let arguments: [String]
        /// nil: accepted; otherwise the reason the one stderr line must contain.
        let refusal: String?
        var testDescription: String { "\(certificate) with \(bundle)\(arguments.isEmpty ? "" : " " + arguments.joined(separator: " "))" }

        init(_ certificate: String, bundle: String = "root.pem", _ arguments: [String] = [], refusal: String? = nil) {
            self.certificate = certificate
            self.bundle = bundle
            self.arguments = arguments
            self.refusal = refusal
        }
    }

    static let accepted = [
        Case("valid.pem"),
        Case("valid.der", bundle: "root.der"),
        Case("valid.pem", bundle: "root.der"),
        Case("valid.der", bundle: "both-roots.pem"),
        Case("valid-rsa.pem", bundle: "root-rsa.pem"),
        Case("valid-rsa.pem", bundle: "both-roots.pem"),
        Case("via-intermediate-chain.pem"),
        Case("valid.pem", ["--trust-domain", "example.org"]),
        Case("valid.pem", bundle: "root-spiffe-bundle.json"),
    ]

    static let refused = [
        Case("leaf_ca_true.pem", refusal: "leaf certificate is a CA (basicConstraints cA=true)"),
        Case("leaf_key_cert_sign.pem", refusal: "keyUsage has keyCertSign"),
        Case("leaf_crl_sign.pem", refusal: "keyUsage has cRLSign"),
        Case("leaf_no_digital_signature.pem", refusal: "keyUsage lacks digitalSignature"),
        Case("leaf_no_key_usage.pem", refusal: "has no keyUsage extension"),
        Case("leaf_no_uri.pem", refusal: "has no URI SAN"),
        Case("leaf_two_uris.pem", refusal: "has 2 URI SANs"),
        Case("leaf_https_uri.pem", refusal: "'https://example.org/workload' is not a valid SPIFFE ID"),
        Case("expired.pem", refusal: "certificate expired at 2020-01-02T00:00:00Z"),
        Case("not-yet-valid.pem", refusal: "certificate is not valid before 2099-01-01T00:00:00Z"),
        Case("wrong-ca.pem", refusal: "does not chain to an authority in the bundle for 'example.org'"),
        Case("valid-rsa.pem", refusal: "does not chain to an authority"),
        Case("under-expired-root.pem", bundle: "expired-root.pem", refusal: "CA certificate 'CN=Expired Root' expired at 2021-01-01T00:00:00Z"),
        Case("via-not-ca-chain.pem", refusal: "signing certificate 'CN=intermediate-not-ca' is not a CA"),
        Case("via-intermediate.pem", refusal: "does not chain to an authority"),  // intermediate missing
        Case("valid.pem", bundle: "valid.pem", refusal: "itself in the trust bundle"),
        Case("valid.pem", ["--trust-domain", "other.org"], refusal: "SVID is in trust domain 'example.org', not 'other.org'"),
        Case("valid.pem", ["--trust-domain", "Other.org"], refusal: "--trust-domain: trust domain has invalid character 'O'"),
        // The bundle file names no trust domain; --trust-domain pins it.
        Case("leaf_other_domain.pem", ["--trust-domain", "example.org"], refusal: "SVID is in trust domain 'other.org', not 'example.org'"),
    ]

    func verify(_ testCase: Case) async throws -> ProcessResult {
        let fixture = try OpenSSLFixture.get()
        return try await Matryoshka.run(
            ["svid", "verify", "--bundle", fixture.path(testCase.bundle)] + testCase.arguments + [fixture.path(testCase.certificate)])
    }

    @Test("accepted", arguments: accepted)
    func accepts(_ testCase: Case) async throws {
        expectAccepted(try await verify(testCase), id: OpenSSLFixture.spiffeID)
    }

    @Test("refused with the reason", arguments: refused)
    func refuses(_ testCase: Case) async throws {
        expectRefused(try await verify(testCase), reason: try #require(testCase.refusal))
    }

    @Test func jsonReportMatchesWhatOpenSSLSays() async throws {
        let fixture = try OpenSSLFixture.get()
        let result = try await Matryoshka.run(["svid", "verify", "--json", "--bundle", fixture.path("root.pem"), fixture.path("via-intermediate-chain.pem")])
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout.split(separator: "\n").count == 1)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(report["spiffe_id"] as? String == OpenSSLFixture.spiffeID)
        let chain = try #require(report["chain"] as? [String])
        #expect(chain.count == 3)
        #expect(chain.first?.contains("CN=workload") == true)
        #expect(chain.last?.contains("CN=Test Root") == true)

        // expires_at and the serial number agree with openssl's own reading of the certificate.
        let expiresAt = try #require(report["expires_at"] as? String)
        let enddate = try await Subprocess.check("openssl", ["x509", "-in", fixture.path("via-intermediate.pem"), "-noout", "-enddate", "-dateopt", "iso_8601"])
        // openssl: "notAfter=2026-11-24 12:00:00Z"; ours: "2026-11-24T12:00:00Z"
        #expect(enddate.trimmingCharacters(in: .whitespacesAndNewlines) == "notAfter=" + expiresAt.replacingOccurrences(of: "T", with: " "))
        let serial = try await Subprocess.check("openssl", ["x509", "-in", fixture.path("via-intermediate.pem"), "-noout", "-serial"])
        #expect(serial.trimmingCharacters(in: .whitespacesAndNewlines).lowercased() == "serial=" + (report["serial_number"] as? String ?? ""))
        #expect(report["not_before"] is String)
    }

    @Test func textReportShowsIDExpiryAndChain() async throws {
        let fixture = try OpenSSLFixture.get()
        let result = try await Matryoshka.run(["svid", "verify", "--bundle", fixture.path("root.pem"), fixture.path("valid.pem")])
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == OpenSSLFixture.spiffeID)
        #expect(lines.contains { $0.hasPrefix("expires: ") && $0.contains("(in ") })
        #expect(lines.contains { $0.hasPrefix("chain:") && $0.contains("CN=workload") && $0.contains("CN=Test Root") })
    }

    @Test func certificateFromStandardInput() async throws {
        let fixture = try OpenSSLFixture.get()
        let pem = try Data(contentsOf: URL(fileURLWithPath: fixture.path("valid.pem")))
        let result = try await Subprocess.run(try Matryoshka.executable(), ["svid", "verify", "--bundle", fixture.path("root.pem"), "-"], stdin: pem)
        expectAccepted(result, id: OpenSSLFixture.spiffeID)
    }
}
