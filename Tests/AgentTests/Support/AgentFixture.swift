import Attestation
import Authority
import Foundation
import Logging
import MatryoshkaAPI
import SPIFFE

@testable import Agent

/// A trust domain and its CA, and what the agent's tests build from them: entries for uid 0 under
/// `/agent`, SVIDs the CA issues for them, and a cache holding the entries.
struct AgentFixture {
    let trustDomain: TrustDomain
    let ca: CertificateAuthority
    /// The one selector of every entry: `unix:uid:0`.
    let selector: Selector

    init() throws {
        trustDomain = try TrustDomain("example.org")
        ca = try CertificateAuthority.createRoot(trustDomain: trustDomain)
        selector = try Selector("unix:uid:0")
    }

    /// The trust domain's bundle: the CA's certificate.
    var bundle: SPIFFEBundle { SPIFFEBundle(trustDomain: trustDomain, x509Authorities: [ca.certificate]) }

    /// An entry for `path`, parent `/agent`, selector `unix:uid:0`.
    func entry(_ path: String, wildcard: Bool = false) throws -> RegistrationEntry {
        RegistrationEntry(
            id: path, spiffeID: try SPIFFEID(trustDomain: trustDomain, path: path), isWildcard: wildcard,
            parentID: try SPIFFEID(trustDomain: trustDomain, path: "/agent"), selectors: [selector])
    }

    /// An SVID for `entry`, issued at `now` for `ttl`.
    func svid(for entry: RegistrationEntry, ttl: Duration = .seconds(600), now: Date = Date()) throws -> CachedSVID {
        let key = try SigningKey(generating: .ecP256)
        let chain = try ca.issue(X509SVIDParameters(spiffeID: entry.spiffeID, publicKey: key.publicKey, ttl: ttl), now: now)
        return CachedSVID(entryID: entry.id, spiffeID: entry.spiffeID, chain: chain, key: key, receivedAt: now)
    }

    /// A cache holding `entries` and the bundle, no SVIDs yet.
    func cache(_ entries: [RegistrationEntry]) async -> IdentityCache {
        let cache = IdentityCache(bundle: bundle, logger: Logger(label: "test"))
        await cache.apply(entries: entries, bundle: bundle)
        return cache
    }
}
