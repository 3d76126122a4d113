import Authority
import Crypto
import Foundation
import SPIFFE
import Testing
import X509

/// Our output checked by independent implementations: openssl, Python `cryptography`, PyJWT.
@Suite("Interop: our SVIDs and bundles verified by openssl and Python")
struct ReverseInteropTests {
    static let id = "spiffe://example.org/workload"

    /// Writes `bundle.pem`, `leaf.pem`, `chain.pem` (leaf + intermediates) and `untrusted.pem` (intermediates).
    func writeSVID(_ algorithm: KeyAlgorithm, intermediate: Bool, to directory: URL) throws {
        let trustDomain = try TrustDomain("example.org")
        let root = try CertificateAuthority.createRoot(trustDomain: trustDomain, keyAlgorithm: algorithm)
        let ca = intermediate ? try root.createIntermediate(keyAlgorithm: algorithm, ttl: .seconds(7200)) : root
        let key = try SigningKey(generating: algorithm)
        let chain = try ca.issue(X509SVIDParameters(spiffeID: try SPIFFEID(Self.id), publicKey: key.publicKey, dnsNames: ["workload.example.org"]))
        try directory.write("bundle.pem", X509Bundle(trustDomain: trustDomain, authorities: [root.certificate]).pem)
        try directory.write("leaf.pem", CertificateEncoding.pem([chain[0]]))
        try directory.write("chain.pem", CertificateEncoding.pem(chain))
        try directory.write("untrusted.pem", CertificateEncoding.pem(Array(chain.dropFirst())))
    }

    static let cases: [(KeyAlgorithm, Bool)] = KeyAlgorithm.allCases.flatMap { [($0, false), ($0, true)] }

    @Test("openssl verify accepts our X509-SVIDs (also with -x509_strict)", arguments: cases)
    func opensslVerifies(_ algorithm: KeyAlgorithm, _ intermediate: Bool) async throws {
        try await withTemporaryDirectory { directory in
            try writeSVID(algorithm, intermediate: intermediate, to: directory)
            var arguments = ["verify", "-CAfile", "bundle.pem", "-purpose", "any"]
            if intermediate { arguments += ["-untrusted", "untrusted.pem"] }
            for strict in [[], ["-x509_strict"]] {
                let result = try await Subprocess.run("openssl", arguments + strict + ["leaf.pem"], in: directory)
                #expect(result.succeeded, "\(result)")
                #expect(result.stdout.contains("leaf.pem: OK"), "\(result)")
            }
            // And as TLS client and server certificates (our leaves carry both EKUs).
            for purpose in ["sslclient", "sslserver"] {
                let result = try await Subprocess.run("openssl", ["verify", "-CAfile", "bundle.pem", "-purpose", purpose]
                    + (intermediate ? ["-untrusted", "untrusted.pem"] : []) + ["leaf.pem"], in: directory)
                #expect(result.succeeded, "\(result)")
            }
        }
    }

    @Test("Python cryptography's verifier accepts our X509-SVIDs", arguments: cases)
    func pythonVerifies(_ algorithm: KeyAlgorithm, _ intermediate: Bool) async throws {
        try await Matryoshka.requirePython()
        try await withTemporaryDirectory { directory in
            try writeSVID(algorithm, intermediate: intermediate, to: directory)
            let result = try await Matryoshka.python(["verify-x509", directory.path("bundle.pem"), directory.path("chain.pem")])
            #expect(result.succeeded, "\(result)")
            let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
            #expect(report["uris"] as? [String] == [Self.id])
            #expect(report["chain"] as? Int == (intermediate ? 3 : 2))
        }
    }

    @Test func opensslRefusesAnSVIDFromAnotherCA() async throws {
        // A control: the checks above would catch a broken chain.
        try await withTemporaryDirectory { directory in
            try writeSVID(.ecP256, intermediate: false, to: directory)
            let other = try CertificateAuthority.createRoot(trustDomain: try TrustDomain("example.org"))
            try directory.write("other.pem", CertificateEncoding.pem([other.certificate]))
            let result = try await Subprocess.run("openssl", ["verify", "-CAfile", "other.pem", "leaf.pem"], in: directory)
            #expect(!result.succeeded)
        }
    }

