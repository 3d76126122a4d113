import Authority
import Crypto
import Foundation
import SPIFFE
import Testing
import X509
import _CryptoExtras

/// Keys shared by the JWT-SVID tests (RSA generation is slow) and the bundle that trusts them.
enum JWTKeys {
    static let p256 = P256.Signing.PrivateKey()
    static let p384 = P384.Signing.PrivateKey()
    static let p521 = P521.Signing.PrivateKey()
    static let rsa: _RSA.Signing.PrivateKey = {
        // 2048 bits is always a valid size; generation only fails on invalid sizes.
        guard let key = try? _RSA.Signing.PrivateKey(keySize: .bits2048) else { fatalError("RSA key generation failed") }
        return key
    }()
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static let subject = "spiffe://example.org/workload"
    static let audience = "spiffe://example.org/service"

    static let trustDomain: TrustDomain = {
        guard let trustDomain = try? TrustDomain("example.org") else { fatalError("invalid literal") }
        return trustDomain
    }()

    static var bundle: JWTBundle {
        JWTBundle(trustDomain: trustDomain, authorities: [
            "p256": Certificate.PublicKey(p256.publicKey),
            "p384": Certificate.PublicKey(p384.publicKey),
            "p521": Certificate.PublicKey(p521.publicKey),
            "rsa": Certificate.PublicKey(rsa.publicKey),
        ])
    }

    static func header(alg: String = "ES256", kid: String = "p256", typ: String? = "JWT") -> [String: JSONValue] {
        var header: [String: JSONValue] = ["alg": .string(alg), "kid": .string(kid)]
        if let typ { header["typ"] = .string(typ) }
        return header
    }

    static func claims(
        sub: String = subject, aud: JSONValue = .array([.string(audience)]), exp: TimeInterval = 300
    ) -> [String: JSONValue] {
        ["sub": .string(sub), "aud": aud, "exp": .integer(Int64(now.timeIntervalSince1970 + exp)),
         "iat": .integer(Int64(now.timeIntervalSince1970))]
    }

    /// A valid ES256 token, with the header and claims adjusted by the caller.
    static func token(
        header: [String: JSONValue] = header(), claims: [String: JSONValue] = claims(), key: JWS.Key = .p256(p256)
    ) throws -> String {
        try JWS.token(header: header, claims: claims, key: key)
    }

    static func verify(_ token: String, audience: String = audience, leeway: Duration = .seconds(10)) async throws(JWTSVIDError) -> JWTSVID {
        try await JWTSVIDVerifier(bundles: bundle, leeway: leeway).verify(token, audience: audience, now: now)
    }
}

@Suite("JWT-SVID verification")
struct JWTSVIDVerifierTests {
    @Test("tokens signed by our JWTAuthority verify", arguments: KeyAlgorithm.allCases)
    func authorityTokensVerify(_ algorithm: KeyAlgorithm) async throws {
        let trustDomain = try TrustDomain("example.org")
        let authority = try JWTAuthority.generate(trustDomain: trustDomain, keyAlgorithm: algorithm, notAfter: Date().addingTimeInterval(3600))
        let id = try SPIFFEID("spiffe://example.org/workload")
        let token = try await authority.sign(spiffeID: id, audience: ["a", "b"], extraClaims: ["lineage": .array([])])
        let bundle = JWTBundle(trustDomain: trustDomain, authorities: [authority.keyID: authority.publicKey])
        let svid = try await JWTSVIDVerifier(bundles: bundle).verify(token, audience: "b")
        #expect(svid.spiffeID == id)
        #expect(svid.audience == ["a", "b"])
        #expect(svid.keyID == authority.keyID)
        #expect(svid.algorithm == authority.key.jwsAlgorithm)
        #expect(svid.header["typ"] == .string("JWT"))
        #expect(svid.claims["lineage"] == .array([]))
        // The bundle as JWKS, written and read back, verifies the same token.
        let reread = try JWTBundle(trustDomain: trustDomain, jwks: try bundle.jwks())
        #expect(try await JWTSVIDVerifier(bundles: reread).verify(token, audience: "a").spiffeID == id)
    }

