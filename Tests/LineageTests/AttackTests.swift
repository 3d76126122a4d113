import Authority
import Foundation
import Lineage
import SPIFFE
import Testing

/// Every way of tampering with a chain of custody is refused, naming the hop that breaks.
@Suite("Attacks on lineage")
struct AttackTests {
    let fixture: ChainFixture

    init() throws {
        fixture = try ChainFixture.make(depth: 4, algorithms: ChainFixture.mixedAlgorithms)
    }

    var ids: [SPIFFEID] { fixture.layers.map(\.id) }

    @Test func theUntouchedChainVerifies() throws {
        try fixture.verify(fixture.lineage)
    }

    @Test func forgedLinkSignedByAStranger() throws {
        let stranger = try SigningKey(generating: .ecP256)
        let forged = try LinkSignature.sign(fixture.lineage.links[2].content, with: stranger.certificatePrivateKey)
        expectHopFailure(2, ids[2], "signature is not by \(ids[1])'s key (forged or altered link)") {
            try fixture.verify(fixture.replacing(2, with: forged))
        }
    }

    @Test func forgedLinkSignedByTheGrandparentOrTheServer() throws {
        // A layer two levels up, or the CA itself, cannot vouch in place of the parent.
        for key in [fixture.layers[0].privateKey, fixture.ca.key.certificatePrivateKey] {
            let forged = try LinkSignature.sign(fixture.lineage.links[2].content, with: key)
            expectHopFailure(2, ids[2], "signature is not by \(ids[1])'s key") {
                try fixture.verify(fixture.replacing(2, with: forged))
            }
        }
    }

    @Test func aLayerCannotVouchForItself() throws {
        let selfSigned = try LinkSignature.sign(fixture.lineage.links[3].content, with: fixture.layers[3].privateKey)
        expectHopFailure(3, ids[3], "signature is not by \(ids[2])'s key") {
            try fixture.verify(fixture.replacing(3, with: selfSigned))
        }
    }

    @Test("a field altered after signing", arguments: [1, 2, 3])
    func alteredAfterSigning(hop: Int) throws {
        let otherKey = try SigningKey(generating: .ecP256).publicKey.spkiDER
        let parent = ids[hop - 1]
        let changes: [(inout LineageLink.Content) -> Void] = [
            { $0.spiffeID = "spiffe://example.org/ci/impostor" },
            { $0.expiresAt -= 1 },
            { $0.issuedAt += 1 },
            { $0.selectors.append("unix:uid:0") },
            { $0.selectors.reverse() },
            { $0.attestor = "tpm" },
            { $0.publicKey = otherKey },
            { $0.evidence = [1] },
        ]
        for change in changes {
            let altered = fixture.altered(hop, change)
            let id = try SPIFFEID(altered.content.spiffeID)
            expectHopFailure(hop, id, "signature is not by \(parent)'s key") {
                try fixture.verifier.verifyChain(fixture.replacing(hop, with: altered))
            }
        }
        // The signature itself, with the content left alone.
        var flipped = fixture.lineage.links[hop]
        flipped.signature[flipped.signature.count / 2] ^= 0x01
        expectHopFailure(hop, ids[hop], "signature is not by \(parent)'s key") {
            try fixture.verify(fixture.replacing(hop, with: flipped))
        }
    }

    @Test func theFirstLinkAlteredAfterSigning() throws {
        let altered = fixture.altered(0) { $0.selectors = ["join_token:other"] }
        expectHopFailure(0, ids[0], "the first link is not signed by a CA of the trust bundle") {
            try fixture.verify(fixture.replacing(0, with: altered))
        }
    }

    @Test func reorderedLinks() throws {
        var links = fixture.lineage.links
        links.swapAt(1, 2)
        expectHopFailure(1, ids[2], "does not follow \(ids[0]) (previous-link hash mismatch") {
            try fixture.verify(Lineage(links: links))
        }
        // Reversed entirely: the first link is not even a first link.
        expectHopFailure(0, ids[3], "the first link must not point to a previous one") {
            try fixture.verify(Lineage(links: fixture.lineage.links.reversed()))
        }
    }