    @Test("PyJWT verifies our JWT-SVIDs with our JWKS; kid is the RFC 7638 thumbprint", arguments: KeyAlgorithm.allCases)
    func pyJWTVerifies(_ algorithm: KeyAlgorithm) async throws {
        try await Matryoshka.requirePython()
        let trustDomain = try TrustDomain("example.org")
        let authority = try JWTAuthority.generate(trustDomain: trustDomain, keyAlgorithm: algorithm, notAfter: Date().addingTimeInterval(3600))
        let token = try await authority.sign(spiffeID: try SPIFFEID(Self.id), audience: ["spiffe://example.org/service", "other"])
        let bundle = JWTBundle(trustDomain: trustDomain, authorities: [authority.keyID: authority.publicKey])
        try await withTemporaryDirectory { directory in
            let jwks = try directory.write("jwks.json", try bundle.jwks())
            let tokenFile = try directory.write("token", token)
            let result = try await Matryoshka.python(["verify-jwt", jwks, tokenFile, "spiffe://example.org/service"])
            #expect(result.succeeded, "\(result)")
            let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
            #expect(report["sub"] as? String == Self.id)
            #expect(report["alg"] as? String == authority.key.jwsAlgorithm)
            #expect(report["typ"] as? String == "JWT")
            #expect(report["kid"] as? String == authority.keyID)
            #expect(report["thumbprint"] as? String == authority.keyID)

            // A wrong audience is refused by PyJWT too (a control for the check above).
            let refused = try await Matryoshka.python(["verify-jwt", jwks, tokenFile, "spiffe://example.org/nobody"])
            #expect(!refused.succeeded)
            #expect(refused.stderr.contains("InvalidAudienceError"), "\(refused)")
        }
    }

    @Test func pythonReadsOurSPIFFEBundle() async throws {
        try await Matryoshka.requirePython()
        let trustDomain = try TrustDomain("example.org")
        let ec = try CertificateAuthority.createRoot(trustDomain: trustDomain)
        let rsa = try CertificateAuthority.createRoot(trustDomain: trustDomain, keyAlgorithm: .rsa2048)
        let jwt = try JWTAuthority.generate(trustDomain: trustDomain, notAfter: Date().addingTimeInterval(3600))
        let bundle = SPIFFEBundle(
            trustDomain: trustDomain, x509Authorities: [ec.certificate, rsa.certificate],
            jwtAuthorities: [jwt.keyID: jwt.publicKey], sequenceNumber: 12, refreshHint: 300)
        try await withTemporaryDirectory { directory in
            let path = try directory.write("bundle.json", try bundle.json())
            let result = try await Matryoshka.python(["check-spiffe-bundle", path])
            #expect(result.succeeded, "\(result)")
            let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
            #expect(report["x509"] as? Int == 2)
            #expect(report["jwt"] as? [String] == [jwt.keyID])
            #expect(report["sequence"] as? Int == 12)
            #expect(report["refresh_hint"] as? Int == 300)
            // Python verifies a token against the same SPIFFE bundle document.
            let token = try await jwt.sign(spiffeID: try SPIFFEID(Self.id), audience: ["a"])
            let verified = try await Matryoshka.python(["verify-jwt", path, try directory.write("token", token), "a"])
            #expect(verified.succeeded, "\(verified)")
        }
    }

    @Test func opensslCSRsAreAcceptedOrRefusedByOurCA() async throws {
        try await withTemporaryDirectory { directory in
            try await Subprocess.check("openssl", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "key.pem"], in: directory)
            let id = try SPIFFEID(Self.id)
            // A plain CSR, and one naming the same SPIFFE ID.
            for extra in [[], ["-addext", "subjectAltName=URI:\(Self.id)"]] {
                try await Subprocess.check("openssl", ["req", "-new", "-key", "key.pem", "-subj", "/CN=workload", "-outform", "DER", "-out", "csr.der"] + extra, in: directory)
                let parameters = try X509SVIDParameters(spiffeID: id, csrDER: Array(try Data(contentsOf: directory.appendingPathComponent("csr.der"))))
                let publicKey = try await Subprocess.check("openssl", ["pkey", "-in", "key.pem", "-pubout"], in: directory)
                #expect(parameters.publicKey == (try Certificate.PublicKey(pemEncoded: publicKey)))
            }
            // A CSR naming another SPIFFE ID is refused.
            try await Subprocess.check("openssl", ["req", "-new", "-key", "key.pem", "-subj", "/CN=workload", "-outform", "DER",
                                                   "-addext", "subjectAltName=URI:spiffe://example.org/admin", "-out", "admin.der"], in: directory)
            let der = Array(try Data(contentsOf: directory.appendingPathComponent("admin.der")))
            #expect(throws: AuthorityError.csrIdentityMismatch(requested: Self.id, csr: "spiffe://example.org/admin")) {
                try X509SVIDParameters(spiffeID: id, csrDER: der)
            }
        }
    }
}
