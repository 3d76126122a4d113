import Attestation
import Authority
import Foundation
import Lineage
import Logging
import SPIFFE
import X509

@testable import Server

/// A server core in this process (datastore in memory, CA, registration index, the real Issuer
/// and Revocation) and a stack of layers, each with its own key and an X509-SVID minted through
/// the Issuer with a lineage link signed by the layer above: the node agent, then nested layers.
final class LineageFixture: Sendable {
    /// One layer: its SVID, key and the caller it is to the node API.
    struct Layer: Sendable {
        let id: SPIFFEID
        let key: SigningKey
        let chain: [Certificate]
        let caller: Caller

        var serial: String { chain[0].serialNumber.hexString }
        var lineage: Lineage { caller.lineage }
        var keyHash: String { LineageLink.hexSHA256(key.publicKey.spkiDER) }
    }

    static let logger = Logger(label: "revocation-tests") { _ in SwiftLogNoOpLogHandler() }

    let trustDomain: TrustDomain
    let store: SQLiteDataStore
    let authorities: AuthorityManager
    let index: RegistrationIndex
    let issuer: Issuer
    let revocation: Revocation

    init(entries: [RegistrationEntry]) async throws {
        trustDomain = try TrustDomain("example.org")
        store = try SQLiteDataStore.inMemory()
        authorities = AuthorityManager(
            store: store, settings: AuthorityManager.Settings(trustDomain: trustDomain, caTTL: .seconds(24 * 3600)), logger: Self.logger)
        try await authorities.start()
        index = RegistrationIndex(entries: entries)
        issuer = Issuer(
            authorities: authorities, store: store, index: index,
            defaults: Issuer.Defaults(x509TTL: .seconds(3600), jwtTTL: .seconds(300), agentTTL: .seconds(7200)), logger: Self.logger)
        revocation = Revocation(store: store, authorities: authorities, logger: Self.logger)
        try await revocation.start()
    }

    var authenticator: CallerAuthenticator {
        CallerAuthenticator(authorities: authorities, store: store, index: index, revocation: revocation)
    }

    func id(_ path: String) throws -> SPIFFEID { try SPIFFEID(trustDomain: trustDomain, path: path) }

    /// A node agent attested by join token.
    func agent(_ path: String = "/agent/node-1") async throws -> Layer {
        let agentID = try id(path)
        let key = try SigningKey(generating: .ecP256)
        let chain = try await issuer.issueAgentSVID(
            agentID: agentID, csrDER: try CertificateRequests.csr(for: key), attestor: "join_token", selectors: ["join_token:node-1"],
            evidence: [], event: "svid.issue.agent")
        let record = AgentRecord(
            spiffeID: agentID, attestationType: "join_token", selectors: [], serialNumber: chain[0].serialNumber.hexString,
            expiresAt: chain[0].notValidAfter)
        try await store.saveAgent(record, audit: AuditEvent(kind: "node.attest", actor: "test", subject: agentID.description))
        let lineage = try LineageExtension.lineage(of: chain[0]) ?? Lineage()
        return Layer(id: agentID, key: key, chain: chain, caller: Caller(spiffeID: agentID, kind: .agent(record), certificate: chain[0], lineage: lineage))
    }

    /// The child of `parent` for `entry` (a `nested` entry makes it a caller of its own),
    /// through the Issuer, with a lineage link `parent` signs.
    func child(of parent: Layer, entry: RegistrationEntry, requestedID: SPIFFEID? = nil) async throws -> Layer {
        let key = try SigningKey(generating: .ecP256)
        let childID = requestedID ?? entry.spiffeID
        let now = Date()
        let link = try LinkBuilder.child(
            of: parent.lineage, signedBy: parent.key.certificatePrivateKey, spiffeID: childID.description, publicKey: key.publicKey,
            attestor: "unix", selectors: entry.selectors.map(\.description), issuedAt: now,
            expiresAt: min(now.addingTimeInterval(1800), parent.caller.expiresAt.addingTimeInterval(-1)))
        let (minted, chain) = try await issuer.mintX509SVID(
            caller: parent.caller, entryID: entry.id, requestedID: requestedID?.description ?? "",
            csrDER: try CertificateRequests.csr(for: key), linkDER: try LineageDER.encode(link), now: now)
        let lineage = try LineageExtension.lineage(of: chain[0]) ?? Lineage()
        return Layer(id: minted, key: key, chain: chain, caller: Caller(spiffeID: minted, kind: .nested(entry), certificate: chain[0], lineage: lineage))
    }

    /// A JWT-SVID for `entry`, vouched for by `parent`; returns the token and its ID.
    func jwt(of parent: Layer, entry: RegistrationEntry) async throws -> (token: String, tokenID: String) {
        let now = Date()
        let link = try LinkBuilder.child(
            of: parent.lineage, signedBy: parent.key.certificatePrivateKey, spiffeID: entry.spiffeID.description, publicKey: nil,
            attestor: "unix", selectors: entry.selectors.map(\.description), issuedAt: now,
            expiresAt: min(now.addingTimeInterval(120), parent.caller.expiresAt.addingTimeInterval(-1)))
        let (token, _) = try await issuer.mintJWTSVID(
            caller: parent.caller, entryID: entry.id, requestedID: "", audience: ["db"], linkDER: try LineageDER.encode(link), now: now)
        return (token, Issuer.tokenID(token))
    }

    /// An entry for `path` under `parent`, selector `unix:uid:1000`.
    static func entry(_ path: String, parent: String, nested: Bool) throws -> RegistrationEntry {
        let trustDomain = try TrustDomain("example.org")
        return RegistrationEntry(
            id: "entry" + path.replacingOccurrences(of: "/", with: "-"),
            spiffeID: try SPIFFEID(trustDomain: trustDomain, path: path), parentID: try SPIFFEID(trustDomain: trustDomain, path: parent),
            selectors: [try Selector("unix:uid:1000")], nested: nested)
    }
}
