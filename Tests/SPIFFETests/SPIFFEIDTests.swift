import Foundation
@testable import SPIFFE
import Testing

/// A SPIFFE ID of exactly `length` bytes: `spiffe://example.org/aaa…/aaa…`.
func spiffeID(ofLength length: Int) -> String {
    var id = "spiffe://example.org"
    while id.utf8.count < length {
        let remaining = length - id.utf8.count
        id += "/" + String(repeating: "a", count: min(200, max(1, remaining - 1)))
    }
    return id
}

/// A trust domain name of exactly `length` bytes made of dot-separated labels.
func trustDomainName(ofLength length: Int) -> String {
    var name = String(repeating: "a", count: length % 64)
    while name.utf8.count < length {
        name = String(repeating: "b", count: min(63, length - name.utf8.count - (name.isEmpty ? 0 : 1))) + (name.isEmpty ? "" : "." + name)
    }
    return name
}

struct InvalidID: Sendable, CustomTestStringConvertible {
    let input: String
    let error: SPIFFEIDError
    /// Words the error's description must contain, so the operator learns which rule broke.
    let rule: String

    init(_ input: String, _ error: SPIFFEIDError, rule: String) {
        self.input = input
        self.error = error
        self.rule = rule
    }

    var testDescription: String { input.count > 60 ? "\(input.prefix(40))… (\(input.utf8.count) bytes)" : input.debugDescription }
}

@Suite("SPIFFE IDs")
struct SPIFFEIDTests {
    static let valid = [
        "spiffe://example.org",
        "spiffe://example.org/workload",
        "spiffe://example.org/ns/prod/sa/web",
        "spiffe://trust-domain_1.example.org/Path/UPPER/mixed.Case-1_x",
        "spiffe://1.2.3.4/ip-like-name",
        "spiffe://_/underscore",
        "spiffe://example.org/.hidden/a.b/...",
        "spiffe://example.org/0/-/_",
        "spiffe://" + trustDomainName(ofLength: 255) + "/longest-trust-domain",
        spiffeID(ofLength: 2048),
    ]

    @Test("accepts valid IDs and prints them back unchanged", arguments: valid)
    func acceptsValid(_ input: String) throws {
        let id = try SPIFFEID(input)
        #expect(id.description == input)
        #expect(id.trustDomain.id.description + id.path == input)
        #expect(try SPIFFEID(trustDomain: id.trustDomain, path: id.path) == id)
    }

