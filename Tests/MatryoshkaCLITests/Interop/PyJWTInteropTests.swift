import Foundation
import Testing

/// `matryoshka jwt verify` against JWT-SVIDs made by PyJWT.
@Suite("Interop: JWT-SVIDs made by PyJWT", .pyJWTFixture)
struct PyJWTInteropTests {
    func verify(_ token: String, audience: String = PyJWTFixture.audience, _ extra: [String] = []) async throws -> ProcessResult {
        let fixture = try PyJWTFixture.get()
        return try await Matryoshka.run(["jwt", "verify", "--bundle", fixture.jwks, "--audience", audience] + extra + [token])
    }

    @Test("accepted", arguments: ["es256", "es384", "rs256", "ps256", "rs512", "aud_string"])
    func accepts(_ name: String) async throws {
        expectAccepted(try await verify(try PyJWTFixture.get().token(name)), id: PyJWTFixture.subject)
    }

    @Test("refused with the reason", arguments: [
        ("alg_none", "JWT algorithm 'none' is not allowed"),
        ("hs256", "JWT algorithm 'HS256' is not allowed"),
        ("wrong_audience", "audience [\"spiffe://example.org/other\"] does not contain 'spiffe://example.org/service'"),
        ("expired", "JWT-SVID expired at"),
        ("not_yet_valid", "JWT-SVID is not valid before"),
        ("missing_kid", "JWT header has no 'kid'"),
        ("unknown_kid", "key ID 'nobody' is not in the JWT bundle for 'example.org'"),
        ("tampered", "JWT signature is invalid"),
        ("missing_exp", "JWT-SVID has no 'exp' claim"),
        ("sub_not_spiffe", "subject 'workload@example.org' is not a valid SPIFFE ID"),
        ("typ_at_jwt", "typ' is 'at+jwt'"),
        ("es384_with_p256_key", "algorithm ES384 cannot be used with the bundle's EC P-256 key"),
    ])
    func refuses(_ name: String, _ reason: String) async throws {
        expectRefused(try await verify(try PyJWTFixture.get().token(name)), reason: reason)
    }

    @Test func jsonReportCarriesTheClaims() async throws {
        let result = try await verify(try PyJWTFixture.get().token("ps256"), ["--json"])
        #expect(result.status == 0, "\(result)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(report["spiffe_id"] as? String == PyJWTFixture.subject)
        #expect(report["alg"] as? String == "PS256")
        #expect(report["kid"] as? String == "py-rsa")
        #expect(report["audience"] as? [String] == [PyJWTFixture.audience])
        let expiresAt = try #require(report["expires_at"] as? String)
        let claims = try #require(report["claims"] as? [String: Any])
        let exp = try #require(claims["exp"] as? Int)
        #expect(ISO8601DateFormatter().date(from: expiresAt) == Date(timeIntervalSince1970: TimeInterval(exp)))
        #expect((claims["custom"] as? [String: Any])?["team"] as? String == "ci")
    }

    @Test func textReportListsTheClaims() async throws {
        let result = try await verify(try PyJWTFixture.get().token("es256"))
        #expect(result.stdout.contains("signed by: py-es256 (ES256)"), "\(result)")
        #expect(result.stdout.contains("  custom: {team: ci}"), "\(result)")
    }

    @Test func tokenFromStandardInputAndFromAFile() async throws {
        let fixture = try PyJWTFixture.get()
        let token = try fixture.token("rs256")
        let fromStdin = try await Subprocess.run(
            try Matryoshka.executable(), ["jwt", "verify", "--bundle", fixture.jwks, "--audience", PyJWTFixture.audience, "-"],
            stdin: Data((token + "\n").utf8))
        expectAccepted(fromStdin, id: PyJWTFixture.subject)
        let file = try fixture.directory.write("token.txt", "\n  " + token + "\n")
        expectAccepted(try await verify("@" + file), id: PyJWTFixture.subject)
    }

    @Test func trustDomainFlag() async throws {
        let token = try PyJWTFixture.get().token("es256")
        expectAccepted(try await verify(token, ["--trust-domain", "example.org"]), id: PyJWTFixture.subject)
        expectRefused(try await verify(token, ["--trust-domain", "other.org"]), reason: "SVID is in trust domain 'example.org', not 'other.org'")
    }

    @Test func leewayFlag() async throws {
        // Expired an hour ago: no leeway of reasonable size accepts it, a huge one does.
        let token = try PyJWTFixture.get().token("expired")
        expectRefused(try await verify(token, ["--leeway", "60"]), reason: "expired at")
        expectAccepted(try await verify(token, ["--leeway", "7300"]), id: PyJWTFixture.subject)
    }
}
