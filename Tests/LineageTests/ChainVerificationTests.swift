import Authority
import Foundation
import Lineage
import SPIFFE
import Testing

@Suite("Building and verifying chains")
struct ChainVerificationTests {
    @Test("depth 1 to 8, EC P-256, P-384 and RSA-2048 mixed", arguments: 1...8)
    func chainsVerify(depth: Int) throws {
        // Rotate the starting algorithm with the depth so the CA and every layer see every key type.
        let algorithms = (0..<3).map { ChainFixture.mixedAlgorithms[($0 + depth) % 3] }
        let fixture = try ChainFixture.make(depth: depth, algorithms: algorithms, caAlgorithm: ChainFixture.mixedAlgorithms[depth % 3])
        #expect(fixture.lineage.depth == depth)
        try fixture.verify(fixture.lineage)
        try fixture.verifier.verifyChain(fixture.lineage)
        // Every prefix is the (valid) lineage of the corresponding layer.
        for length in 1...depth {
            let prefix = Lineage(links: Array(fixture.lineage.links[..<length]))
            let layer = fixture.layers[length - 1]
            try fixture.verifier.verify(prefix, subject: layer.id, subjectKey: layer.publicKey)
        }
        // The lineage survives both encodings.
        try fixture.verify(LineageDER.decodeLineage(LineageDER.encode(fixture.lineage)))
        try fixture.verify(LineageJSON.lineage(from: LineageJSON.claim(fixture.lineage)))
    }

    @Test func builderClampsExpiryToTheParent() throws {
        let fixture = try ChainFixture.make(depth: 2)
        let child = try LinkBuilder.child(
            of: fixture.lineage, signedBy: fixture.subject.privateKey, spiffeID: "spiffe://example.org/ci/l1/l2", publicKey: nil,
            attestor: "exec", selectors: [], issuedAt: fixture.start.addingTimeInterval(10), expiresAt: fixture.start.addingTimeInterval(86400))
        #expect(child.content.expiresAt == fixture.lineage.links[1].content.expiresAt)
        #expect(child.content.issuedAt == Int64(fixture.start.timeIntervalSince1970) + 10)
        #expect(child.expiresAt == fixture.lineage.links[1].expiresAt)
    }

    @Test func builderRefusesAKeyThatIsNotTheParents() throws {
        let fixture = try ChainFixture.make(depth: 2)
        let stranger = try SigningKey()
        #expect(throws: LineageError.signing("the signing key is not the key of the parent layer \(fixture.subject.id)")) {
            try LinkBuilder.child(
                of: fixture.lineage, signedBy: stranger.certificatePrivateKey, spiffeID: "spiffe://example.org/x", publicKey: nil,
                attestor: "exec", selectors: [], issuedAt: fixture.start, expiresAt: fixture.start)
        }
        #expect(throws: LineageError.empty) {
            try LinkBuilder.child(
                of: Lineage(), signedBy: stranger.certificatePrivateKey, spiffeID: "spiffe://example.org/x", publicKey: nil,
                attestor: "exec", selectors: [], issuedAt: fixture.start, expiresAt: fixture.start)
        }
    }

    @Test func builderRefusesAParentWithoutAKey() throws {
        let fixture = try ChainFixture.make(depth: 1)
        let keyless = try LinkBuilder.child(
            of: fixture.lineage, signedBy: fixture.subject.privateKey, spiffeID: "spiffe://example.org/jwt", publicKey: nil,
            attestor: "exec", selectors: [], issuedAt: fixture.start, expiresAt: fixture.start.addingTimeInterval(60))
        let lineage = try fixture.lineage.appending(keyless)
        expectLineageError(containing: "the parent layer spiffe://example.org/jwt has no key") {
            _ = try LinkBuilder.child(
                of: lineage, signedBy: fixture.subject.privateKey, spiffeID: "spiffe://example.org/jwt/child", publicKey: nil,
                attestor: "exec", selectors: [], issuedAt: fixture.start, expiresAt: fixture.start.addingTimeInterval(60))
        }
    }

    @Test func thirtyTwoLayersVerifyAndTheThirtyThirdIsRefused() throws {
        let fixture = try ChainFixture.make(depth: Lineage.maximumDepth)
        try fixture.verify(fixture.lineage)
        let extra = try LinkBuilder.child(
            of: fixture.lineage, signedBy: fixture.subject.privateKey, spiffeID: "spiffe://example.org/deepest", publicKey: nil,
            attestor: "exec", selectors: [], issuedAt: fixture.start.addingTimeInterval(40), expiresAt: fixture.start.addingTimeInterval(60))
        #expect(throws: LineageError.tooDeep(33)) { try fixture.lineage.appending(extra) }
        let tooDeep = Lineage(links: fixture.lineage.links + [extra])
        #expect(throws: LineageError.tooDeep(33)) { try fixture.verifier.verifyChain(tooDeep) }
        #expect(throws: LineageError.tooDeep(33)) { try LineageDER.decodeLineage(LineageDER.encode(tooDeep)) }
        #expect(throws: LineageError.tooDeep(33)) { try LineageJSON.lineage(from: LineageJSON.claim(tooDeep)) }
    }

    @Test func authoritiesComeFromTheBundleAndTheChain() throws {
        let fixture = try ChainFixture.make(depth: 2)
        let intermediate = try fixture.ca.createIntermediate(ttl: .seconds(3600))
        let underIntermediate = try ChainFixture.make(depth: 2, ca: intermediate)
        // The bundle holds the root only: the intermediate's key counts once it is in the (verified) chain.
        let bundle = fixture.bundle
        expectHopFailure(0, underIntermediate.layers[0].id, "the first link is not signed by a CA of the trust bundle") {
            try LineageVerifier(bundle: bundle).verifyChain(underIntermediate.lineage)
        }
        let leaf = try intermediate.issue(X509SVIDParameters(spiffeID: underIntermediate.subject.id, publicKey: underIntermediate.subject.publicKey))
        try LineageVerifier(bundle: bundle, chain: leaf).verify(
            underIntermediate.lineage, subject: underIntermediate.subject.id, subjectKey: underIntermediate.subject.publicKey)
        // The leaf itself is never an authority.
        #expect(!LineageVerifier(bundle: bundle, chain: leaf).authorities.contains(leaf[0].publicKey))
    }

    @Test func issuedWithinTheLeewayOfTheParentIsAccepted() throws {
        let fixture = try ChainFixture.make(depth: 3)
        let early = try fixture.resigned(2) { $0.issuedAt = fixture.lineage.links[1].content.issuedAt - 59 }
        try fixture.verify(fixture.replacing(2, with: early))
        let strict = LineageVerifier(bundle: fixture.bundle, leeway: 0)
        expectHopFailure(2, fixture.layers[2].id, "was issued before its parent \(fixture.layers[1].id)") {
            try strict.verifyChain(fixture.replacing(2, with: early))
        }
    }
}
