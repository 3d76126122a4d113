import Crypto
import Foundation
import Lineage
import SPIFFE
import Testing

@Suite("DER encoding")
struct DEREncodingTests {
    @Test func linksAndLineagesRoundTrip() throws {
        let fixture = try ChainFixture.make(depth: 4, algorithms: ChainFixture.mixedAlgorithms)
        let der = try LineageDER.encode(fixture.lineage)
        #expect(der.first == 0x30)
        let decoded = try LineageDER.decodeLineage(der)
        #expect(decoded == fixture.lineage)
        #expect(try LineageDER.encode(decoded) == der)
        for link in fixture.lineage.links {
            let linkDER = try LineageDER.encode(link)
            #expect(try LineageDER.decodeLink(linkDER) == link)
            #expect(try LineageDER.encode(LineageDER.decodeLink(linkDER)) == linkDER)
        }
        try fixture.verify(decoded)
    }

    @Test func everyFieldSurvives() throws {
        let content = LineageLink.Content(
            spiffeID: "spiffe://example.org/ünïcödé-free/path", publicKey: [1, 2, 3], attestor: "tpm",
            selectors: ["tpm:pcr-digest:00ff", "", "unix:uid:0"], issuedAt: -5, expiresAt: Int64.max,
            evidence: Array(0...255), previousLinkHash: Array(repeating: 7, count: 32))
        let link = LineageLink(content: content, signature: [9, 9, 9])
        let decoded = try LineageDER.decodeLink(LineageDER.encode(link))
        #expect(decoded == link)
        #expect(decoded.content.version == 1)
        #expect(decoded.issuedAt == Date(timeIntervalSince1970: -5))
        // Empty byte fields and an empty selector list are kept as such.
        let bare = LineageLink(
            content: .init(spiffeID: "spiffe://example.org/x", publicKey: [], attestor: "", selectors: [], issuedAt: 0, expiresAt: 0),
            signature: [])
        #expect(try LineageDER.decodeLink(LineageDER.encode(bare)) == bare)
    }

    @Test func eachLinkCommitsToTheHashOfTheOneBefore() throws {
        let fixture = try ChainFixture.make(depth: 3)
        let links = fixture.lineage.links
        #expect(links[0].content.previousLinkHash.isEmpty)
        for index in 1..<links.count {
            let expected = Array(SHA256.hash(data: try LineageDER.encode(links[index - 1])))
            #expect(links[index].content.previousLinkHash == expected)
            #expect(try Lineage(links: Array(links[..<index])).lastLinkHash() == expected)
        }
        #expect(try Lineage().lastLinkHash().isEmpty)
        #expect(fixture.lineage.parent == Lineage(links: Array(links.dropLast())))
        #expect(fixture.lineage.spiffeIDs == fixture.layers.map(\.id.description))
    }

    @Test func signaturesAreOverTheContentDER() throws {
        let fixture = try ChainFixture.make(depth: 2, algorithms: [.rsa2048])
        let child = fixture.lineage.links[1]
        let contentDER = try LineageDER.encode(child.content)
        #expect(try LineageDER.encode(child).starts(with: [0x30]))
        #expect(LinkSignature.isValid(child, signedBy: fixture.layers[0].publicKey))
        #expect(!LinkSignature.isValid(child, signedBy: fixture.layers[1].publicKey))
        // Deterministic: the same content always encodes to the same bytes.
        #expect(try LineageDER.encode(child.content) == contentDER)
    }

    @Test("garbage is refused with a clear error", arguments: [
        ([], "not valid DER"),
        ([0x00], "not valid DER"),
        ([0x30], "not valid DER"),
        ([0x30, 0x00], "the credential carries no lineage"),
        ([0x31, 0x00], "not valid DER"),
        ([0x30, 0x03, 0x02, 0x01, 0x01], "not valid DER"),
        (Array("-----BEGIN CERTIFICATE-----".utf8), "not valid DER"),
    ] as [([UInt8], String)])
    func garbageDER(_ bytes: [UInt8], _ reason: String) {
        expectLineageError(containing: reason) { _ = try LineageDER.decodeLineage(bytes) }
        expectLineageError(containing: "malformed lineage") { _ = try LineageDER.decodeLink(bytes) }
    }

    @Test func everyTruncationAndTrailingGarbageIsRefused() throws {
        let fixture = try ChainFixture.make(depth: 3)
        let der = try LineageDER.encode(fixture.lineage)
        for length in 0..<der.count {
            #expect(throws: LineageError.self) { try LineageDER.decodeLineage(Array(der[..<length])) }
        }
        expectLineageError(containing: "not valid DER") { _ = try LineageDER.decodeLineage(der + [0x00]) }
        // Single-byte corruptions never crash: they either fail to parse or fail to verify.
        for offset in stride(from: 0, to: der.count, by: 7) {
            var corrupted = der
            corrupted[offset] ^= 0x41
            do {
                let lineage = try LineageDER.decodeLineage(corrupted)
                #expect(throws: LineageError.self) { try fixture.verify(lineage) }
            } catch {
                #expect(error.description.hasPrefix("malformed lineage") || error.description.contains("limit"), "\(error)")
            }
        }
    }

    @Test func unknownVersionsAreRefused() throws {
        var content = try ChainFixture.make(depth: 1).lineage.links[0].content
        content.version = 2
        let der = try LineageDER.encode(Lineage(links: [LineageLink(content: content, signature: [1])]))
        #expect(throws: LineageError.malformed("unsupported link version 2")) { try LineageDER.decodeLineage(der) }
    }

    @Test func sizeAndDepthLimits() throws {
        let link = try ChainFixture.make(depth: 1).lineage.links[0]
        var big = link
        big.content.evidence = Array(repeating: 0xAB, count: Lineage.maximumEncodedSize)
        let oversized = try LineageDER.encode(Lineage(links: [big]))
        #expect(oversized.count > Lineage.maximumEncodedSize)
        #expect(throws: LineageError.tooLarge(oversized.count)) { try LineageDER.decodeLineage(oversized) }
        expectLineageError(containing: "the limit is \(Lineage.maximumEncodedSize)") { _ = try LineageDER.decodeLineage(oversized) }

        var fits = link
        fits.content.evidence = Array(repeating: 0xAB, count: 100_000)
        #expect(try LineageDER.decodeLineage(LineageDER.encode(Lineage(links: [fits]))).links[0] == fits)

        let thirtyTwo = try LineageDER.encode(Lineage(links: Array(repeating: link, count: Lineage.maximumDepth)))
        #expect(try LineageDER.decodeLineage(thirtyTwo).depth == 32)
        let thirtyThree = try LineageDER.encode(Lineage(links: Array(repeating: link, count: Lineage.maximumDepth + 1)))
        #expect(throws: LineageError.tooDeep(33)) { try LineageDER.decodeLineage(thirtyThree) }
        expectLineageError(containing: "lineage has 33 links; the limit is 32") { _ = try LineageDER.decodeLineage(thirtyThree) }
    }
}
