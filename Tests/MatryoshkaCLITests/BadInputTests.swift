import Authority
import Foundation
import SPIFFE
import Testing

/// Bad input never crashes the CLI: each case exits 1 with one line on stderr, no signal, no hang.
@Suite("Bad input never crashes the CLI")
struct BadInputTests {
    /// A valid SVID and bundle to pair with each bad file.
    static func writeValid(to directory: URL) throws {
        let trustDomain = try TrustDomain("example.org")
        let ca = try CertificateAuthority.createRoot(trustDomain: trustDomain)
        let key = try SigningKey(generating: .ecP256)
        let chain = try ca.issue(X509SVIDParameters(spiffeID: try SPIFFEID("spiffe://example.org/w"), publicKey: key.publicKey))
        try directory.write("bundle.pem", CertificateEncoding.pem([ca.certificate]))
        try directory.write("svid.pem", CertificateEncoding.pem(chain))
        try directory.write("svid.der", CertificateEncoding.der(chain[0]))
        let jwt = try JWTAuthority.generate(trustDomain: trustDomain, notAfter: Date().addingTimeInterval(3600))
        try directory.write("jwks.json", try JWTBundle(trustDomain: trustDomain, authorities: [jwt.keyID: jwt.publicKey]).jwks())
    }

    /// `count` random bytes, eight per call of the generator: one call per byte made the 10 MB
    /// cases a minute of CPU in a debug build (a `getrandom` for every byte).
    static func random(_ count: Int) -> Data {
        var generator = SystemRandomNumberGenerator()
        var words = [UInt64](repeating: 0, count: (count + 7) / 8)
        for index in words.indices { words[index] = generator.next() }
        return words.withUnsafeBytes { Data($0.prefix(count)) }
    }