    static let invalid: [InvalidID] = [
        InvalidID("", .empty, rule: "empty"),
        InvalidID("example.org/workload", .wrongScheme(found: ""), rule: "must start with spiffe://"),
        InvalidID("spiffe:/example.org/workload", .wrongScheme(found: ""), rule: "must start with spiffe://"),
        InvalidID("http://example.org/workload", .wrongScheme(found: "http"), rule: "scheme 'http'"),
        InvalidID("SPIFFE://example.org/workload", .wrongScheme(found: "SPIFFE"), rule: "scheme 'SPIFFE'"),
        InvalidID(" spiffe://example.org", .wrongScheme(found: " spiffe"), rule: "must start with spiffe://"),
        InvalidID("spiffe://", .missingTrustDomain, rule: "no trust domain"),
        InvalidID("spiffe:///workload", .missingTrustDomain, rule: "no trust domain"),
        InvalidID("spiffe://Example.org/workload", .invalidTrustDomainCharacter("E", offset: 0), rule: "lower case"),
        InvalidID("spiffe://example.ORG", .invalidTrustDomainCharacter("O", offset: 8), rule: "lower case"),
        InvalidID("spiffe://example.org:8080/workload", .portNotAllowed, rule: "port"),
        InvalidID("spiffe://example.org:/workload", .portNotAllowed, rule: "port"),
        InvalidID("spiffe://user@example.org/workload", .userInfoNotAllowed, rule: "user info"),
        InvalidID("spiffe://example.org/workload?x=1", .queryNotAllowed, rule: "query"),
        InvalidID("spiffe://example.org?x=1", .queryNotAllowed, rule: "query"),
        InvalidID("spiffe://example.org/workload#section", .fragmentNotAllowed, rule: "fragment"),
        InvalidID("spiffe://example.org#section", .fragmentNotAllowed, rule: "fragment"),
        InvalidID("spiffe://example.org/work%20load", .invalidPathCharacter("%", segment: "work%20load"), rule: "invalid character '%'"),
        InvalidID("spiffe://exa%6Dple.org", .invalidTrustDomainCharacter("%", offset: 3), rule: "invalid character '%'"),
        InvalidID("spiffe://example.org//workload", .emptyPathSegment, rule: "empty segments"),
        InvalidID("spiffe://example.org/a//b", .emptyPathSegment, rule: "empty segments"),
        InvalidID("spiffe://example.org//", .emptyPathSegment, rule: "empty segments"),
        InvalidID("spiffe://example.org/./workload", .dotPathSegment("."), rule: "'.' segments"),
        InvalidID("spiffe://example.org/a/../b", .dotPathSegment(".."), rule: "'..' segments"),
        InvalidID("spiffe://example.org/a/..", .dotPathSegment(".."), rule: "'..' segments"),
        InvalidID("spiffe://example.org/workload/", .trailingSlash, rule: "end with '/'"),
        InvalidID("spiffe://example.org/", .trailingSlash, rule: "end with '/'"),
        InvalidID("spiffe://example.org/work load", .invalidPathCharacter(" ", segment: "work load"), rule: "only letters, digits"),
        InvalidID("spiffe://example.org/task/*", .invalidPathCharacter("*", segment: "*"), rule: "invalid character '*'"),
        InvalidID("spiffe://example.org/a\\b", .invalidPathCharacter("\\", segment: "a\\b"), rule: "invalid character"),
        InvalidID("spiffe://example.org/a\tb", .invalidPathCharacter("\t", segment: "a\tb"), rule: "\\u{9}"),
        InvalidID("spiffe://example.org/workload\n", .invalidPathCharacter("\n", segment: "workload\n"), rule: "\\u{a}"),
        InvalidID("spiffe://example.org/caf\u{E9}", .invalidPathCharacter("\u{E9}", segment: "caf\u{E9}"), rule: "\\u{e9}"),
        // A combining mark must not hide behind an allowed base letter ("e" + U+0301).
        InvalidID("spiffe://example.org/cafe\u{301}", .invalidPathCharacter("\u{301}", segment: "cafe\u{301}"), rule: "\\u{301}"),
        InvalidID("spiffe://exa\u{301}mple.org", .invalidTrustDomainCharacter("\u{301}", offset: 3), rule: "\\u{301}"),
        InvalidID("spiffe://ex\u{430}mple.org", .invalidTrustDomainCharacter("\u{430}", offset: 2), rule: "\\u{430}"),
        InvalidID("spiffe://\u{1F600}.org", .invalidTrustDomainCharacter("\u{1F600}", offset: 0), rule: "\\u{1f600}"),
        InvalidID(
            "spiffe://" + trustDomainName(ofLength: 256) + "/workload", .trustDomainTooLong(length: 256),
            rule: "maximum is 255 bytes"),
        InvalidID(spiffeID(ofLength: 2049), .tooLong(length: 2049), rule: "maximum is 2048 bytes"),
        InvalidID(spiffeID(ofLength: 100_000), .tooLong(length: 100_000), rule: "maximum is 2048 bytes"),
    ]

    @Test("refuses invalid IDs, naming the rule", arguments: invalid)
    func refusesInvalid(_ testCase: InvalidID) {
        let error = #expect(throws: SPIFFEIDError.self) { try SPIFFEID(testCase.input) }
        #expect(error == testCase.error)
        #expect(error?.description.contains(testCase.rule) == true, "\(error?.description ?? "") should mention \(testCase.rule)")
    }

    @Test("the one-pass check accepts exactly what the rule-by-rule checks accept")
    func onePassCheckAgreesWithTheRules() {
        // Strings built from the characters the rules are about, valid and invalid.
        let pieces = ["spiffe://", "example.org", "EXAMPLE", "/", "//", "a", "Z", "9", ".", "..", "-", "_", "#", "?", ":", "@", "%", " ",
                      "é", "e\u{301}", "\u{0}", "spiffe:", "http://", "x"]
        var generator = SystemRandomNumberGenerator()
        var candidates = Self.valid + Self.invalid.map(\.input)
        for _ in 0..<1500 {
            let count = Int.random(in: 1...8, using: &generator)
            candidates.append("spiffe://" + (0..<count).map { _ in pieces[Int.random(in: 0..<pieces.count, using: &generator)] }.joined())
        }
        candidates.append("spiffe://" + String(repeating: "a", count: 255) + "/x")
        candidates.append("spiffe://" + String(repeating: "a", count: 256) + "/x")
        candidates.append("spiffe://example.org/" + String(repeating: "b", count: 2048 - 21))
        candidates.append("spiffe://example.org/" + String(repeating: "b", count: 2048 - 20))
        for candidate in candidates {
            let fast = SPIFFEID.validParts(of: candidate)
            let checked = try? SPIFFEID.checkedParts(of: candidate)
            #expect(fast?.trustDomain == checked?.trustDomain && fast?.path == checked?.path, "\(candidate.debugDescription)")
        }
    }

    @Test func lengthHelpersAreExact() {
        #expect(spiffeID(ofLength: 2048).utf8.count == 2048)
        #expect(spiffeID(ofLength: 2049).utf8.count == 2049)
        #expect(trustDomainName(ofLength: 255).utf8.count == 255)
        #expect(trustDomainName(ofLength: 256).utf8.count == 256)
    }

