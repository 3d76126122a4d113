import Foundation
import Lineage
import MatryoshkaCLI
import SPIFFE
import Testing

/// `matryoshka lineage show|verify`, run as a process.
@Suite("matryoshka lineage (binary)")
struct LineageCommandTests {
    let ids = LineageFixture.ids

    @Test func showPrintsTheTree() async throws {
        let fixture = try await LineageFixture.make()
        defer { fixture.remove() }
        let result = try await Matryoshka.run(["lineage", "show", fixture.path("svid.pem")])
        #expect(result.succeeded, "\(result)")
        #expect(result.stderr.isEmpty, "\(result)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 3, "\(result)")
        #expect(lines.first?.hasPrefix(ids[0]) == true, "\(result)")
        #expect(lines.last?.hasPrefix("   └─ \(ids[2])") == true, "\(result)")
        #expect(result.stdout == (try LineageOperations.show(fixture.path("svid.pem")).text))

        let stdin = try await Matryoshka.run(["lineage", "show", "-"], stdin: Data(fixture.token.utf8))
        #expect(stdin.succeeded, "\(stdin)")
        #expect(stdin.stdout == result.stdout)
    }

    @Test func showJSON() async throws {
        let fixture = try await LineageFixture.make()
        defer { fixture.remove() }
        let result = try await Matryoshka.run(["lineage", "show", "--json", "@" + fixture.path("token.jwt")])
        #expect(result.succeeded, "\(result)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(object["credential"] as? String == "jwt-svid")
        #expect(object["verified"] as? Bool == false)
        let links = try #require(object["links"] as? [[String: Any]])
        #expect(links.compactMap { $0["spiffe_id"] as? String } == ids)
        #expect(links.compactMap { $0["attestor"] as? String } == ["join_token", "unix", "exec"])
    }

    @Test func showSaysWhenThereIsNoLineage() async throws {
        let fixture = try await LineageFixture.make()
        defer { fixture.remove() }
        let result = try await Matryoshka.run(["lineage", "show", fixture.path("plain.pem")])
        #expect(result.succeeded, "\(result)")
        #expect(result.stdout == "\(ids[2]): no lineage (this X509-SVID has no lineage extension)\n")
    }

    @Test func verifyAcceptsAGenuineChain() async throws {
        let fixture = try await LineageFixture.make()
        defer { fixture.remove() }
        let x509 = try await Matryoshka.run(["lineage", "verify", "--bundle", fixture.path("bundle.pem"), fixture.path("svid.pem")])
        #expect(x509.succeeded, "\(x509)")
        #expect(x509.stderr.isEmpty, "\(x509)")
        #expect(x509.stdout.hasPrefix("lineage verified: 3 hops\n\(ids[0])"), "\(x509)")

        let jwt = try await Matryoshka.run(["lineage", "verify", "--bundle", fixture.path("bundle.json"), "--audience", "svc", fixture.token])
        #expect(jwt.succeeded, "\(jwt)")
        #expect(jwt.stdout == x509.stdout, "\(jwt)")

        let json = try await Matryoshka.run(["lineage", "verify", "--json", "--bundle", fixture.path("bundle.json"), fixture.path("svid.der")])
        #expect(json.succeeded, "\(json)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(object["verified"] as? Bool == true)
        #expect(object["spiffe_id"] as? String == ids[2])
    }

    @Test func verifyNamesTheFailingHop() async throws {
        let fixture = try await LineageFixture.make()
        defer { fixture.remove() }
        let result = try await Matryoshka.run(["lineage", "verify", "--bundle", fixture.path("bundle.pem"), fixture.path("forged.pem")])
        expectRefused(result, reason: "hop 2 (\(ids[2])): signature is not by \(ids[1])'s key")

        // A token whose middle link gained a selector after it was signed.
        var links = fixture.lineage.links
        links[1].content.selectors = ["unix:uid:0"]
        let token = try await fixture.token(claims: LineageFixture.claims(Lineage(links: links)))
        let tampered = try await Matryoshka.run(["lineage", "verify", "--bundle", fixture.path("bundle.json"), "--audience", "svc", token])
        expectRefused(tampered, reason: "hop 1 (\(ids[1])): signature is not by \(ids[0])'s key")
    }

    @Test func verifyRefusesWhatItCannotCheck() async throws {
        let fixture = try await LineageFixture.make()
        defer { fixture.remove() }
        let plain = try await Matryoshka.run(["lineage", "verify", "--bundle", fixture.path("bundle.pem"), fixture.path("plain.pem")])
        expectRefused(plain, reason: "the X509-SVID carries no lineage")
        let noAudience = try await Matryoshka.run(["lineage", "verify", "--bundle", fixture.path("bundle.json"), fixture.token])
        expectRefused(noAudience, reason: "--audience is required to verify a JWT-SVID")
        let garbage = try await Matryoshka.run(["lineage", "verify", "--bundle", fixture.path("bundle.pem"), "-"], stdin: Data("nonsense".utf8))
        expectRefused(garbage, reason: "standard input is neither a certificate chain (PEM or DER) nor a JWT-SVID")
        let missingBundle = try await Matryoshka.run(["lineage", "verify", "--bundle", fixture.path("nope.pem"), fixture.path("svid.pem")])
        expectRefused(missingBundle, reason: "cannot read \(fixture.path("nope.pem")): no such file")
    }

    @Test func helpListsTheSubcommands() async throws {
        let result = try await Matryoshka.run(["lineage", "--help"])
        #expect(result.succeeded, "\(result)")
        #expect(result.stdout.contains("show"), "\(result)")
        #expect(result.stdout.contains("verify"), "\(result)")
    }
}