    static let tenMB = 10 * 1024 * 1024

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        /// Writes the bad file (returns its path) and gives the command's arguments.
        let arguments: @Sendable (URL) throws -> [String]
        let reason: String
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "garbage PEM as certificate", arguments: { dir in
            let bad = try dir.write("bad.pem", "-----BEGIN CERTIFICATE-----\nthis is not base64 at all!\n-----END CERTIFICATE-----\n")
            return ["svid", "verify", "--bundle", dir.path("bundle.pem"), bad]
        }, reason: "invalid PEM"),
        Case(name: "PEM without END line", arguments: { dir in
            let pem = try String(contentsOf: dir.appendingPathComponent("svid.pem"), encoding: .utf8)
            let bad = try dir.write("cut.pem", String(pem.prefix(pem.count / 2)))
            return ["svid", "verify", "--bundle", dir.path("bundle.pem"), bad]
        }, reason: "no matching END line"),
        Case(name: "garbage PEM as bundle", arguments: { dir in
            let bad = try dir.write("bad.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
            return ["svid", "verify", "--bundle", bad, dir.path("svid.pem")]
        }, reason: "bundle certificates: certificate 1 is not a valid X.509 certificate"),
        Case(name: "truncated DER", arguments: { dir in
            let der = try Data(contentsOf: dir.appendingPathComponent("svid.der"))
            let bad = try dir.write("cut.der", der.prefix(der.count - 7))
            return ["svid", "verify", "--bundle", dir.path("bundle.pem"), bad]
        }, reason: "truncated or not DER"),
        Case(name: "DER with one corrupted length byte", arguments: { dir in
            var der = try Data(contentsOf: dir.appendingPathComponent("svid.der"))
            der[5] ^= 0xFF
            let bad = try dir.write("corrupt.der", der)
            return ["svid", "verify", "--bundle", dir.path("bundle.pem"), bad]
        }, reason: "is not a valid X.509 certificate"),
        Case(name: "10 MB random file as certificate", arguments: { dir in
            ["svid", "verify", "--bundle", dir.path("bundle.pem"), try dir.write("big.bin", random(tenMB))]
        }, reason: "is 10485760 bytes; the limit is 4194304"),
        Case(name: "10 MB random file as bundle", arguments: { dir in
            ["svid", "verify", "--bundle", try dir.write("big.bin", random(tenMB)), dir.path("svid.pem")]
        }, reason: "is 10485760 bytes; the limit is 4194304"),
        Case(name: "10 MB random file as JWT bundle", arguments: { dir in
            ["jwt", "verify", "--bundle", try dir.write("big.bin", random(tenMB)), "--audience", "a",
             try JWTStatic.token()]
        }, reason: "is 10485760 bytes; the limit is 4194304"),
        Case(name: "10 MB random file as token", arguments: { dir in
            ["jwt", "verify", "--bundle", dir.path("jwks.json"), "--audience", "a", "@" + (try dir.write("big.bin", random(tenMB)))]
        }, reason: "is 10485760 bytes; the limit is"),
        Case(name: "1 MB random file, DER tag first, as certificate", arguments: { dir in
            ["svid", "verify", "--bundle", dir.path("bundle.pem"), try dir.write("r.bin", Data([0x30, 0x84]) + random(1024 * 1024))]
        }, reason: "not a valid X.509 certificate"),
        Case(name: "1 MB random file as bundle", arguments: { dir in
            ["svid", "verify", "--bundle", try dir.write("r.bin", Data("x".utf8) + random(1024 * 1024)), dir.path("svid.pem")]
        }, reason: "bundle is neither PEM, DER, a JWKS nor a SPIFFE bundle"),
        Case(name: "random JSON-looking bundle", arguments: { dir in
            ["jwt", "verify", "--bundle", try dir.write("r.json", Data("{".utf8) + random(4096)), "--audience", "a", try JWTStatic.token()]
        }, reason: "bundle is not valid JSON"),
        Case(name: "token with 3000 dots", arguments: { dir in
            ["jwt", "verify", "--bundle", dir.path("jwks.json"), "--audience", "a", String(repeating: ".", count: 3000)]
        }, reason: "expected 3 dot-separated parts (JWS compact form), found 3001"),
        Case(name: "token file of 300 KB", arguments: { dir in
            ["jwt", "verify", "--bundle", dir.path("jwks.json"), "--audience", "a", "@" + (try dir.write("t", String(repeating: "a.", count: 150_000) + "a"))]
        }, reason: "is 300001 bytes; the limit is 263168"),
        Case(name: "token just over the JWT size limit", arguments: { dir in
            ["jwt", "verify", "--bundle", dir.path("jwks.json"), "--audience", "a", "@" + (try dir.write("t", String(repeating: "a", count: 262_145)))]
        }, reason: "token is 262145 bytes; the limit is 262144 bytes"),
        Case(name: "binary token", arguments: { dir in
            ["jwt", "verify", "--bundle", dir.path("jwks.json"), "--audience", "a", "@" + (try dir.write("t", random(2000)))]
        }, reason: "malformed JWT"),
        Case(name: "nonexistent certificate", arguments: { dir in
            ["svid", "verify", "--bundle", dir.path("bundle.pem"), dir.path("does-not-exist.pem")]
        }, reason: "does-not-exist.pem: no such file"),
        Case(name: "nonexistent bundle", arguments: { dir in
            ["svid", "verify", "--bundle", dir.path("nope.pem"), dir.path("svid.pem")]
        }, reason: "nope.pem: no such file"),
        Case(name: "nonexistent token file", arguments: { dir in
            ["jwt", "verify", "--bundle", dir.path("jwks.json"), "--audience", "a", "@" + dir.path("nope")]
        }, reason: "nope: no such file"),
        Case(name: "directory as certificate", arguments: { dir in
            ["svid", "verify", "--bundle", dir.path("bundle.pem"), dir.path("")]
        }, reason: "it is a directory"),
        Case(name: "directory as bundle", arguments: { dir in
            ["jwt", "verify", "--bundle", dir.path, "--audience", "a", try JWTStatic.token()]
        }, reason: "it is a directory"),
        Case(name: "empty certificate file", arguments: { dir in
            ["svid", "verify", "--bundle", dir.path("bundle.pem"), try dir.write("empty.pem", "")]
        }, reason: "the input is empty"),
        Case(name: "empty bundle file", arguments: { dir in
            ["svid", "verify", "--bundle", try dir.write("empty.pem", ""), dir.path("svid.pem")]
        }, reason: "bundle is empty"),
        Case(name: "private key instead of certificate", arguments: { dir in
            let key = try SigningKey(generating: .ecP256).pkcs8PEM
            return ["svid", "verify", "--bundle", dir.path("bundle.pem"), try dir.write("key.pem", key)]
        }, reason: "PEM block 1 is 'PRIVATE KEY', expected 'CERTIFICATE'"),
        Case(name: "JWKS as bundle for an X509-SVID", arguments: { dir in
            ["svid", "verify", "--bundle", dir.path("jwks.json"), dir.path("svid.pem")]
        }, reason: "does not chain to an authority"),
        Case(name: "certificate as JWT bundle", arguments: { dir in
            ["jwt", "verify", "--bundle", dir.path("bundle.pem"), "--audience", "a", try JWTStatic.token()]
        }, reason: "is not in the JWT bundle"),
        Case(name: "NUL bytes and invalid UTF-8 as token", arguments: { dir in
            ["jwt", "verify", "--bundle", dir.path("jwks.json"), "--audience", "a", "@" + (try dir.write("t", Data([0xFF, 0x00, 0x2E, 0xFE, 0x2E, 0xC3])))]
        }, reason: "malformed JWT"),
    ]

    @Test("exits 1 with one line on stderr", arguments: cases)
    func refuses(_ testCase: Case) async throws {
        try await withTemporaryDirectory { directory in
            try Self.writeValid(to: directory)
            let result = try await Matryoshka.run(try testCase.arguments(directory))
            expectRefused(result, reason: testCase.reason)
        }
    }

    @Test func helpWorks() async throws {
        for arguments in [["--help"], ["svid", "verify", "--help"], ["jwt", "verify", "--help"]] {
            let result = try await Matryoshka.run(arguments)
            #expect(result.status == 0, "\(result)")
            #expect(result.stdout.contains("USAGE"), "\(result)")
        }
    }
}

/// A well-formed token the bad-bundle cases can carry (its signature is never reached).
enum JWTStatic {
    static func token() throws -> String {
        func part(_ json: String) -> String {
            Data(json.utf8).base64EncodedString().replacingOccurrences(of: "=", with: "")
                .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        }
        return part(#"{"alg":"ES256","kid":"k1","typ":"JWT"}"#) + "." + part(#"{"sub":"spiffe://example.org/w","aud":"a","exp":4102444800}"#) + ".AAAA"
    }
}
