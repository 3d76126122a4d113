import Foundation
import SPIFFE
import Testing

@testable import Server

@Suite("SQLite datastore: audit log")
struct SQLiteAuditTests {
    /// Runs one of each mutation, a failing one after each where there is one, and checks that
    /// every success left exactly one record (its own) and every failure none.
    @Test func eachSuccessfulMutationLeavesExactlyOneRecordAndFailuresNone() async throws {
        try await withFileStore { store, _ in
            let now = Date()
            var expected: [String] = []
            func check(_ label: String) async throws {
                let records = try await allAuditRecords(store)
                #expect(records.map(\.event.kind) == expected, "after \(label)")
            }

            let entry = try sampleEntry()
            _ = try await store.createEntry(entry, audit: event("entry.create", subject: entry.id))
            expected.append("entry.create")
            _ = try? await store.createEntry(try sampleEntry(), audit: event("entry.create.dup", subject: "dup"))
            try await check("a duplicate entry")

            _ = try await store.deleteEntry(id: entry.id, audit: event("entry.delete", subject: entry.id))
            expected.append("entry.delete")
            _ = try? await store.deleteEntry(id: entry.id, audit: event("entry.delete.again", subject: entry.id))
            try await check("deleting an unknown entry")

            let agentID = try spiffeID("spiffe://example.org/agent/join_token/t")
            let token = JoinTokenRecord(tokenHash: "t", agentID: agentID, alias: nil, expiresAt: now.addingTimeInterval(60))
            try await store.createJoinToken(token, audit: event("join_token.create", subject: "t"))
            expected.append("join_token.create")
            try? await store.createJoinToken(token, audit: event("join_token.create.dup", subject: "t"))
            _ = try await store.redeemJoinToken(hash: "t", now: now, audit: event("node.attest", subject: "t"))
            expected.append("node.attest")
            _ = try? await store.redeemJoinToken(hash: "t", now: now, audit: event("node.attest.reuse", subject: "t"))
            try await check("a reused join token")

            try await store.saveAgent(
                AgentRecord(spiffeID: agentID, attestationType: "join_token", selectors: [], serialNumber: "1", expiresAt: now),
                audit: event("agent.save", subject: agentID.description))
            expected.append("agent.save")
            try await store.saveAuthority(
                AuthorityRecord(id: "ca", kind: .x509, privateKeyPEM: "k", notBefore: now, notAfter: now, state: .active),
                audit: event("ca.save", subject: "ca"))
            expected.append("ca.save")
            try await store.deleteAuthority(id: "ca", audit: event("ca.delete", subject: "ca"))
            expected.append("ca.delete")
            try? await store.deleteAuthority(id: "ca", audit: event("ca.delete.again", subject: "ca"))
            let svid = IssuedSVIDRecord(
                serialNumber: "s", kind: .x509, spiffeID: agentID, entryID: nil, requestedBy: nil, issuedAt: now, expiresAt: now)
            try await store.recordIssuance(svid, audit: event("svid.issue", subject: "s"))
            expected.append("svid.issue")
            try? await store.recordIssuance(svid, audit: event("svid.issue.dup", subject: "s"))
            try await store.appendAudit(event("svid.refuse", subject: "s", details: ["reason": "wider TTL"]))
            expected.append("svid.refuse")
            _ = try await store.nextBundleSequence()  // audits nothing by itself
            try await check("all of them")

            let records = try await allAuditRecords(store)
            #expect(records.map(\.sequence) == Array(1...Int64(expected.count)))
            #expect(AuditChain.verify(records) == nil)
            #expect(records.last?.event.details == ["reason": "wider TTL"])
            #expect(records.last?.event.actor == "uid:1000")
        }
    }

    @Test func recordsArePagedBySequence() async throws {
        let store = try SQLiteDataStore.inMemory()
        for index in 1...25 { try await store.appendAudit(event("test", subject: "s\(index)")) }
        let first = try await store.auditRecords(from: 1, limit: 10)
        let second = try await store.auditRecords(from: 11, limit: 10)
        let rest = try await store.auditRecords(from: 21, limit: 10)
        #expect(first.map(\.sequence) == Array(1...10) && second.map(\.sequence) == Array(11...20) && rest.map(\.sequence) == Array(21...25))
        #expect(AuditChain.verify(first) == nil)
        #expect(AuditChain.verify(second, after: first.last) == nil)
        #expect(AuditChain.verify(rest, after: second.last) == nil)
        #expect(try await store.auditRecords(from: 26, limit: 10).isEmpty)
        #expect(try await store.auditRecords(from: 1, limit: 0).isEmpty)
    }

    func storeWithFiveRecords() async throws -> SQLiteDataStore {
        let store = try SQLiteDataStore.inMemory()
        for index in 1...5 { try await store.appendAudit(event("test", subject: "s\(index)", details: ["n": "\(index)"])) }
        #expect(AuditChain.verify(try await allAuditRecords(store)) == nil)
        return store
    }

    @Test func anEditedRowIsDetected() async throws {
        let store = try await storeWithFiveRecords()
        try await rawSQL(store, "UPDATE audit_log SET subject = 'someone else' WHERE sequence = 3")
        #expect(AuditChain.verify(try await allAuditRecords(store)) == AuditChainBreak(sequence: 3, reason: .hashMismatch))
    }

    @Test func anEditedTimeOrDetailIsDetected() async throws {
        let store = try await storeWithFiveRecords()
        try await rawSQL(store, "UPDATE audit_log SET time = time + 1 WHERE sequence = 2")
        #expect(AuditChain.verify(try await allAuditRecords(store))?.sequence == 2)
        let other = try await storeWithFiveRecords()
        try await rawSQL(other, #"UPDATE audit_log SET details = '{"n":"40"}' WHERE sequence = 4"#)
        #expect(AuditChain.verify(try await allAuditRecords(other))?.sequence == 4)
    }

    @Test func aDeletedMiddleRowIsDetected() async throws {
        let store = try await storeWithFiveRecords()
        try await rawSQL(store, "DELETE FROM audit_log WHERE sequence = 3")
        #expect(AuditChain.verify(try await allAuditRecords(store)) == AuditChainBreak(sequence: 4, reason: .unexpectedSequence(expected: 3)))
    }

    @Test func swappedSequencesAreDetected() async throws {
        let store = try await storeWithFiveRecords()
        try await rawSQL(store, """
            UPDATE audit_log SET sequence = -1 WHERE sequence = 2;
            UPDATE audit_log SET sequence = 2 WHERE sequence = 3;
            UPDATE audit_log SET sequence = 3 WHERE sequence = -1;
            """)
        #expect(AuditChain.verify(try await allAuditRecords(store)) == AuditChainBreak(sequence: 2, reason: .previousHashMismatch))
    }

    @Test func theChainContinuesAcrossReopen() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("server.sqlite").path
            let first = try SQLiteDataStore(path: path)
            try await first.appendAudit(event("a", subject: "1"))
            try first.close()
            let second = try SQLiteDataStore(path: path)
            defer { try? second.close() }
            try await second.appendAudit(event("b", subject: "2"))
            let records = try await allAuditRecords(second)
            #expect(records.map(\.sequence) == [1, 2] && AuditChain.verify(records) == nil)
        }
    }
}
