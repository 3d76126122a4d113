import Authority
import Foundation
import Lineage
import SPIFFE
import X509

/// A trust domain with a node agent, a CI runner and a task, each vouched for by the layer
/// around it; the task's X509-SVID and JWT-SVID carrying that lineage; and the files the
/// commands read, in a temporary directory.
struct LineageFixture {
    static let ids = [
        "spiffe://example.org/agent/join_token/abc123",
        "spiffe://example.org/ci/runner",
        "spiffe://example.org/ci/runner/task/7",
    ]

    let directory: URL
    /// The trust anchor (in the bundles); it signs the first link.
    let root: CertificateAuthority
    /// An intermediate under it, which issues the X509-SVIDs.
    let ca: CertificateAuthority
    let jwtAuthority: JWTAuthority
    let keys: [SigningKey]
    let lineage: Lineage
    let start: Date
    let token: String

    var subject: SPIFFEID { get throws { try SPIFFEID(Self.ids[2]) } }

    /// `svid.pem` (the task's chain, leaf first), `svid.der`, `plain.pem` (no lineage),
    /// `forged.pem` (issued with a forged third link), `bundle.pem`, `bundle.json` (SPIFFE bundle),
    /// `jwks.json`, `token.jwt` and `plain.jwt`.
    static func make() async throws -> LineageFixture {
        let directory = try makeTemporaryDirectory()
        let start = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        let trustDomain = try TrustDomain("example.org")
        let root = try CertificateAuthority.createRoot(trustDomain: trustDomain)
        let ca = try root.createIntermediate(ttl: .seconds(7200))
        let jwtAuthority = try JWTAuthority.generate(trustDomain: trustDomain, keyAlgorithm: .ecP384, notAfter: start.addingTimeInterval(7200))
        let keys = try [SigningKey(generating: .ecP256), SigningKey(generating: .rsa2048), SigningKey(generating: .ecP384)]

        var lineage = try Lineage().appending(LinkBuilder.root(
            spiffeID: ids[0], publicKey: keys[0].publicKey, attestor: "join_token", selectors: ["join_token:abc123"],
            issuedAt: start, expiresAt: start.addingTimeInterval(3600), evidence: Array("join token redeemed".utf8),
            signedBy: root.key.certificatePrivateKey))
        lineage = try lineage.appending(LinkBuilder.child(
            of: lineage, signedBy: keys[0].certificatePrivateKey, spiffeID: ids[1], publicKey: keys[1].publicKey,
            attestor: "unix", selectors: ["unix:uid:1000", "unix:path:/usr/bin/runner"],
            issuedAt: start.addingTimeInterval(1), expiresAt: start.addingTimeInterval(3000)))
        let task = try LinkBuilder.child(
            of: lineage, signedBy: keys[1].certificatePrivateKey, spiffeID: ids[2], publicKey: keys[2].publicKey,
            attestor: "exec", selectors: ["exec:parent_pid:4242"], issuedAt: start.addingTimeInterval(2), expiresAt: start.addingTimeInterval(1800))
        let forgedTask = try LinkSignature.sign(task.content, with: SigningKey().certificatePrivateKey)
        let forged = try lineage.appending(forgedTask)
        lineage = try lineage.appending(task)

        let subject = try SPIFFEID(ids[2])
        func svid(_ lineage: Lineage?) throws -> [Certificate] {
            try ca.issue(X509SVIDParameters(
                spiffeID: subject, publicKey: keys[2].publicKey, ttl: .seconds(1800),
                extraExtensions: try lineage.map { [try LineageExtension.make($0)] } ?? []))
        }
        let token = try await jwtAuthority.sign(spiffeID: subject, audience: ["svc"], extraClaims: Self.claims(lineage))
        let plainToken = try await jwtAuthority.sign(spiffeID: subject, audience: ["svc"])

        try directory.write("svid.pem", CertificateEncoding.pem(try svid(lineage)))
        try directory.write("svid.der", CertificateEncoding.concatenatedDER(try svid(lineage)))
        try directory.write("plain.pem", CertificateEncoding.pem(try svid(nil)))
        try directory.write("forged.pem", CertificateEncoding.pem(try svid(forged)))
        try directory.write("bundle.pem", CertificateEncoding.pem([root.certificate]))
        let bundle = SPIFFEBundle(trustDomain: trustDomain, x509Authorities: [root.certificate], jwtAuthorities: [jwtAuthority.keyID: jwtAuthority.publicKey])
        try directory.write("bundle.json", try bundle.json())
        try directory.write("jwks.json", try bundle.jwtBundle.jwks())
        try directory.write("token.jwt", token + "\n")
        try directory.write("plain.jwt", plainToken)
        return LineageFixture(directory: directory, root: root, ca: ca, jwtAuthority: jwtAuthority, keys: keys, lineage: lineage, start: start, token: token)
    }

    /// The claims a JWT-SVID with `lineage` carries.
    static func claims(_ lineage: Lineage) -> [String: JSONValue] {
        var claims = ["lineage": LineageJSON.claim(lineage)]
        if let act = LineageJSON.actClaim(lineage) { claims["act"] = act }
        return claims
    }

    func path(_ name: String) -> String { directory.path(name) }

    func remove() { try? FileManager.default.removeItem(at: directory) }

    /// A token for the task signed by the fixture's authority with these claims.
    func token(claims: [String: JSONValue]) async throws -> String {
        try await jwtAuthority.sign(spiffeID: try subject, audience: ["svc"], extraClaims: claims)
    }
}
