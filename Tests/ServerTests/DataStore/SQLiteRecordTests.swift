import Foundation
import SPIFFE
import Testing

@testable import Server

@Suite("SQLite datastore: agents, authorities, issued SVIDs, bundle sequence")
struct SQLiteRecordTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000.456)

    @Test func agentsAreCreatedReplacedAndListed() async throws {
        let store = try SQLiteDataStore.inMemory()
        let id = try spiffeID("spiffe://example.org/agent/join_token/abc")
        var agent = AgentRecord(
            spiffeID: id, attestationType: "join_token", selectors: [try selector("join_token:abc")],
            serialNumber: "01ab", expiresAt: now.addingTimeInterval(3600), createdAt: now, lastAttestedAt: now)
        try await store.saveAgent(agent, audit: event("node.attest", subject: id.description))
        let read = try #require(try await store.agent(id: id))
        #expect(read.spiffeID == id && read.attestationType == "join_token" && read.serialNumber == "01ab")
        #expect(read.selectors == agent.selectors && !read.canReattest && !read.evicted)
        #expect(read.expiresAt.isClose(to: agent.expiresAt) && read.createdAt.isClose(to: now) && read.lastAttestedAt.isClose(to: now))

        #expect(read.previousSerialNumber == nil && read.honours(serialNumber: "01ab") && !read.honours(serialNumber: "02cd"))

        // A renewal: the replaced SVID is still honoured, the one before it no longer.
        agent.previousSerialNumber = "01ab"
        agent.serialNumber = "02cd"
        try await store.saveAgent(agent, audit: event("agent.renew", subject: id.description))
        let renewed = try #require(try await store.agent(id: id))
        #expect(renewed.previousSerialNumber == "01ab" && renewed.honours(serialNumber: "01ab") && renewed.honours(serialNumber: "02cd"))
        #expect(!renewed.honours(serialNumber: "00ff"))

        agent.evicted = true
        agent.canReattest = true
        try await store.saveAgent(agent, audit: event("agent.evict", subject: id.description))
        let replaced = try #require(try await store.agent(id: id))
        #expect(replaced.serialNumber == "02cd" && replaced.evicted && replaced.canReattest)

        let second = AgentRecord(
            spiffeID: try spiffeID("spiffe://example.org/agent/a"), attestationType: "tpm", selectors: [],
            serialNumber: "03", expiresAt: now)
        try await store.saveAgent(second, audit: event("node.attest", subject: "a"))
        #expect(try await store.listAgents().map(\.spiffeID) == [second.spiffeID, id])
        #expect(try await store.agent(id: try spiffeID("spiffe://example.org/agent/none")) == nil)
        #expect(try await allAuditRecords(store).count == 4)
    }

    @Test func authoritiesAreSavedReplacedOrderedAndDeleted() async throws {
        let store = try SQLiteDataStore.inMemory()
        var x509 = AuthorityRecord(
            id: "ca-1", kind: .x509, privateKeyPEM: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            certificateDER: [0x30, 0x82, 0x00, 0xFF], notBefore: now, notAfter: now.addingTimeInterval(86_400),
            state: .active, createdAt: now)
        let jwt = AuthorityRecord(
            id: "jwt-1", kind: .jwt, privateKeyPEM: "pem", keyID: "kid-1", notBefore: now.addingTimeInterval(-10),
            notAfter: now.addingTimeInterval(86_400), state: .prepared, createdAt: now)
        try await store.saveAuthority(x509, audit: event("ca.prepare", subject: "ca-1"))
        try await store.saveAuthority(jwt, audit: event("ca.prepare", subject: "jwt-1"))

        var all = try await store.authorities()
        #expect(all.map(\.id) == ["jwt-1", "ca-1"])
        let readX509 = try #require(all.last)
        #expect(readX509.kind == .x509 && readX509.privateKeyPEM == x509.privateKeyPEM)
        #expect(readX509.certificateDER == x509.certificateDER && readX509.keyID.isEmpty && readX509.state == .active)
        #expect(readX509.notAfter.isClose(to: x509.notAfter))
        #expect(all.first?.keyID == "kid-1" && all.first?.certificateDER == [])

        x509.state = .retired
        try await store.saveAuthority(x509, audit: event("ca.retire", subject: "ca-1"))
        all = try await store.authorities()
        #expect(all.count == 2 && all.last?.state == .retired)

        try await store.deleteAuthority(id: "ca-1", audit: event("ca.delete", subject: "ca-1"))
        #expect(try await store.authorities().map(\.id) == ["jwt-1"])
        await #expect(throws: DataStoreError.notFound("authority ca-1")) {
            try await store.deleteAuthority(id: "ca-1", audit: event("ca.delete", subject: "ca-1"))
        }
        #expect(try await allAuditRecords(store).count == 4)
    }

    @Test func issuedSVIDsAreRecordedOnce() async throws {
        let store = try SQLiteDataStore.inMemory()
        let svid = IssuedSVIDRecord(
            serialNumber: "7f00aa", kind: .x509, spiffeID: try spiffeID("spiffe://example.org/workload"),
            entryID: "entry-1", requestedBy: try spiffeID("spiffe://example.org/agent/x"),
            issuedAt: now, expiresAt: now.addingTimeInterval(3600))
        try await store.recordIssuance(svid, audit: event("svid.issue", subject: "7f00aa"))
        let read = try #require(try await store.issuedSVID(serialNumber: "7f00aa"))
        #expect(read.kind == .x509 && read.spiffeID == svid.spiffeID && read.entryID == "entry-1")
        #expect(read.requestedBy == svid.requestedBy && read.revokedAt == nil)
        #expect(read.issuedAt.isClose(to: now) && read.expiresAt.isClose(to: svid.expiresAt))

        let agentSVID = IssuedSVIDRecord(
            serialNumber: "jti-1", kind: .jwt, spiffeID: try spiffeID("spiffe://example.org/agent/x"),
            entryID: nil, requestedBy: nil, issuedAt: now, expiresAt: now, revokedAt: now)
        try await store.recordIssuance(agentSVID, audit: event("svid.issue", subject: "jti-1"))
        let readAgent = try #require(try await store.issuedSVID(serialNumber: "jti-1"))
        #expect(readAgent.entryID == nil && readAgent.requestedBy == nil && readAgent.kind == .jwt)
        #expect(try #require(readAgent.revokedAt).isClose(to: now))

        let error = await #expect(throws: DataStoreError.self) {
            try await store.recordIssuance(svid, audit: event("svid.issue", subject: "7f00aa"))
        }
        #expect(error?.description.contains("7f00aa") == true)
        #expect(try await store.issuedSVID(serialNumber: "none") == nil)
        #expect(try await allAuditRecords(store).count == 2)
    }

    @Test func issuancesAreRecordedAllOrNone() async throws {
        let store = try SQLiteDataStore.inMemory()
        func svid(_ serial: String) throws -> IssuanceRecord {
            IssuanceRecord(
                svid: IssuedSVIDRecord(
                    serialNumber: serial, kind: .x509, spiffeID: try spiffeID("spiffe://example.org/w/\(serial)"), entryID: "e",
                    requestedBy: try spiffeID("spiffe://example.org/agent/x"), issuedAt: now, expiresAt: now.addingTimeInterval(60)),
                audit: event("svid.issue", subject: serial))
        }
        try await store.recordIssuances([try svid("01"), try svid("02"), try svid("03")])
        #expect(try await allAuditRecords(store).map(\.event.subject) == ["01", "02", "03"])
        // The batch's records chain to each other and to the record before them.
        try await store.recordIssuances([try svid("06"), try svid("07")])
        let chained = try await allAuditRecords(store)
        #expect(chained.map(\.sequence) == [1, 2, 3, 4, 5])
        #expect(AuditChain.verify(chained) == nil)

        // A batch with one serial already recorded is refused whole: nothing of it is written.
        await #expect(throws: DataStoreError.self) {
            try await store.recordIssuances([try svid("04"), try svid("02"), try svid("05")])
        }
        #expect(try await store.issuedSVID(serialNumber: "04") == nil)
        #expect(try await store.issuedSVID(serialNumber: "05") == nil)
        #expect(try await allAuditRecords(store).count == 5)
        try await store.recordIssuances([])
        #expect(try await allAuditRecords(store).count == 5)
    }

    @Test func bundleSequenceCountsFromOne() async throws {
        try await withFileStore { store, path in
            #expect(try await store.nextBundleSequence() == 1)
            #expect(try await store.nextBundleSequence() == 2)
            let concurrent = await withTaskGroup(of: UInt64?.self) { group in
                for _ in 0..<10 { group.addTask { try? await store.nextBundleSequence() } }
                var values: [UInt64] = []
                for await value in group { if let value { values.append(value) } }
                return values.sorted()
            }
            #expect(concurrent == Array(3...12))
            try store.close()
            let reopened = try SQLiteDataStore(path: path)
            defer { try? reopened.close() }
            #expect(try await reopened.nextBundleSequence() == 13)
        }
    }
}