    @Test("every allowed algorithm verifies", arguments: [
        ("ES256", "p256"), ("ES384", "p384"), ("ES512", "p521"),
        ("RS256", "rsa"), ("RS384", "rsa"), ("RS512", "rsa"),
        ("PS256", "rsa"), ("PS384", "rsa"), ("PS512", "rsa"),
    ])
    func allowedAlgorithms(_ alg: String, _ kid: String) async throws {
        let key: JWS.Key = switch kid {
        case "p256": .p256(JWTKeys.p256)
        case "p384": .p384(JWTKeys.p384)
        case "p521": .p521(JWTKeys.p521)
        default: .rsa(JWTKeys.rsa)
        }
        let token = try JWTKeys.token(header: JWTKeys.header(alg: alg, kid: kid), key: key)
        let svid = try await JWTKeys.verify(token)
        #expect(svid.algorithm == alg)
        #expect(svid.spiffeID.description == JWTKeys.subject)
    }

    @Test func acceptedVariants() async throws {
        // typ absent or JOSE.
        _ = try await JWTKeys.verify(try JWTKeys.token(header: JWTKeys.header(typ: nil)))
        _ = try await JWTKeys.verify(try JWTKeys.token(header: JWTKeys.header(typ: "JOSE")))
        // aud as a single string, and as an array with several members.
        let single = try await JWTKeys.verify(try JWTKeys.token(claims: JWTKeys.claims(aud: .string(JWTKeys.audience))))
        #expect(single.audience == [JWTKeys.audience])
        let several = try await JWTKeys.verify(try JWTKeys.token(claims: JWTKeys.claims(aud: .array([.string("x"), .string(JWTKeys.audience)]))))
        #expect(several.audience == ["x", JWTKeys.audience])
        // Expired, but within the leeway.
        let recent = try await JWTKeys.verify(try JWTKeys.token(claims: JWTKeys.claims(exp: -5)), leeway: .seconds(10))
        #expect(recent.expiry == JWTKeys.now.addingTimeInterval(-5))
        // nbf slightly ahead, within the leeway; iat is read.
        var claims = JWTKeys.claims()
        claims["nbf"] = .integer(Int64(JWTKeys.now.timeIntervalSince1970 + 5))
        let early = try await JWTKeys.verify(try JWTKeys.token(claims: claims))
        #expect(early.notBefore == JWTKeys.now.addingTimeInterval(5))
        #expect(early.issuedAt == JWTKeys.now)
        // Whitespace around the token (a trailing newline from a file) is trimmed.
        let token = try JWTKeys.token()
        #expect(try await JWTKeys.verify("  \n" + token + "\r\n").token == token)
    }

    struct Refusal: Sendable, CustomTestStringConvertible {
        let name: String
        let make: @Sendable () throws -> String
        let expected: @Sendable (JWTSVIDError) -> Bool
        let rule: String
        var leeway: Duration = .seconds(10)
        var testDescription: String { name }
    }

    static func equals(_ error: JWTSVIDError) -> @Sendable (JWTSVIDError) -> Bool { { $0 == error } }