    @Test func componentsAndSegments() throws {
        let id = try SPIFFEID("spiffe://example.org/ci/runner/task-1")
        #expect(id.trustDomain.name == "example.org")
        #expect(id.path == "/ci/runner/task-1")
        #expect(id.segments == ["ci", "runner", "task-1"])
        #expect(id.isMember(of: try TrustDomain("example.org")))
        #expect(!id.isMember(of: try TrustDomain("example.com")))
        #expect(try SPIFFEID("spiffe://example.org").segments.isEmpty)
    }

    @Test func buildsFromTrustDomainAndPathOrSegments() throws {
        let trustDomain = try TrustDomain("example.org")
        #expect(try SPIFFEID(trustDomain: trustDomain, path: "/a/b").description == "spiffe://example.org/a/b")
        #expect(try SPIFFEID(trustDomain: trustDomain, path: "") == trustDomain.id)
        #expect(try SPIFFEID(trustDomain: trustDomain, segments: ["a", "b"]).description == "spiffe://example.org/a/b")
        #expect(throws: SPIFFEIDError.pathMissingLeadingSlash) { try SPIFFEID(trustDomain: trustDomain, path: "a/b") }
        #expect(throws: SPIFFEIDError.emptyPathSegment) { try SPIFFEID(trustDomain: trustDomain, segments: ["a", ""]) }
        #expect(throws: SPIFFEIDError.dotPathSegment("..")) { try SPIFFEID(trustDomain: trustDomain, segments: [".."]) }
        // A segment must not smuggle in a separator (that would make a deeper ID than asked for).
        #expect(throws: SPIFFEIDError.invalidPathCharacter("/", segment: "a/b")) {
            try SPIFFEID(trustDomain: trustDomain, segments: ["a/b"])
        }
        let long = String(repeating: "x", count: 2048 - "spiffe://example.org/".utf8.count + 1)
        #expect(throws: SPIFFEIDError.tooLong(length: 2049)) { try SPIFFEID(trustDomain: trustDomain, segments: [long]) }
    }

    @Test func appendingValidatesTheSegment() throws {
        let runner = try SPIFFEID("spiffe://example.org/ci/runner")
        #expect(try runner.appending("task").description == "spiffe://example.org/ci/runner/task")
        #expect(throws: SPIFFEIDError.invalidPathCharacter("*", segment: "*")) { try runner.appending("*") }
        #expect(throws: SPIFFEIDError.dotPathSegment("..")) { try runner.appending("..") }
        #expect(throws: SPIFFEIDError.emptyPathSegment) { try runner.appending("") }
        #expect(throws: SPIFFEIDError.invalidPathCharacter("/", segment: "1234/admin")) { try runner.appending("1234/admin") }
    }

    @Test("isDescendant(of:) follows path segments, not string prefixes", arguments: [
        ("spiffe://example.org/a/b", "spiffe://example.org/a", true),
        ("spiffe://example.org/a/b/c", "spiffe://example.org/a", true),
        ("spiffe://example.org/a", "spiffe://example.org", true),
        ("spiffe://example.org/ab", "spiffe://example.org/a", false),
        ("spiffe://example.org/a", "spiffe://example.org/a", false),
        ("spiffe://example.org/a", "spiffe://example.org/a/b", false),
        ("spiffe://example.org", "spiffe://example.org", false),
        ("spiffe://other.org/a/b", "spiffe://example.org/a", false),
        ("spiffe://example.org.evil/a/b", "spiffe://example.org/a", false),
    ])
    func descendant(_ child: String, _ ancestor: String, _ expected: Bool) throws {
        #expect(try SPIFFEID(child).isDescendant(of: try SPIFFEID(ancestor)) == expected)
    }

    @Test func codableRoundTripAndInvalidJSONNamesTheRule() throws {
        let ids = [try SPIFFEID("spiffe://example.org/a/b"), try SPIFFEID("spiffe://example.org")]
        let json = try JSONEncoder().encode(ids)
        #expect(try JSONDecoder().decode([String].self, from: json) == ["spiffe://example.org/a/b", "spiffe://example.org"])
        #expect(try JSONDecoder().decode([SPIFFEID].self, from: json) == ids)

        let bad = Data(#"["spiffe://example.org:443/a"]"#.utf8)
        let error = #expect(throws: DecodingError.self) { try JSONDecoder().decode([SPIFFEID].self, from: bad) }
        guard case .dataCorrupted(let context)? = error else {
            Issue.record("expected dataCorrupted, got \(String(describing: error))")
            return
        }
        #expect(context.debugDescription.contains("port"))
    }

    @Test func orderingAndHashing() throws {
        let a = try SPIFFEID("spiffe://example.org/a")
        let b = try SPIFFEID("spiffe://example.org/b")
        #expect(a < b)
        #expect(Set([a, b, try SPIFFEID("spiffe://example.org/a")]).count == 2)
    }
}
