import Foundation
import SPIFFE
import Testing

@Suite("Trust domains")
struct TrustDomainTests {
    @Test("parses a name or the trust domain of a SPIFFE ID", arguments: [
        ("example.org", "example.org"),
        ("spiffe://example.org", "example.org"),
        ("spiffe://example.org/ns/prod", "example.org"),
        ("a-b_c.1", "a-b_c.1"),
    ])
    func parses(_ input: String, _ name: String) throws {
        let trustDomain = try TrustDomain(input)
        #expect(trustDomain.name == name)
        #expect(trustDomain.description == name)
        #expect(trustDomain.id.description == "spiffe://" + name)
        #expect(trustDomain.id.path.isEmpty)
    }

    @Test("refuses invalid names, naming the rule", arguments: [
        ("", SPIFFEIDError.missingTrustDomain),
        ("Example.org", .invalidTrustDomainCharacter("E", offset: 0)),
        ("example.org:443", .portNotAllowed),
        ("admin@example.org", .userInfoNotAllowed),
        ("example.org/path", .invalidTrustDomainCharacter("/", offset: 11)),
        ("exa mple.org", .invalidTrustDomainCharacter(" ", offset: 3)),
        ("http://example.org", .wrongScheme(found: "http")),
        ("spiffe://example.org/", .trailingSlash),
        ("spiffe://example.org?q", .queryNotAllowed),
        (trustDomainName(ofLength: 256), .trustDomainTooLong(length: 256)),
    ])
    func refuses(_ input: String, _ expected: SPIFFEIDError) {
        #expect(throws: expected) { try TrustDomain(input) }
    }

    @Test func lengthLimitIs255Bytes() throws {
        let name = trustDomainName(ofLength: 255)
        #expect(try TrustDomain(name).name == name)
        #expect(TrustDomain.maximumLength == 255)
    }

    @Test("normalizing lowers the case and reduces an ID to its trust domain", arguments: [
        ("example.org", "example.org"),
        ("Example.ORG", "example.org"),
        ("SPIFFE://Example.Org/Some/Path", "example.org"),
        ("spiffe://EXAMPLE.org", "example.org"),
    ])
    func normalizes(_ input: String, _ name: String) throws {
        #expect(try TrustDomain(normalizing: input).name == name)
    }

    @Test("normalizing still applies every other rule", arguments: [
        ("Example.org:8080", SPIFFEIDError.portNotAllowed),
        ("User@Example.org", .userInfoNotAllowed),
        ("exa mple.org", .invalidTrustDomainCharacter(" ", offset: 3)),
        ("HTTP://example.org", .wrongScheme(found: "http")),
        ("spiffe://Example.org/Path?x", .queryNotAllowed),
        ("spiffe://Example.org//x", .emptyPathSegment),
        ("", .missingTrustDomain),
        ("exa\u{301}mple.org", .invalidTrustDomainCharacter("\u{301}", offset: 3)),
    ])
    func normalizingRefuses(_ input: String, _ expected: SPIFFEIDError) {
        #expect(throws: expected) { try TrustDomain(normalizing: input) }
    }

    @Test func codableRoundTripRefusesInvalidNames() throws {
        let domains = [try TrustDomain("example.org"), try TrustDomain("b.example")]
        let json = try JSONEncoder().encode(domains)
        #expect(try JSONDecoder().decode([String].self, from: json) == ["example.org", "b.example"])
        #expect(try JSONDecoder().decode([TrustDomain].self, from: json) == domains)
        let error = #expect(throws: DecodingError.self) {
            try JSONDecoder().decode([TrustDomain].self, from: Data(#"["Example.org"]"#.utf8))
        }
        guard case .dataCorrupted(let context)? = error else {
            Issue.record("expected dataCorrupted, got \(String(describing: error))")
            return
        }
        #expect(context.debugDescription.contains("lower case"))
    }

    @Test func ordering() throws {
        #expect(try TrustDomain("a.org") < TrustDomain("b.org"))
    }
}