    static let refusals: [Refusal] = {
        let now = JWTKeys.now.timeIntervalSince1970
        var result: [Refusal] = [
            Refusal(name: "alg none", make: { try JWTKeys.token(header: JWTKeys.header(alg: "none"), key: .none) },
                    expected: equals(.unsupportedAlgorithm("none")), rule: "'none' is not allowed"),
            Refusal(name: "alg none with a signature", make: { try JWTKeys.token(header: JWTKeys.header(alg: "none")) },
                    expected: equals(.unsupportedAlgorithm("none")), rule: "'none' is not allowed"),
            Refusal(name: "HS256", make: { try JWTKeys.token(header: JWTKeys.header(alg: "HS256"), key: .hmac(Array(repeating: 7, count: 32))) },
                    expected: equals(.unsupportedAlgorithm("HS256")), rule: "'HS256' is not allowed"),
            Refusal(name: "EdDSA", make: { try JWTKeys.token(header: JWTKeys.header(alg: "EdDSA"), key: .ed25519(Curve25519.Signing.PrivateKey())) },
                    expected: equals(.unsupportedAlgorithm("EdDSA")), rule: "'EdDSA' is not allowed"),
            Refusal(name: "lower-case alg", make: { try JWTKeys.token(header: JWTKeys.header(alg: "es256")) },
                    expected: equals(.unsupportedAlgorithm("es256")), rule: "not allowed"),
            Refusal(name: "missing alg", make: {
                var header = JWTKeys.header(); header["alg"] = nil
                return try JWTKeys.token(header: header)
            }, expected: equals(.missingAlgorithm), rule: "no 'alg'"),
            Refusal(name: "alg not a string", make: {
                var header = JWTKeys.header(); header["alg"] = .integer(1)
                return try JWTKeys.token(header: header)
            }, expected: equals(.missingAlgorithm), rule: "no 'alg'"),
            Refusal(name: "typ at+jwt", make: { try JWTKeys.token(header: JWTKeys.header(typ: "at+jwt")) },
                    expected: equals(.unsupportedType("at+jwt")), rule: "typ must be absent, 'JWT' or 'JOSE'"),
            Refusal(name: "crit header", make: {
                var header = JWTKeys.header(); header["crit"] = .array([.string("exp")]); header["exp"] = .integer(1)
                return try JWTKeys.token(header: header)
            }, expected: equals(.criticalHeaders(["exp"])), rule: "critical: exp"),
            Refusal(name: "missing kid", make: {
                var header = JWTKeys.header(); header["kid"] = nil
                return try JWTKeys.token(header: header)
            }, expected: equals(.missingKeyID), rule: "no 'kid'"),
            Refusal(name: "empty kid", make: { try JWTKeys.token(header: JWTKeys.header(kid: "")) },
                    expected: equals(.missingKeyID), rule: "no 'kid'"),
            Refusal(name: "unknown kid", make: { try JWTKeys.token(header: JWTKeys.header(kid: "nope")) },
                    expected: equals(.unknownKeyID("nope", trustDomain: JWTKeys.trustDomain)), rule: "'nope' is not in the JWT bundle"),
            Refusal(name: "ES384 header with a P-256 key", make: { try JWTKeys.token(header: JWTKeys.header(alg: "ES384", kid: "p256")) },
                    expected: equals(.keyAlgorithmMismatch(algorithm: "ES384", key: "EC P-256")), rule: "ES384 cannot be used with the bundle's EC P-256 key"),
            Refusal(name: "RS256 header with an EC key", make: { try JWTKeys.token(header: JWTKeys.header(alg: "RS256", kid: "p256")) },
                    expected: equals(.keyAlgorithmMismatch(algorithm: "RS256", key: "EC P-256")), rule: "cannot be used"),
            Refusal(name: "ES256 header with an RSA key", make: { try JWTKeys.token(header: JWTKeys.header(alg: "ES256", kid: "rsa")) },
                    expected: equals(.keyAlgorithmMismatch(algorithm: "ES256", key: "RSA")), rule: "cannot be used"),
            Refusal(name: "PS256 token checked as RS256", make: {
                let token = try JWTKeys.token(header: JWTKeys.header(alg: "PS256", kid: "rsa"), key: .rsa(JWTKeys.rsa))
                let rs = try JWTKeys.token(header: JWTKeys.header(alg: "RS256", kid: "rsa"), key: .rsa(JWTKeys.rsa))
                // RS256 header and payload with the PSS signature.
                return rs.split(separator: ".").prefix(2).joined(separator: ".") + "." + token.split(separator: ".")[2]
            }, expected: equals(.invalidSignature), rule: "signature is invalid"),
            Refusal(name: "bad signature", make: {
                var parts = try JWTKeys.token().split(separator: ".").map(String.init)
                var signature = Array(parts[2])
                signature[10] = signature[10] == "A" ? "B" : "A"
                parts[2] = String(signature)
                return parts.joined(separator: ".")
            }, expected: equals(.invalidSignature), rule: "signature is invalid"),
            Refusal(name: "signed by another key with the same kid", make: { try JWTKeys.token(key: .p256(P256.Signing.PrivateKey())) },
                    expected: equals(.invalidSignature), rule: "signature is invalid"),
            Refusal(name: "payload swapped after signing", make: {
                let good = try JWTKeys.token().split(separator: ".")
                let other = try JWTKeys.token(claims: JWTKeys.claims(sub: "spiffe://example.org/admin")).split(separator: ".")
                return [good[0], other[1], good[2]].joined(separator: ".")
            }, expected: equals(.invalidSignature), rule: "signature is invalid"),
            Refusal(name: "missing sub", make: { var c = JWTKeys.claims(); c["sub"] = nil; return try JWTKeys.token(claims: c) },
                    expected: equals(.missingClaim("sub")), rule: "no 'sub' claim"),
            Refusal(name: "missing aud", make: { var c = JWTKeys.claims(); c["aud"] = nil; return try JWTKeys.token(claims: c) },
                    expected: equals(.missingClaim("aud")), rule: "no 'aud' claim"),
            Refusal(name: "missing exp", make: { var c = JWTKeys.claims(); c["exp"] = nil; return try JWTKeys.token(claims: c) },
                    expected: equals(.missingClaim("exp")), rule: "no 'exp' claim"),
            Refusal(name: "sub not a SPIFFE ID", make: { try JWTKeys.token(claims: JWTKeys.claims(sub: "workload@example.org")) },
                    expected: equals(.invalidSubject("workload@example.org", reason: .wrongScheme(found: ""))), rule: "is not a valid SPIFFE ID"),
            Refusal(name: "sub with a query", make: { try JWTKeys.token(claims: JWTKeys.claims(sub: "spiffe://example.org/w?x")) },
                    expected: equals(.invalidSubject("spiffe://example.org/w?x", reason: .queryNotAllowed)), rule: "query"),
            Refusal(name: "sub not a string", make: { var c = JWTKeys.claims(); c["sub"] = .integer(1); return try JWTKeys.token(claims: c) },
                    expected: equals(.invalidClaim("sub", reason: "not a string")), rule: "'sub' is invalid"),
            Refusal(name: "aud mismatch", make: { try JWTKeys.token(claims: JWTKeys.claims(aud: .array([.string("other")]))) },
                    expected: equals(.audienceMismatch(expected: JWTKeys.audience, actual: ["other"])), rule: "does not contain"),
            Refusal(name: "aud string mismatch", make: { try JWTKeys.token(claims: JWTKeys.claims(aud: .string("other"))) },
                    expected: equals(.audienceMismatch(expected: JWTKeys.audience, actual: ["other"])), rule: "does not contain"),
            Refusal(name: "aud empty list", make: { try JWTKeys.token(claims: JWTKeys.claims(aud: .array([]))) },
                    expected: equals(.invalidClaim("aud", reason: "empty list")), rule: "'aud' is invalid"),
            Refusal(name: "aud a number", make: { try JWTKeys.token(claims: JWTKeys.claims(aud: .integer(3))) },
                    expected: equals(.invalidClaim("aud", reason: "not a string or list of strings")), rule: "'aud' is invalid"),
            Refusal(name: "aud list with a number", make: { try JWTKeys.token(claims: JWTKeys.claims(aud: .array([.string("a"), .integer(3)]))) },
                    expected: equals(.invalidClaim("aud", reason: "not a string or list of strings")), rule: "'aud' is invalid"),
            Refusal(name: "exp a string", make: { var c = JWTKeys.claims(); c["exp"] = .string("tomorrow"); return try JWTKeys.token(claims: c) },
                    expected: equals(.invalidClaim("exp", reason: "not a number")), rule: "'exp' is invalid"),
            Refusal(name: "nbf a string", make: { var c = JWTKeys.claims(); c["nbf"] = .string("x"); return try JWTKeys.token(claims: c) },
                    expected: equals(.invalidClaim("nbf", reason: "not a number")), rule: "'nbf' is invalid"),
            Refusal(name: "expired beyond the leeway", make: { try JWTKeys.token(claims: JWTKeys.claims(exp: -11)) },
                    expected: equals(.expired(expiry: Date(timeIntervalSince1970: now - 11), now: JWTKeys.now)), rule: "expired at"),
            Refusal(name: "expired with no leeway", make: { try JWTKeys.token(claims: JWTKeys.claims(exp: -1)) },
                    expected: equals(.expired(expiry: Date(timeIntervalSince1970: now - 1), now: JWTKeys.now)), rule: "expired at", leeway: .zero),
            Refusal(name: "nbf in the future", make: {
                var c = JWTKeys.claims(); c["nbf"] = .integer(Int64(now + 60))
                return try JWTKeys.token(claims: c)
            }, expected: equals(.notYetValid(notBefore: Date(timeIntervalSince1970: now + 60))), rule: "not valid before"),
            Refusal(name: "subject in a trust domain without a bundle", make: { try JWTKeys.token(claims: JWTKeys.claims(sub: "spiffe://other.org/w")) },
                    expected: { if case .noBundle(.noBundle(let td)) = $0 { td.name == "other.org" } else { false } },
                    rule: "no trust bundle for trust domain 'other.org'"),
            // Form.
            Refusal(name: "3000 dots", make: { String(repeating: ".", count: 3000) },
                    expected: equals(.wrongPartCount(3001)), rule: "expected 3 dot-separated parts"),
            Refusal(name: "valid token plus 3000 dots", make: { try JWTKeys.token() + String(repeating: ".", count: 3000) },
                    expected: equals(.wrongPartCount(3003)), rule: "found 3003"),
            Refusal(name: "2 parts", make: { try JWTKeys.token().split(separator: ".").prefix(2).joined(separator: ".") },
                    expected: equals(.wrongPartCount(2)), rule: "found 2"),
            Refusal(name: "JWE-like 5 parts", make: { "a.b.c.d.e" }, expected: equals(.wrongPartCount(5)), rule: "found 5"),
            Refusal(name: "header not base64url", make: { "###." + (try JWTKeys.token().split(separator: ".").dropFirst().joined(separator: ".")) },
                    expected: equals(.invalidBase64(part: "header")), rule: "header is not base64url"),
            Refusal(name: "padded base64", make: {
                let parts = try JWTKeys.token().split(separator: ".")
                return parts[0] + "==." + parts[1] + "." + parts[2]
            }, expected: equals(.invalidBase64(part: "header")), rule: "not base64url"),
            Refusal(name: "signature not base64url", make: {
                let parts = try JWTKeys.token().split(separator: ".")
                return parts[0] + "." + parts[1] + ".!!!"
            }, expected: equals(.invalidBase64(part: "signature")), rule: "signature is not base64url"),
            Refusal(name: "payload not a JSON object", make: {
                let parts = try JWTKeys.token().split(separator: ".")
                return parts[0] + "." + JWS.base64URL(Array("[1,2]".utf8)) + "." + parts[2]
            }, expected: { if case .invalidJSON(part: "payload", _) = $0 { true } else { false } }, rule: "payload is not a JSON object"),
            Refusal(name: "header not JSON", make: { JWS.base64URL(Array("alg".utf8)) + ".e30.AAAA" },
                    expected: { if case .invalidJSON(part: "header", _) = $0 { true } else { false } }, rule: "header is not a JSON object"),
            Refusal(name: "300 KB token", make: { try JWTKeys.token() + String(repeating: "A", count: 300 * 1024) },
                    expected: { if case .tooLarge(_, limit: 262_144) = $0 { true } else { false } }, rule: "the limit is 262144 bytes"),
            Refusal(name: "empty", make: { "" }, expected: equals(.empty), rule: "empty"),
            Refusal(name: "only whitespace", make: { " \n\t " }, expected: equals(.empty), rule: "empty"),
            Refusal(name: "whitespace inside", make: {
                let parts = try JWTKeys.token().split(separator: ".")
                return parts[0] + ". " + parts[1] + "." + parts[2]
            }, expected: equals(.invalidBase64(part: "payload")), rule: "payload is not base64url"),
        ]
        result.sort { $0.name < $1.name }
        return result
    }()

    @Test("refuses, naming the rule", arguments: refusals)
    func refuses(_ refusal: Refusal) async throws {
        let token = try refusal.make()
        let error = await #expect(throws: JWTSVIDError.self) { try await JWTKeys.verify(token, leeway: refusal.leeway) }
        let unwrapped = try #require(error)
        #expect(refusal.expected(unwrapped), "unexpected error: \(unwrapped)")
        #expect(unwrapped.description.contains(refusal.rule), "'\(unwrapped)' should mention \(refusal.rule)")
        #expect(!unwrapped.description.contains("\n"), "errors are one line")
    }
}
