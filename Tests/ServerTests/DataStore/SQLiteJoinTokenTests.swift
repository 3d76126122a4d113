import Foundation
import SPIFFE
import Testing

@testable import Server

@Suite("SQLite datastore: join tokens")
struct SQLiteJoinTokenTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000.123)

    func token(_ hash: String, expiresIn seconds: TimeInterval = 600, alias: String? = "/ci/nodes") throws -> JoinTokenRecord {
        JoinTokenRecord(
            tokenHash: hash,
            agentID: try spiffeID("spiffe://example.org/agent/join_token/\(hash)"),
            alias: try alias.map { try spiffeID("spiffe://example.org" + $0) },
            expiresAt: now.addingTimeInterval(seconds),
            createdAt: now)
    }

    @Test func redeemOnceThenUsed() async throws {
        let store = try SQLiteDataStore.inMemory()
        let record = try token("aa11")
        try await store.createJoinToken(record, audit: event("join_token.create", subject: record.agentID.description))

        let redeemedAt = now.addingTimeInterval(5)
        let redeemed = try await store.redeemJoinToken(hash: "aa11", now: redeemedAt, audit: event("node.attest", subject: "aa11"))
        #expect(redeemed.agentID == record.agentID)
        #expect(redeemed.alias == record.alias)
        #expect(redeemed.expiresAt.isClose(to: record.expiresAt))
        #expect(redeemed.createdAt.isClose(to: record.createdAt))
        #expect(try #require(redeemed.usedAt).isClose(to: redeemedAt))

        let error = await #expect(throws: DataStoreError.self) {
            _ = try await store.redeemJoinToken(hash: "aa11", now: redeemedAt.addingTimeInterval(1), audit: event("node.attest", subject: "aa11"))
        }
        guard case .tokenUsed(let at) = error else {
            Issue.record("expected tokenUsed, got \(String(describing: error))")
            return
        }
        #expect(at.isClose(to: redeemedAt))
        // A token used and then expired is still reported as used.
        await #expect(throws: DataStoreError.tokenUsed(at: StoredTime.normalized(redeemedAt))) {
            _ = try await store.redeemJoinToken(hash: "aa11", now: redeemedAt.addingTimeInterval(3600), audit: event("node.attest", subject: "aa11"))
        }
        // create + one successful redemption: two audit records; failures leave none.
        #expect(try await allAuditRecords(store).map(\.event.kind) == ["join_token.create", "node.attest"])
    }

    @Test func expiredTokenIsRefused() async throws {
        let store = try SQLiteDataStore.inMemory()
        let record = try token("bb22", expiresIn: 60)
        try await store.createJoinToken(record, audit: event("join_token.create", subject: "bb22"))
        // Exactly at expiry counts as expired.
        await #expect(throws: DataStoreError.tokenExpired(at: StoredTime.normalized(record.expiresAt))) {
            _ = try await store.redeemJoinToken(hash: "bb22", now: record.expiresAt, audit: event("node.attest", subject: "bb22"))
        }
        // Still unused: an expired token does not get marked.
        #expect(try await store.hasPendingJoinToken(agentID: record.agentID, now: now))
        #expect(try await allAuditRecords(store).count == 1)
    }

    @Test func unknownTokenIsNotFound() async throws {
        let store = try SQLiteDataStore.inMemory()
        await #expect(throws: DataStoreError.notFound("join token")) {
            _ = try await store.redeemJoinToken(hash: "nope", now: now, audit: event("node.attest", subject: "nope"))
        }
        #expect(try await allAuditRecords(store).isEmpty)
    }

    @Test func sameHashTwiceIsRefused() async throws {
        let store = try SQLiteDataStore.inMemory()
        try await store.createJoinToken(try token("cc33"), audit: event("join_token.create", subject: "cc33"))
        await #expect(throws: DataStoreError.self) {
            try await store.createJoinToken(try token("cc33"), audit: event("join_token.create", subject: "cc33"))
        }
        #expect(try await allAuditRecords(store).count == 1)
    }

    @Test func pendingTokensByAgentIDOrAlias() async throws {
        let store = try SQLiteDataStore.inMemory()
        let record = try token("dd44", expiresIn: 60, alias: "/ci/runners")
        try await store.createJoinToken(record, audit: event("join_token.create", subject: "dd44"))
        let alias = try #require(record.alias)
        #expect(try await store.hasPendingJoinToken(agentID: record.agentID, now: now))
        #expect(try await store.hasPendingJoinToken(agentID: alias, now: now))
        #expect(try await !store.hasPendingJoinToken(agentID: try spiffeID("spiffe://example.org/other"), now: now))
        #expect(try await !store.hasPendingJoinToken(agentID: alias, now: record.expiresAt))
        _ = try await store.redeemJoinToken(hash: "dd44", now: now, audit: event("node.attest", subject: "dd44"))
        #expect(try await !store.hasPendingJoinToken(agentID: alias, now: now))
    }

    /// Twenty redeemers at once, across two stores (two connection pools, so SQLite's own locking
    /// is involved, not only GRDB's writer queue): exactly one wins.
    @Test func concurrentRedeemersExactlyOneWins() async throws {
        try await withFileStore { store, path in
            let other = try SQLiteDataStore(path: path)
            defer { try? other.close() }
            try await store.createJoinToken(try token("ee55"), audit: event("join_token.create", subject: "ee55"))
            let now = self.now
            let outcomes = await withTaskGroup(of: Result<JoinTokenRecord, DataStoreError>.self) { group in
                for index in 0..<20 {
                    let target = index.isMultiple(of: 2) ? store : other
                    group.addTask {
                        do throws(DataStoreError) {
                            return .success(try await target.redeemJoinToken(
                                hash: "ee55", now: now, audit: event("node.attest", subject: "redeemer \(index)")))
                        } catch {
                            return .failure(error)
                        }
                    }
                }
                var outcomes: [Result<JoinTokenRecord, DataStoreError>] = []
                for await outcome in group { outcomes.append(outcome) }
                return outcomes
            }
            let winners = outcomes.filter { if case .success = $0 { true } else { false } }
            let used = outcomes.filter { if case .failure(.tokenUsed) = $0 { true } else { false } }
            #expect(winners.count == 1)
            #expect(used.count == 19, "\(outcomes)")
            let records = try await allAuditRecords(store)
            #expect(records.count == 2)
            #expect(AuditChain.verify(records) == nil)
        }
    }
}
