import Attestation
import Authority
import Foundation
import Logging
import MatryoshkaAPI
import SPIFFE
import Testing

@testable import Agent

/// Which entries a workload gets from its agent: those whose selectors it has, oldest first, and
/// never a wildcard entry (`…/task/*`), whose children the layer holding it names per request.
@Suite("Identity cache: which entries a workload matches")
struct WorkloadMatchingTests {
    @Test("a wildcard entry beside a workload's own is not one of its identities")
    func wildcardEntriesAreNotServed() async throws {
        let trustDomain = try TrustDomain("example.org")
        let ca = try CertificateAuthority.createRoot(trustDomain: trustDomain)
        func entry(_ path: String, wildcard: Bool = false, selector: String = "unix:uid:1000", age: TimeInterval) throws -> RegistrationEntry {
            RegistrationEntry(
                id: path, spiffeID: try SPIFFEID(trustDomain: trustDomain, path: path), isWildcard: wildcard,
                parentID: try SPIFFEID(trustDomain: trustDomain, path: "/job"), selectors: [try Selector(selector)],
                createdAt: Date().addingTimeInterval(-age))
        }
        // The wildcard is the oldest: were it matched it would be the default identity.
        let tasks = try entry("/job/task", wildcard: true, age: 30)
        let app = try entry("/job/app", age: 20)
        let tool = try entry("/job/tool", age: 10)
        let other = try entry("/job/other", selector: "unix:uid:2000", age: 5)
        let bundle = SPIFFEBundle(trustDomain: trustDomain, x509Authorities: [ca.certificate])
        let cache = IdentityCache(bundle: bundle, logger: Logger(label: "test"))
        await cache.apply(entries: [tasks, app, tool, other], bundle: bundle)

        let matched = await cache.matchingEntries([try Selector("unix:uid:1000")])
        #expect(matched.map(\.id) == [app.id, tool.id])
        #expect(await cache.matchingEntries([try Selector("unix:uid:3000")]).isEmpty)
    }
}
