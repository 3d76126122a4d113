import Foundation
import Testing

@testable import Server

/// `audit show --spiffe-id … [--subtree]` over a history shaped like a 4-layer run.
@Suite("Audit log: queries")
struct AuditQueryTests {
    static let agent = "spiffe://example.org/agent/join_token/n1"
    static let runner = "spiffe://example.org/ci/runner"
    static let task = "spiffe://example.org/ci/runner/task/1"
    static let other = "spiffe://example.org/web"

    static func issue(_ sequence: Int64, _ subject: String, by actor: String, lineage: [String], serial: String) -> AuditRecord {
        AuditChain.record(
            for: AuditEvent(kind: "svid.issue", actor: actor, subject: subject,
                            details: ["serial": serial, "lineage": lineage.joined(separator: AuditLineage.separator)],
                            time: Date(timeIntervalSince1970: TimeInterval(1_000 + sequence))),
            sequence: sequence, previousHash: AuditChain.genesisHash)
    }

    static let history: [AuditRecord] = [
        issue(1, agent, by: agent, lineage: [agent], serial: "a1"),
        issue(2, runner, by: agent, lineage: [agent, runner], serial: "r1"),
        issue(3, other, by: agent, lineage: [agent, other], serial: "w1"),
        issue(4, task, by: runner, lineage: [agent, runner, task], serial: "t1"),
        AuditChain.record(
            for: AuditEvent(kind: "svid.refuse", actor: runner, subject: "spiffe://example.org/ci/runner/task/2", details: ["reason": "wider"],
                            time: Date(timeIntervalSince1970: 1_005)),
            sequence: 5, previousHash: AuditChain.genesisHash),
        AuditChain.record(
            for: AuditEvent(kind: "revoke", actor: "uid:0(root)", subject: "t1", details: ["serials": "t1", "spiffe_ids": task],
                            time: Date(timeIntervalSince1970: 1_006)),
            sequence: 6, previousHash: AuditChain.genesisHash),
    ]

    func run(_ query: AuditQuery) -> [Int64] {
        let scope = query.scope(of: Self.history)
        return Self.history.filter { query.matches($0, in: scope) }.map(\.sequence)
    }

    @Test func everythingWithoutAnIdentity() {
        #expect(run(AuditQuery()) == [1, 2, 3, 4, 5, 6])
    }

    @Test func oneIdentity() {
        // Its issuance, what it asked for (the task, the refused task), not its siblings.
        #expect(run(AuditQuery(spiffeID: Self.runner)) == [2, 4, 5])
    }

    @Test func aSubtreeFollowsLineage() {
        #expect(run(AuditQuery(spiffeID: Self.runner, subtree: true)) == [2, 4, 5, 6])
        #expect(run(AuditQuery(spiffeID: Self.agent, subtree: true)) == [1, 2, 3, 4, 5, 6])
    }

    @Test func sinceFilters() {
        #expect(run(AuditQuery(spiffeID: Self.runner, subtree: true, since: Date(timeIntervalSince1970: 1_004.5))) == [5, 6])
    }
}
