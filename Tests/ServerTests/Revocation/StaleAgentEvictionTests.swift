import Foundation
import SPIFFE
import Testing

@testable import Server

/// Continuous attestation has a deadline: an agent that could re-attest but has not for too long
/// is evicted with everything it vouched for; one that cannot re-attest (join token), or attested
/// recently, is left alone.
@Suite("Eviction of agents that stop re-attesting")
struct StaleAgentEvictionTests {
    @Test("an overdue TPM agent is evicted and its subtree revoked; fresh and join-token agents stay")
    func evictsOverdueAgents() async throws {
        let stack = try await RevocationTests.stack()
        let fixture = stack.fixture
        // The stack's node agent now stands for a TPM node last attested 10 minutes ago.
        var overdue = try #require(try await fixture.store.agent(id: stack.agent.id))
        overdue.canReattest = true
        overdue.attestationType = "tpm"
        overdue.lastAttestedAt = Date().addingTimeInterval(-600)
        try await fixture.store.saveAgent(overdue, audit: AuditEvent(kind: "test", actor: "test", subject: overdue.spiffeID.description))
        // Another TPM agent that attested a moment ago, and a join-token agent from long ago.
        let fresh = AgentRecord(
            spiffeID: try fixture.id("/agent/tpm/fresh"), attestationType: "tpm", selectors: [], serialNumber: "01",
            expiresAt: Date().addingTimeInterval(3600), lastAttestedAt: Date(), canReattest: true)
        let joinToken = AgentRecord(
            spiffeID: try fixture.id("/agent/join_token/old"), attestationType: "join_token", selectors: [], serialNumber: "02",
            expiresAt: Date().addingTimeInterval(3600), lastAttestedAt: Date().addingTimeInterval(-6000), canReattest: false)
        for record in [fresh, joinToken] {
            try await fixture.store.saveAgent(record, audit: AuditEvent(kind: "test", actor: "test", subject: record.spiffeID.description))
        }

        let eviction = StaleAgentEviction(
            store: fixture.store, revocation: fixture.revocation, index: fixture.index, maxAge: .seconds(300), logger: LineageFixture.logger)
        #expect(await eviction.sweep() == [stack.agent.id])

        let after = try #require(try await fixture.store.agent(id: stack.agent.id))
        #expect(after.evicted && after.untrustedReason == nil, "evicted, but free to attest afresh")
        let revoked = Set(try await fixture.store.revokedSVIDs(now: Date()).map(\.serialNumber))
        #expect(revoked.isSuperset(of: stack.all.map(\.serial)), "the node and every layer under it")
        #expect(try await fixture.store.agent(id: fresh.spiffeID)?.evicted == false)
        #expect(try await fixture.store.agent(id: joinToken.spiffeID)?.evicted == false)
        // Said once: a second sweep finds nothing more to do.
        #expect(await eviction.sweep().isEmpty)
        let records = try await fixture.store.auditRecords(from: 0, limit: 1000)
        #expect(records.contains { $0.event.kind == "agent.evict" && ($0.event.details["reason"] ?? "").contains("no successful attestation for 10m") })
    }

    @Test("the sweep interval is a quarter of the limit, between 1 and 30 seconds")
    func interval() async throws {
        let fixture = try await LineageFixture(entries: [])
        func eviction(_ maxAge: Duration) -> StaleAgentEviction {
            StaleAgentEviction(store: fixture.store, revocation: fixture.revocation, index: fixture.index, maxAge: maxAge, logger: LineageFixture.logger)
        }
        #expect(eviction(.seconds(2)).interval == .seconds(1))
        #expect(eviction(.seconds(60)).interval == .seconds(15))
        #expect(eviction(.seconds(3600)).interval == .seconds(30))
    }
}
