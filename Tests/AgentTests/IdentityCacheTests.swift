import Attestation
import Authority
import Foundation
import Lineage
import Logging
import MatryoshkaAPI
import SPIFFE
import Testing

@testable import Agent

@Suite("Identity cache: what the minting loop renews, and when")
struct IdentityCacheTests {
    let fixture: AgentFixture
    let now = Date()
    var trustDomain: TrustDomain { fixture.trustDomain }
    var ca: CertificateAuthority { fixture.ca }

    init() throws { fixture = try AgentFixture() }

    func entry(_ path: String, wildcard: Bool = false) throws -> RegistrationEntry { try fixture.entry(path, wildcard: wildcard) }
    /// An SVID for `entry` issued now for `ttl`.
    func svid(for entry: RegistrationEntry, ttl: Duration) throws -> CachedSVID { try fixture.svid(for: entry, ttl: ttl, now: now) }
    func cache(_ entries: [RegistrationEntry]) async -> IdentityCache { await fixture.cache(entries) }

    @Test("an entry without an SVID is due now; one with an SVID at its half-life; wildcard entries never")
    func dueAndNext() async throws {
        let web = try entry("/web")
        let api = try entry("/api")
        let tasks = try entry("/task", wildcard: true)
        let cache = await cache([web, api, tasks])
        #expect(await cache.entriesNeedingSVIDs(now: now).map(\.id).contains("/web"))
        await cache.store(try svid(for: web, ttl: .seconds(600)))
        await cache.store(try svid(for: api, ttl: .seconds(600)))
        #expect(!(await cache.entriesNeedingSVIDs(now: now).map(\.id).contains("/web")))
        let next = try #require(await cache.nextMint())
        #expect(abs(next.timeIntervalSince(now) - 300) < 2, "half-life of a 10 min SVID, got \(next.timeIntervalSince(now)) s")
        #expect(await cache.entriesNeedingSVIDs(now: now.addingTimeInterval(301)).map(\.id).contains("/web"))
    }

    @Test("an SVID capped at the layer's own expiry is not renewed again and again before the layer renews")
    func cappedSVIDsDoNotSpin() async throws {
        let web = try entry("/web")
        let cache = await cache([web])
        let capped = try svid(for: web, ttl: .seconds(120))
        await cache.store(capped)
        let layerExpiresAt = capped.expiresAt  // the server capped the child at its parent's expiry
        let later = now.addingTimeInterval(100)  // past its half-life
        #expect(await cache.entriesNeedingSVIDs(now: later, layerExpiresAt: layerExpiresAt).isEmpty)
        #expect(await cache.nextMint(layerExpiresAt: layerExpiresAt) == nil)
        // Once the layer has a longer-lived SVID, renewing extends it: due again.
        let renewedLayer = layerExpiresAt.addingTimeInterval(3600)
        #expect(await cache.entriesNeedingSVIDs(now: later, layerExpiresAt: renewedLayer).map(\.id) == ["/web"])
        #expect(await cache.nextMint(layerExpiresAt: renewedLayer) != nil)
    }

    @Test("when the server refuses the layer's own SVID, everything it holds is dropped and reads as revoked; the entries stay, to be minted again")
    func discardAll() async throws {
        let web = try entry("/web"), api = try entry("/api")
        let cache = await cache([web, api])
        let webSVID = try svid(for: web, ttl: .seconds(600)), apiSVID = try svid(for: api, ttl: .seconds(600))
        await cache.store(webSVID)
        await cache.store(apiSVID)
        #expect(await cache.svidCount == 2)
        #expect(!(await cache.isRevoked(webSVID)))
        await cache.discardAll(reason: "the layer's SVID was revoked")
        #expect(await cache.svidCount == 0)
        let webRevoked = await cache.isRevoked(webSVID), apiRevoked = await cache.isRevoked(apiSVID)
        #expect(webRevoked && apiRevoked)
        #expect(Set(await cache.entriesNeedingSVIDs().map(\.id)) == [web.id, api.id])
    }

    @Test("a sync update drops the SVIDs revoked by serial and those whose lineage passes through a revoked layer's key")
    func revocationsDropHeldSVIDs() async throws {
        let web = try entry("/web"), api = try entry("/api"), db = try entry("/db")
        let cache = await cache([web, api, db])
        // api's lineage passes through a layer (the agent) holding `layerKey`.
        let layerKey = try SigningKey(generating: .ecP256)
        let link = try LinkBuilder.root(
            spiffeID: "spiffe://example.org/agent", publicKey: layerKey.publicKey, attestor: "join_token", selectors: [],
            issuedAt: now, expiresAt: now.addingTimeInterval(600), evidence: [], signedBy: ca.key.certificatePrivateKey)
        let apiKey = try SigningKey(generating: .ecP256)
        var parameters = X509SVIDParameters(spiffeID: api.spiffeID, publicKey: apiKey.publicKey, ttl: .seconds(600))
        parameters.extraExtensions.append(try LineageExtension.make(Lineage(links: [link])))
        let apiSVID = CachedSVID(entryID: api.id, spiffeID: api.spiffeID, chain: try ca.issue(parameters, now: now), key: apiKey, receivedAt: now)
        #expect(apiSVID.lineageKeyHashes == [LineageLink.hexSHA256(layerKey.publicKey.spkiDER)])
        let webSVID = try svid(for: web, ttl: .seconds(600)), dbSVID = try svid(for: db, ttl: .seconds(600))
        for svid in [webSVID, apiSVID, dbSVID] { await cache.store(svid) }
        #expect(await cache.svidCount == 3)

        let revoked = RevocationList(revoked: [
            Matryoshka_V1_RevokedCredential.with {
                $0.serialNumber = webSVID.serialNumber
                $0.spiffeID = web.spiffeID.description
                $0.reason = "compromised"
            },
            Matryoshka_V1_RevokedCredential.with {
                $0.serialNumber = "0badc0de"
                $0.spiffeID = "spiffe://example.org/agent"
                $0.publicKeyHash = LineageLink.hexSHA256(layerKey.publicKey.spkiDER)
            },
        ], crls: [])
        #expect(revoked.refusal(for: webSVID)?.contains("compromised") == true)
        #expect(revoked.refusal(for: apiSVID)?.contains("lineage passes through spiffe://example.org/agent") == true)
        #expect(revoked.refusal(for: dbSVID) == nil)
        await cache.apply(entries: [web, api, db], bundle: SPIFFEBundle(trustDomain: trustDomain, x509Authorities: [ca.certificate]), revocations: revoked)
        #expect(await cache.svidCount == 1)
        let webGone = await cache.isRevoked(webSVID), apiGone = await cache.isRevoked(apiSVID), dbKept = await cache.isRevoked(dbSVID)
        #expect(webGone && apiGone && !dbKept)
        // Minted through the revoked layer meanwhile: never held.
        await cache.store(apiSVID)
        #expect(await cache.svidCount == 1)
    }

    @Test("a refused entry without an SVID waits for its back-off")
    func backoff() async throws {
        let web = try entry("/web")
        let cache = await cache([web])
        let retry = now.addingTimeInterval(30)
        #expect(await cache.nextMint(notBefore: ["/web": retry]) == retry)
    }
}
