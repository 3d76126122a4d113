import Authority
import Foundation
import Lineage
import MatryoshkaCLI
import SPIFFE
import Testing

/// What `lineage show` and `lineage verify` do, through the library.
@Suite("Lineage operations (library)")
struct LineageOperationsTests {
    @Test func showPrintsATreeOutermostFirst() async throws {
        let fixture = try await LineageFixture.make()
        defer { fixture.remove() }
        for argument in [fixture.path("svid.pem"), fixture.path("svid.der"), fixture.token, "@" + fixture.path("token.jwt")] {
            let report = try LineageOperations.show(argument)
            #expect(report.spiffeID == LineageFixture.ids[2])
            #expect(!report.verified)
            #expect(report.links.map(\.spiffeID) == LineageFixture.ids)
            let lines = report.text.split(separator: "\n").map(String.init)
            #expect(lines.count == 3, "\(report.text)")
            #expect(lines[0].hasPrefix(LineageFixture.ids[0] + "  "))
            #expect(lines[1].hasPrefix("└─ " + LineageFixture.ids[1]))
            #expect(lines[2].hasPrefix("   └─ " + LineageFixture.ids[2]))
            #expect(lines[1].contains("  unix        [unix:uid:1000 unix:path:/usr/bin/runner]  issued "))
            #expect(lines[2].contains("  exec        [exec:parent_pid:4242]"))
            #expect(lines[0].contains("[join_token:abc123]"))
            #expect(lines[0].hasSuffix("issued \(ReportFormat.date(fixture.start)) expires \(ReportFormat.date(fixture.start.addingTimeInterval(3600)))"))
            // Columns line up.
            let issued = lines.map { $0.range(of: "issued ")?.lowerBound.utf16Offset(in: $0) }
            #expect(Set(issued).count == 1, "\(report.text)")
        }
        #expect(try LineageOperations.show(fixture.path("svid.pem")).credential == .x509SVID)
        #expect(try LineageOperations.show(fixture.token).credential == .jwtSVID)
    }

    @Test func showJSONListsTheLinksAsObjects() async throws {
        let fixture = try await LineageFixture.make()
        defer { fixture.remove() }
        let json = ReportFormat.json(try LineageOperations.show(fixture.path("svid.pem")))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(Set(object.keys) == ["credential", "spiffe_id", "verified", "links"])
        #expect(object["credential"] as? String == "x509-svid")
        let links = try #require(object["links"] as? [[String: Any]])
        #expect(links.count == 3)
        #expect(Set(links[0].keys) == ["spiffe_id", "attestor", "selectors", "issued_at", "expires_at", "public_key", "evidence", "signature"])
        #expect(Set(links[2].keys) == ["spiffe_id", "attestor", "selectors", "issued_at", "expires_at", "public_key", "previous_hash", "signature"])
        #expect(links[1]["selectors"] as? [String] == ["unix:uid:1000", "unix:path:/usr/bin/runner"])
        #expect(links[0]["issued_at"] as? String == ReportFormat.date(fixture.start))
        #expect(links[0]["evidence"] as? String == Base64URL.encode(Array("join token redeemed".utf8)))
        #expect(links[2]["public_key"] as? String == Base64URL.encode(fixture.keys[2].publicKey.spkiDER))
    }

