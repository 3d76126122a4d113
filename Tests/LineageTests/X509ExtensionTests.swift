import Authority
import Foundation
import Lineage
import SPIFFE
import Testing
import X509

@Suite("X.509 extension")
struct X509ExtensionTests {
    static let oidText = "1.2.840.113556.1.8000.2554.8768.25982.23187.19540.42859.10827560.3949345.1"

    /// An X509-SVID for the fixture's innermost layer, carrying its lineage, re-parsed from DER.
    static func issue(_ fixture: ChainFixture, by ca: CertificateAuthority? = nil) throws -> [Certificate] {
        let parameters = X509SVIDParameters(
            spiffeID: fixture.subject.id, publicKey: fixture.subject.publicKey,
            extraExtensions: [try LineageExtension.make(fixture.lineage)])
        return try (ca ?? fixture.ca).issue(parameters).map { try Certificate(derEncoded: CertificateEncoding.der($0)) }
    }

    @Test func theOIDIsTheGUIDArcOfTheLineageUUID() {
        #expect(LineageExtension.oid.description == Self.oidText)
        // UUID 2240657e-5a93-4c54-a76b-a537283c4321: 16-bit arcs, then two 24-bit arcs.
        let uuid = "2240657e5a934c54a76ba537283c4321"
        let groups = [4, 4, 4, 4, 4, 6, 6].reduce(into: (arcs: [UInt](), offset: uuid.startIndex)) { state, width in
            let end = uuid.index(state.offset, offsetBy: width)
            state.arcs.append(UInt(uuid[state.offset..<end], radix: 16) ?? 0)
            state.offset = end
        }.arcs
        #expect(Array(Self.oidText.split(separator: ".").dropFirst(7).dropLast().compactMap { UInt($0) }) == groups)
    }

    @Test func lineageRoundTripsThroughARealCertificate() async throws {
        let fixture = try ChainFixture.make(depth: 5, algorithms: ChainFixture.mixedAlgorithms)
        let chain = try Self.issue(fixture)
        let leaf = chain[0]
        let ext = try #require(leaf.extensions[oid: LineageExtension.oid])
        #expect(!ext.critical)
        #expect(Array(ext.value) == (try LineageDER.encode(fixture.lineage)))
        let lineage = try #require(try LineageExtension.lineage(of: leaf))
        #expect(lineage == fixture.lineage)
        try LineageVerifier(bundle: fixture.bundle, chain: chain).verify(lineage, subject: fixture.subject.id, subjectKey: leaf.publicKey)

        // A plain SPIFFE verifier accepts the SVID: the extension is non-critical and ignored.
        let verified = try await X509SVIDVerifier(bundles: fixture.bundle).verify(chain)
        #expect(verified.spiffeID == fixture.subject.id)
    }

    @Test func aCertificateWithoutTheExtensionHasNoLineage() throws {
        let fixture = try ChainFixture.make(depth: 1)
        let plain = try fixture.ca.issue(X509SVIDParameters(spiffeID: fixture.subject.id, publicKey: fixture.subject.publicKey))
        #expect(try LineageExtension.lineage(of: plain[0]) == nil)
    }

    @Test func aGarbledExtensionIsAClearError() throws {
        let fixture = try ChainFixture.make(depth: 1)
        let garbled = Certificate.Extension(oid: LineageExtension.oid, critical: false, value: [0x04, 0x01, 0x00])
        let leaf = try fixture.ca.issue(X509SVIDParameters(
            spiffeID: fixture.subject.id, publicKey: fixture.subject.publicKey, extraExtensions: [garbled]))[0]
        expectLineageError(containing: "malformed lineage: not valid DER") { _ = try LineageExtension.lineage(of: leaf) }
    }

    @Test func openSSLParsesAndVerifiesTheCertificate() async throws {
        let fixture = try ChainFixture.make(depth: 3, algorithms: ChainFixture.mixedAlgorithms)
        let intermediate = try fixture.ca.createIntermediate(ttl: .seconds(3600))
        let chain = try Self.issue(fixture, by: intermediate)
        #expect(chain.count == 2)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lineage-openssl-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let leafPath = directory.appendingPathComponent("leaf.pem").path
        let intermediatePath = directory.appendingPathComponent("intermediate.pem").path
        let rootPath = directory.appendingPathComponent("root.pem").path
        try Data(CertificateEncoding.pem([chain[0]]).utf8).write(to: URL(fileURLWithPath: leafPath))
        try Data(CertificateEncoding.pem([chain[1]]).utf8).write(to: URL(fileURLWithPath: intermediatePath))
        try Data(CertificateEncoding.pem([fixture.ca.certificate]).utf8).write(to: URL(fileURLWithPath: rootPath))

        let text = try await Tool.run("openssl", ["x509", "-noout", "-text", "-in", leafPath])
        #expect(text.status == 0, "\(text)")
        let lines = text.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        let line = try #require(lines.first { $0.hasPrefix(Self.oidText) }, "the extension is not listed: \(text)")
        // Unknown to openssl (printed by OID, not by name) and not critical.
        #expect(line == Self.oidText + ":", "\(text)")
        #expect(lines.contains("URI:\(fixture.subject.id)"), "\(text)")

        let verify = try await Tool.run("openssl", ["verify", "-CAfile", rootPath, "-untrusted", intermediatePath, leafPath])
        #expect(verify.status == 0, "\(verify)")
        #expect(verify.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "\(leafPath): OK", "\(verify)")
    }
}
