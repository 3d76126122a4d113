import Foundation
import Lineage
import SPIFFE
import Testing

@Suite("JWT claims")
struct JSONClaimTests {
    /// Through JSON text and back, as a JWT payload carries it.
    static func throughJSON(_ value: JSONValue) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(value))
    }

    @Test func lineageClaimRoundTripsAndStillVerifies() throws {
        let fixture = try ChainFixture.make(depth: 3, algorithms: ChainFixture.mixedAlgorithms)
        let claim = try Self.throughJSON(LineageJSON.claim(fixture.lineage))
        let decoded = try LineageJSON.lineage(from: claim)
        #expect(decoded == fixture.lineage)
        try fixture.verify(decoded)

        guard case .array(let items) = claim, case .object(let root)? = items.first, case .object(let child) = items[1] else {
            Issue.record("the claim is not an array of objects: \(claim)")
            return
        }
        #expect(Set(root.keys) == ["spiffe_id", "public_key", "attestor", "selectors", "issued_at", "expires_at", "evidence", "signature"])
        #expect(Set(child.keys) == ["spiffe_id", "public_key", "attestor", "selectors", "issued_at", "expires_at", "previous_hash", "signature"])
        #expect(root["spiffe_id"] == .string(fixture.layers[0].id.description))
        #expect(root["issued_at"] == .integer(Int64(fixture.start.timeIntervalSince1970)))
        #expect(root["evidence"] == .string(Base64URL.encode(Array("server statement".utf8))))
        #expect(child["attestor"] == .string("unix"))
    }

    @Test func aJWTSubjectLinkHasNoKey() throws {
        let fixture = try ChainFixture.make(depth: 2)
        let jwtLink = try LinkBuilder.child(
            of: fixture.lineage, signedBy: fixture.subject.privateKey, spiffeID: "spiffe://example.org/ci/l1/jwt", publicKey: nil,
            attestor: "exec", selectors: [], issuedAt: fixture.start.addingTimeInterval(5), expiresAt: fixture.start.addingTimeInterval(300))
        let lineage = try fixture.lineage.appending(jwtLink)
        let claim = LineageJSON.claim(lineage)
        guard case .array(let items) = claim, case .object(let last)? = items.last else {
            Issue.record("unexpected claim \(claim)")
            return
        }
        #expect(last["public_key"] == nil)
        let decoded = try LineageJSON.lineage(from: Self.throughJSON(claim))
        #expect(decoded == lineage)
        try fixture.verifier.verify(decoded, subject: SPIFFEID("spiffe://example.org/ci/l1/jwt"), subjectKey: nil)
    }

    @Test func actClaimNestsAncestorsNearestFirst() throws {
        let one = try ChainFixture.make(depth: 1)
        #expect(LineageJSON.actClaim(one.lineage) == nil)

        let two = try ChainFixture.make(depth: 2)
        #expect(LineageJSON.actClaim(two.lineage) == .object(["sub": .string(two.layers[0].id.description)]))

        let three = try ChainFixture.make(depth: 3)
        let act = try #require(LineageJSON.actClaim(three.lineage))
        let ids = three.layers.map { JSONValue.string($0.id.description) }
        guard case .object(let outer) = act, case .object(let inner)? = outer["act"] else {
            Issue.record("act is not nested: \(act)")
            return
        }
        #expect(outer["sub"] == ids[1])
        #expect(inner["sub"] == ids[0])
        #expect(inner["act"] == nil)
        #expect(Set(outer.keys) == ["sub", "act"])

        // Depth 8: seven nested actors, parent outermost, the root layer innermost.
        let eight = try ChainFixture.make(depth: 8)
        var current = LineageJSON.actClaim(eight.lineage)
        for index in stride(from: 6, through: 0, by: -1) {
            guard case .object(let object)? = current else {
                Issue.record("missing act for layer \(index)")
                return
            }
            #expect(object["sub"] == .string(eight.layers[index].id.description))
            current = object["act"]
        }
        #expect(current == nil)
    }

    @Test("malformed claims are refused with a clear error", arguments: [
        (JSONValue.string("x"), "the lineage claim is not an array"),
        (.object([:]), "the lineage claim is not an array"),
        (.array([]), "the credential carries no lineage"),
        (.array([.integer(1)]), "link 0 is not an object"),
        (.array([.object([:])]), "link 0 has no 'spiffe_id'"),
        (.array([.object(["spiffe_id": .integer(3)])]), "link 0 'spiffe_id' is not a string"),
    ])
    func malformedClaims(_ claim: JSONValue, _ reason: String) {
        expectLineageError(containing: reason) { _ = try LineageJSON.lineage(from: claim) }
    }

    @Test func everyFieldIsChecked() throws {
        let fixture = try ChainFixture.make(depth: 2)
        guard case .array(let items) = LineageJSON.claim(fixture.lineage), case .object(let good) = items[1] else {
            Issue.record("unexpected claim")
            return
        }
        let cases: [(String, JSONValue?, String)] = [
            ("signature", nil, "link 1 has no 'signature'"),
            ("signature", .string("a+b/"), "link 1 'signature' is not base64url"),
            ("public_key", .string("%%%"), "link 1 'public_key' is not base64url"),
            ("previous_hash", .integer(1), "link 1 'previous_hash' is not a string"),
            ("issued_at", .string("2025-01-01"), "link 1 'issued_at' is not an integer"),
            ("expires_at", nil, "link 1 'expires_at' is not an integer"),
            ("expires_at", .double(1.5), "link 1 'expires_at' is not an integer"),
            ("selectors", .string("unix:uid:0"), "link 1 'selectors' is not an array"),
            ("selectors", .array([.integer(0)]), "link 1 has a non-string selector"),
            ("attestor", nil, "link 1 has no 'attestor'"),
        ]
        for (key, value, reason) in cases {
            var object = good
            object[key] = value
            expectLineageError(containing: reason) { _ = try LineageJSON.lineage(from: .array([items[0], .object(object)])) }
        }
        // Unknown members are ignored; missing selectors mean none.
        var extra = good
        extra["comment"] = .string("ignored")
        #expect(try LineageJSON.lineage(from: .array([items[0], .object(extra)])) == fixture.lineage)
        var noSelectors = good
        noSelectors["selectors"] = nil
        #expect(try LineageJSON.lineage(from: .array([items[0], .object(noSelectors)])).links[1].content.selectors.isEmpty)
    }

    @Test func depthLimit() throws {
        let link = try ChainFixture.make(depth: 1).lineage.links[0]
        let claim = LineageJSON.claim(Lineage(links: Array(repeating: link, count: 33)))
        #expect(throws: LineageError.tooDeep(33)) { try LineageJSON.lineage(from: claim) }
        #expect(try LineageJSON.lineage(from: LineageJSON.claim(Lineage(links: Array(repeating: link, count: 32)))).depth == 32)
    }
}