    @Test func credentialsWithoutLineage() async throws {
        let fixture = try await LineageFixture.make()
        defer { fixture.remove() }
        let x509 = try LineageOperations.show(fixture.path("plain.pem"))
        #expect(x509.links.isEmpty)
        #expect(x509.text == "\(LineageFixture.ids[2]): no lineage (this X509-SVID has no lineage extension)\n")
        let jwt = try LineageOperations.show("@" + fixture.path("plain.jwt"))
        #expect(jwt.text == "\(LineageFixture.ids[2]): no lineage (this JWT-SVID has no lineage claim)\n")

        await #expect(throws: CLIError("\(LineageFixture.ids[2]): the X509-SVID carries no lineage (no extension \(LineageExtension.oid))")) {
            try await LineageOperations.verify(fixture.path("plain.pem"), bundlePath: fixture.path("bundle.pem"), audience: nil)
        }
        await #expect(throws: CLIError("\(LineageFixture.ids[2]): the JWT-SVID carries no lineage (no 'lineage' claim)")) {
            try await LineageOperations.verify("@" + fixture.path("plain.jwt"), bundlePath: fixture.path("bundle.json"), audience: "svc")
        }
    }

    @Test func verifyChecksTheSVIDThenEveryHop() async throws {
        let fixture = try await LineageFixture.make()
        defer { fixture.remove() }
        for (credential, bundle, audience) in [
            (fixture.path("svid.pem"), "bundle.pem", nil), (fixture.path("svid.der"), "bundle.json", nil),
            (fixture.token, "bundle.json", "svc"), ("@" + fixture.path("token.jwt"), "bundle.json", "svc"),
        ] as [(String, String, String?)] {
            let report = try await LineageOperations.verify(credential, bundlePath: fixture.path(bundle), audience: audience)
            #expect(report.verified)
            #expect(report.links.count == 3)
            #expect(report.text.hasPrefix("lineage verified: 3 hops\n" + LineageFixture.ids[0]))
        }
    }

    @Test func aForgedHopIsNamed() async throws {
        let fixture = try await LineageFixture.make()
        defer { fixture.remove() }
        // The SVID itself is fine (the CA signed it): only the lineage betrays the forgery.
        _ = try await OfflineVerification.verifyX509SVID(certificatePath: fixture.path("forged.pem"), bundlePath: fixture.path("bundle.pem"))
        let ids = LineageFixture.ids
        await #expect(throws: CLIError("hop 2 (\(ids[2])): signature is not by \(ids[1])'s key (forged or altered link)")) {
            try await LineageOperations.verify(fixture.path("forged.pem"), bundlePath: fixture.path("bundle.pem"), audience: nil)
        }
        // In a token: a link dropped from the middle.
        let truncated = Lineage(links: [fixture.lineage.links[0], fixture.lineage.links[2]])
        let token = try await fixture.token(claims: LineageFixture.claims(truncated))
        await #expect(throws: CLIError("hop 1 (\(ids[2])): does not follow \(ids[0]) (previous-link hash mismatch: links were removed, inserted or reordered)")) {
            try await LineageOperations.verify(token, bundlePath: fixture.path("bundle.json"), audience: "svc")
        }
    }

    @Test func theSVIDIsVerifiedFirst() async throws {
        let fixture = try await LineageFixture.make()
        defer { fixture.remove() }
        let otherRoot = try CertificateAuthority.createRoot(trustDomain: TrustDomain("example.org"))
        let otherBundle = try fixture.directory.write("other.pem", CertificateEncoding.pem([otherRoot.certificate]))
        let error = await #expect(throws: CLIError.self) {
            try await LineageOperations.verify(fixture.path("svid.pem"), bundlePath: otherBundle, audience: nil)
        }
        #expect(error?.message.contains("hop") == false, "\(String(describing: error))")
        await #expect(throws: CLIError("JWT-SVID audience [\"svc\"] does not contain 'other'")) {
            try await LineageOperations.verify(fixture.token, bundlePath: fixture.path("bundle.json"), audience: "other")
        }
        await #expect(throws: CLIError("--audience is required to verify a JWT-SVID")) {
            try await LineageOperations.verify(fixture.token, bundlePath: fixture.path("bundle.json"), audience: nil)
        }
    }

    @Test func aJWKSCannotCheckTheFirstLink() async throws {
        let fixture = try await LineageFixture.make()
        defer { fixture.remove() }
        let error = await #expect(throws: CLIError.self) {
            try await LineageOperations.verify(fixture.token, bundlePath: fixture.path("jwks.json"), audience: "svc")
        }
        #expect(error?.message.hasPrefix("\(fixture.path("jwks.json")) has no X.509 authorities") == true, "\(String(describing: error))")
    }

    @Test func theActClaimMustMatchTheLineage() async throws {
        let fixture = try await LineageFixture.make()
        defer { fixture.remove() }
        var claims = LineageFixture.claims(fixture.lineage)
        claims["act"] = .object(["sub": .string(LineageFixture.ids[0])])
        let token = try await fixture.token(claims: claims)
        await #expect(throws: CLIError("""
            the JWT-SVID's act claim does not match its lineage (ancestors, nearest first: \(LineageFixture.ids[1]), \(LineageFixture.ids[0]))
            """)) {
            try await LineageOperations.verify(token, bundlePath: fixture.path("bundle.json"), audience: "svc")
        }
    }

    @Test func malformedInputsAreClearErrors() async throws {
        let fixture = try await LineageFixture.make()
        defer { fixture.remove() }
        let garbage = try fixture.directory.write("garbage.txt", "hello world")
        #expect(throws: CLIError("\(garbage) is neither a certificate chain (PEM or DER) nor a JWT-SVID")) {
            try LineageOperations.show(garbage)
        }
        #expect(throws: CLIError("cannot read \(fixture.path("missing.pem")): no such file")) {
            try LineageOperations.show(fixture.path("missing.pem"))
        }
        let truncatedPEM = try fixture.directory.write("truncated.pem", String(try String(contentsOfFile: fixture.path("svid.pem"), encoding: .utf8).prefix(300)))
        let error = try #require(throws: CLIError.self) { try LineageOperations.show(truncatedPEM) }
        #expect(error.message.hasPrefix("\(truncatedPEM): invalid PEM"), "\(error)")

        // A lineage claim that is not a lineage, in a correctly signed token.
        let badClaim = try await fixture.token(claims: ["lineage": .array([.integer(1)])])
        #expect(throws: CLIError("the JWT-SVID's lineage claim: malformed lineage: link 0 is not an object")) {
            try LineageOperations.show(badClaim)
        }
        #expect(throws: CLIError.self) { try LineageOperations.show("a.b.c") }
    }
}
