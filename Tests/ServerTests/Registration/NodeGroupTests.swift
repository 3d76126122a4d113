import Attestation
import Foundation
import MatryoshkaAPI
import SPIFFE
import Testing

@testable import Server

/// Node entries: an entry whose parent is the server names a group of nodes by node selectors;
/// an agent whose node proved all of them is also known by the entry's ID and serves the workload
/// entries under it — and no other agent does.
@Suite("Registration index: node entries group nodes by their selectors")
struct NodeGroupTests {
    let trustDomain: TrustDomain
    let serverID: SPIFFEID
    let euNode: SPIFFEID
    let usNode: SPIFFEID

    init() throws {
        trustDomain = try TrustDomain("example.org")
        serverID = WellKnownIDs.server(in: trustDomain)
        euNode = try SPIFFEID(trustDomain: trustDomain, path: "/agent/tpm/aaaa")
        usNode = try SPIFFEID(trustDomain: trustDomain, path: "/agent/tpm/bbbb")
    }

    func entry(_ path: String, parent: SPIFFEID, _ selectors: [String]) throws -> RegistrationEntry {
        RegistrationEntry(
            id: path, spiffeID: try SPIFFEID(trustDomain: trustDomain, path: path), parentID: parent,
            selectors: try selectors.map { try Selector($0) })
    }

    func index() throws -> RegistrationIndex {
        let cluster = try entry("/cluster/eu", parent: serverID, ["region:eu"])
        let secure = try entry("/cluster/eu-secure", parent: serverID, ["region:eu", "tpm:pcr:7:00"])
        let payments = try entry("/payments", parent: cluster.spiffeID, ["unix:uid:1000"])
        let vault = try entry("/vault", parent: secure.spiffeID, ["unix:uid:1000"])
        return RegistrationIndex(
            entries: [cluster, secure, payments, vault], serverID: serverID,
            nodes: [euNode: [try Selector("region:eu"), try Selector("tpm:ek-hash:aaaa")], usNode: [try Selector("region:us")]])
    }

    @Test("a node with the group's selectors serves the entries under it; another node does not")
    func groupMembersServe() async throws {
        let index = try index()
        let payments = try #require(await index.entry(id: "/payments"))
        #expect(await index.nodeGroups(of: euNode).map(\.path) == ["/cluster/eu"])
        #expect(await index.entries(servedBy: euNode).map(\.id) == ["/payments"])
        #expect(await index.may(euNode, serve: payments))
        #expect(await index.entries(servedBy: usNode).isEmpty)
        #expect(!(await index.may(usNode, serve: payments)))
    }

    @Test("every selector of the group is required: a node with only some is not a member")
    func allSelectorsRequired() async throws {
        let index = try index()
        let vault = try #require(await index.entry(id: "/vault"))
        #expect(!(await index.may(euNode, serve: vault)))
        await index.setNodeSelectors([try Selector("region:eu"), try Selector("tpm:pcr:7:00")], for: euNode)
        #expect(await index.may(euNode, serve: vault))
        #expect(Set(await index.nodeGroups(of: euNode).map(\.path)) == ["/cluster/eu", "/cluster/eu-secure"])
    }

    @Test("an evicted node leaves its groups, and a node never seen belongs to none")
    func evictedNodesLeave() async throws {
        let index = try index()
        let changes = await index.changes(for: euNode)
        var iterator = changes.makeAsyncIterator()
        await index.removeNode(euNode)
        #expect(await index.entries(servedBy: euNode).isEmpty)
        #expect(await iterator.next() != nil, "the agent's sync stream hears of it")
        let stranger = try SPIFFEID(trustDomain: trustDomain, path: "/agent/join_token/x")
        #expect(await index.nodeGroups(of: stranger).isEmpty)
    }

    @Test("a new node entry tells connected agents, which then serve what is registered under it")
    func newGroupNotifies() async throws {
        let index = RegistrationIndex(entries: [], serverID: serverID, nodes: [usNode: [try Selector("region:us")]])
        let changes = await index.changes(for: usNode)
        var iterator = changes.makeAsyncIterator()
        let group = try entry("/cluster/us", parent: serverID, ["region:us"])
        await index.upsert(group)
        #expect(await iterator.next() != nil)
        await index.upsert(try entry("/billing", parent: group.spiffeID, ["unix:uid:1000"]))
        #expect(await index.entries(servedBy: usNode).map(\.id) == ["/billing"])
        // The node entry itself is never something an agent serves.
        #expect(!(await index.may(usNode, serve: group)))
    }
}
