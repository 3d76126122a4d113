import Authority
import Foundation
import MatryoshkaCLI
import SPIFFE
import Testing

/// The CLI library directly: what `svid verify` and `jwt verify` do, without a process.
@Suite("Offline verification (library)")
struct OfflineVerificationTests {
    let trustDomain: TrustDomain
    let id: SPIFFEID

    init() throws {
        trustDomain = try TrustDomain("example.org")
        id = try SPIFFEID("spiffe://example.org/workload")
    }

    @Test func verifiesAnX509SVIDWithEveryBundleFormat() async throws {
        let ca = try CertificateAuthority.createRoot(trustDomain: trustDomain)
        let intermediate = try ca.createIntermediate(ttl: .seconds(3600))
        let chain = try intermediate.issue(X509SVIDParameters(spiffeID: id, publicKey: try SigningKey().publicKey))
        try await withTemporaryDirectory { directory in
            let svid = try directory.write("svid.pem", CertificateEncoding.pem(chain))
            let bundles = [
                try directory.write("bundle.pem", CertificateEncoding.pem([ca.certificate])),
                try directory.write("bundle.der", CertificateEncoding.der(ca.certificate)),
                try directory.write("bundle.json", try SPIFFEBundle(trustDomain: trustDomain, x509Authorities: [ca.certificate], sequenceNumber: 1).json()),
            ]
            for bundle in bundles {
                let report = try await OfflineVerification.verifyX509SVID(certificatePath: svid, bundlePath: bundle)
                #expect(report.spiffeID == id.description)
                #expect(report.expiresAt == chain[0].notValidAfter)
                #expect(report.notBefore == chain[0].notValidBefore)
                #expect(report.serialNumber == chain[0].serialNumber.hexString)
                #expect(report.chain.count == 3)
                #expect(report.text.hasPrefix(id.description + "\nexpires: "))
            }
            // At a time after expiry.
            let later = chain[0].notValidAfter.addingTimeInterval(1)
            let error = await #expect(throws: CLIError.self) {
                try await OfflineVerification.verifyX509SVID(certificatePath: svid, bundlePath: bundles[0], at: later)
            }
            #expect(error?.message.hasPrefix("certificate expired at") == true)
        }
    }

    @Test func errorsNameTheFile() async throws {
        try await withTemporaryDirectory { directory in
            let garbage = try directory.write("garbage.pem", "hello")
            let error = await #expect(throws: CLIError.self) {
                try await OfflineVerification.verifyX509SVID(certificatePath: garbage, bundlePath: garbage)
            }
            #expect(error?.message == "\(garbage): input is neither PEM (no '-----BEGIN' line) nor DER certificates")
            #expect(throws: CLIError("\(garbage): bundle is neither PEM, DER, a JWKS nor a SPIFFE bundle")) {
                try OfflineVerification.readBundle(garbage, trustDomain: trustDomain)
            }
        }
    }

    @Test func verifiesAJWTSVIDAndReportsItsClaims() async throws {
        let now = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        let authority = try JWTAuthority.generate(trustDomain: trustDomain, notAfter: now.addingTimeInterval(3600))
        let token = try await authority.sign(spiffeID: id, audience: ["svc"], extraClaims: ["team": .string("ci")], now: now)
        try await withTemporaryDirectory { directory in
            let bundle = try directory.write("jwks.json", try JWTBundle(trustDomain: trustDomain, authorities: [authority.keyID: authority.publicKey]).jwks())
            let report = try await OfflineVerification.verifyJWTSVID(token: token, bundlePath: bundle, audience: "svc", at: now)
            #expect(report.spiffeID == id.description)
            #expect(report.audience == ["svc"])
            #expect(report.keyID == authority.keyID)
            #expect(report.algorithm == "ES256")
            #expect(report.claims["team"] == .string("ci"))
            #expect(report.expiresAt == now.addingTimeInterval(300))
            #expect(report.text.contains("  team: ci\n"))

            let json = ReportFormat.json(report)
            #expect(json.hasSuffix("}\n"))
            #expect(!json.dropLast().contains("\n"))
            let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
            #expect(Set(object.keys) == ["spiffe_id", "expires_at", "audience", "kid", "alg", "claims"])

            // Leeway: ten seconds after expiry passes with the default, fails with none.
            let late = now.addingTimeInterval(305)
            _ = try await OfflineVerification.verifyJWTSVID(token: token, bundlePath: bundle, audience: "svc", at: late)
            let error = await #expect(throws: CLIError.self) {
                try await OfflineVerification.verifyJWTSVID(token: token, bundlePath: bundle, audience: "svc", leeway: .zero, at: late)
            }
            #expect(error?.message.hasPrefix("JWT-SVID expired at") == true)
        }
    }

    @Test("--trust-domain", arguments: [
        ("example.org", nil),
        ("spiffe://example.org", nil),
        ("other.org", "SVID is in trust domain 'example.org', not 'other.org'"),
        ("Example.org", "--trust-domain: trust domain has invalid character 'E' at offset 0: only lower-case letters, digits, '.', '-' and '_' are allowed (trust domain names are lower case)"),
        ("example.org:443", "--trust-domain: SPIFFE ID must not contain a port in its trust domain"),
    ])
    func trustDomainOption(_ given: String, _ failure: String?) async throws {
        let authority = try JWTAuthority.generate(trustDomain: trustDomain, notAfter: Date().addingTimeInterval(3600))
        let token = try await authority.sign(spiffeID: id, audience: ["svc"])
        try await withTemporaryDirectory { directory in
            let bundle = try directory.write("jwks.json", try JWTBundle(trustDomain: trustDomain, authorities: [authority.keyID: authority.publicKey]).jwks())
            if let failure {
                await #expect(throws: CLIError(failure)) {
                    try await OfflineVerification.verifyJWTSVID(token: token, bundlePath: bundle, audience: "svc", trustDomain: given)
                }
            } else {
                let report = try await OfflineVerification.verifyJWTSVID(token: token, bundlePath: bundle, audience: "svc", trustDomain: given)
                #expect(report.spiffeID == id.description)
            }
        }
    }

    @Test func inputFileReadsTokensFromFilesAndRefusesWhatItCannotRead() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = try directory.write("token", "\n  a.b.c \n")
        #expect(try InputFile.token("@" + file) == "a.b.c")
        #expect(try InputFile.token("a.b.c") == "a.b.c")
        #expect(throws: CLIError("cannot read \(directory.path("missing")): no such file")) { try InputFile.read(directory.path("missing")) }
        #expect(throws: CLIError("cannot read \(directory.path): it is a directory")) { try InputFile.read(directory.path) }
        let big = try directory.write("big", Data(count: 11))
        #expect(throws: CLIError("\(big) is 11 bytes; the limit is 10")) { try InputFile.read(big, limit: 10) }
        #expect(try InputFile.read(big, limit: 11).count == 11)
    }

    @Test("relative times", arguments: [
        (30.0, "in 30s"), (-30, "30s ago"), (119, "in 119s"), (120, "in 2m"), (7199, "in 119m"),
        (7200, "in 2h"), (-86400, "24h ago"), (172_800, "in 2d"), (0, "in 0s"),
    ])
    func relativeTime(_ offset: TimeInterval, _ expected: String) {
        let now = Date(timeIntervalSince1970: 1_000_000)
        #expect(ReportFormat.relative(now.addingTimeInterval(offset), now: now) == expected)
    }

    @Test func datesAreISO8601() {
        #expect(ReportFormat.date(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00Z")
    }
}