    @Test func aLinkRemovedFromTheMiddle() throws {
        var links = fixture.lineage.links
        links.remove(at: 2)
        expectHopFailure(2, ids[3], "does not follow \(ids[1]) (previous-link hash mismatch: links were removed, inserted or reordered)") {
            try fixture.verify(Lineage(links: links))
        }
    }

    @Test func aLinkInsertedInTheMiddle() throws {
        let extra = try LinkBuilder.child(
            of: fixture.lineage.parent.parent, signedBy: fixture.layers[1].privateKey, spiffeID: "spiffe://example.org/ci/l1/sibling",
            publicKey: try SigningKey().publicKey, attestor: "unix", selectors: [],
            issuedAt: fixture.start.addingTimeInterval(2), expiresAt: fixture.start.addingTimeInterval(600))
        var links = fixture.lineage.links
        links.insert(extra, at: 2)
        expectHopFailure(3, ids[2], "does not follow spiffe://example.org/ci/l1/sibling") {
            try fixture.verify(Lineage(links: links))
        }
    }

    @Test func truncatedLineageDoesNotEndAtTheCredential() throws {
        let truncated = fixture.lineage.parent
        // Still a valid chain (it is the parent's lineage), but not this credential's.
        try fixture.verifier.verifyChain(truncated)
        #expect(throws: LineageError.subjectMismatch("the last link is \(ids[2]), the credential is \(ids[3])")) {
            try fixture.verify(truncated)
        }
        expectLineageError(containing: "lineage does not end at this credential") { try fixture.verify(truncated) }
        #expect(throws: LineageError.empty) { try fixture.verify(Lineage()) }
    }

    @Test func aLinkReplayedUnderAnotherParent() throws {
        // A sibling of layer 2, vouched for by the same layer 1.
        let siblingKey = try SigningKey()
        let sibling = try LinkBuilder.child(
            of: fixture.lineage.parent.parent, signedBy: fixture.layers[1].privateKey, spiffeID: "spiffe://example.org/ci/l1/sibling",
            publicKey: siblingKey.publicKey, attestor: "unix", selectors: [],
            issuedAt: fixture.start.addingTimeInterval(2), expiresAt: fixture.start.addingTimeInterval(600))
        // Layer 3's genuine link, replayed under the sibling.
        let replayed = Lineage(links: Array(fixture.lineage.links[..<2]) + [sibling, fixture.lineage.links[3]])
        expectHopFailure(3, ids[3], "does not follow spiffe://example.org/ci/l1/sibling") {
            try fixture.verify(replayed)
        }
        // A link from a different stack under the same CA, spliced in.
        let other = try ChainFixture.make(depth: 4, ca: fixture.ca, pathPrefix: "other")
        let spliced = fixture.replacing(2, with: other.lineage.links[2])
        expectHopFailure(2, other.layers[2].id, "does not follow \(ids[1])") {
            try fixture.verifier.verifyChain(spliced)
        }
        // Appending another stack's leaf link after this one's.
        let appended = try fixture.lineage.appending(other.lineage.links[3])
        expectHopFailure(4, other.layers[3].id, "does not follow \(ids[3])") {
            try fixture.verifier.verifyChain(appended)
        }
    }

    @Test func expiryOutlivingTheParent() throws {
        let parentExpiry = fixture.lineage.links[1].content.expiresAt
        let outliving = try fixture.resigned(2) { $0.expiresAt = parentExpiry + 1 }
        // The rest of the chain is rebuilt on top, so only the expiry is wrong.
        let head = Lineage(links: Array(fixture.lineage.links[..<2]) + [outliving])
        let hash = try head.lastLinkHash()
        let lineage = try head.appending(fixture.resigned(3) { $0.previousLinkHash = hash })
        expectHopFailure(2, ids[2], "outlives its parent \(ids[1])") { try fixture.verify(lineage) }
    }

    @Test func issuedBeforeTheParent() throws {
        let early = try fixture.resigned(2) { $0.issuedAt = fixture.lineage.links[1].content.issuedAt - 3600 }
        expectHopFailure(2, ids[2], "was issued before its parent \(ids[1])") {
            try fixture.verifier.verifyChain(fixture.replacing(2, with: early))
        }
    }

    @Test func issuedAfterItExpires() throws {
        let backwards = try fixture.resigned(3) { $0.issuedAt = $0.expiresAt + 1 }
        expectHopFailure(3, ids[3], "issued after it expires") { try fixture.verify(fixture.replacing(3, with: backwards)) }
    }

    @Test func firstLinkNotSignedByABundleCA() throws {
        let otherCA = try CertificateAuthority.createRoot(trustDomain: TrustDomain("example.org"))
        let byOtherCA = try LinkSignature.sign(fixture.lineage.links[0].content, with: otherCA.key.certificatePrivateKey)
        expectHopFailure(0, ids[0], "the first link is not signed by a CA of the trust bundle") {
            try fixture.verify(fixture.replacing(0, with: byOtherCA))
        }
        let selfSigned = try LinkSignature.sign(fixture.lineage.links[0].content, with: fixture.layers[0].privateKey)
        expectHopFailure(0, ids[0], "the first link is not signed by a CA of the trust bundle") {
            try fixture.verify(fixture.replacing(0, with: selfSigned))
        }
        // A verifier with no authorities trusts nothing.
        expectHopFailure(0, ids[0], "not signed by a CA") {
            try LineageVerifier(authorities: []).verifyChain(fixture.lineage)
        }
    }

    @Test func firstLinkWithAPreviousHash() throws {
        let pointing = try fixture.resigned(0) { $0.previousLinkHash = Array(repeating: 0x5A, count: 32) }
        expectHopFailure(0, ids[0], "the first link must not point to a previous one") {
            try fixture.verifier.verifyChain(Lineage(links: [pointing]))
        }
    }

    @Test func subjectMismatch() throws {
        let otherKey = try SigningKey().publicKey
        #expect(throws: LineageError.subjectMismatch("the last link's key is not the credential's key")) {
            try fixture.verifier.verify(fixture.lineage, subject: ids[3], subjectKey: otherKey)
        }
        // The parent's key is not the child's either.
        #expect(throws: LineageError.subjectMismatch("the last link's key is not the credential's key")) {
            try fixture.verifier.verify(fixture.lineage, subject: ids[3], subjectKey: fixture.layers[2].publicKey)
        }
        let other = try SPIFFEID("spiffe://example.org/ci/l1/l2/l4")
        #expect(throws: LineageError.subjectMismatch("the last link is \(ids[3]), the credential is \(other)")) {
            try fixture.verifier.verify(fixture.lineage, subject: other, subjectKey: fixture.subject.publicKey)
        }
    }

    @Test func aParentWithoutAKeyCannotHaveChildren() throws {
        let keyless = try fixture.resigned(2) { $0.publicKey = [] }
        var lineage = Lineage(links: Array(fixture.lineage.links[..<2]) + [keyless])
        let child = try LinkSignature.sign(
            LineageLink.Content(
                spiffeID: ids[3].description, publicKey: fixture.subject.publicKey.spkiDER, attestor: "exec", selectors: [],
                issuedAt: fixture.lineage.links[3].content.issuedAt, expiresAt: fixture.lineage.links[3].content.expiresAt,
                previousLinkHash: try lineage.lastLinkHash()),
            with: fixture.layers[2].privateKey)
        lineage = try lineage.appending(child)
        expectHopFailure(3, ids[3], "its parent \(ids[2]) has no key to sign with") { try fixture.verify(lineage) }
    }

    @Test func invalidSPIFFEIDsAreRefused() throws {
        let bad = try fixture.resigned(3) { $0.spiffeID = "https://example.org/ci" }
        do {
            try fixture.verify(fixture.replacing(3, with: bad))
            Issue.record("verified a link with an invalid SPIFFE ID")
        } catch {
            #expect(error == .hop(index: 3, spiffeID: "https://example.org/ci", reason: "not a valid SPIFFE ID"))
        }
    }

    @Test func unreadableSubjectKey() throws {
        let garbled = try fixture.resigned(3) { $0.publicKey = [0x30, 0x03, 0x01, 0x01, 0xFF] }
        expectLineageError(containing: "has an unreadable public key") { try fixture.verify(fixture.replacing(3, with: garbled)) }
    }
}
