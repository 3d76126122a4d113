import Foundation
import GRDB
import SPIFFE
import Testing

@testable import Server

/// The `v2-revocation` migration and the datastore's revocation queries.
@Suite("SQLite datastore: revocation")
struct SQLiteRevocationTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func id(_ path: String) throws -> SPIFFEID { try spiffeID("spiffe://example.org" + path) }

    /// An X509-SVID record for `path` whose lineage passes through `ancestors` (path, key hash).
    func record(
        _ serial: String, _ path: String, key: String? = nil, ancestors: [(String, String)] = [], expiresIn: TimeInterval = 3600,
        kind: IssuedSVIDRecord.Kind = .x509
    ) throws -> IssuedSVIDRecord {
        IssuedSVIDRecord(
            serialNumber: serial, kind: kind, spiffeID: try id(path), entryID: "entry-\(path)", requestedBy: try id("/agent"),
            issuedAt: now, expiresAt: now.addingTimeInterval(expiresIn), publicKeyHash: kind == .x509 ? (key ?? "key-\(serial)") : nil,
            ancestors: try ancestors.map { IssuedSVIDRecord.Ancestor(spiffeID: try id($0.0), keyHash: $0.1) }, issuerKeyID: "ca-1")
    }

    /// agent (key-a) > pod (key-p) > runner (key-r) > task (key-t); a sibling app under the pod,
    /// an expired runner, and a JWT-SVID for the task.
    func populate(_ store: SQLiteDataStore) async throws {
        let records = [
            try record("0a", "/agent", key: "key-a"),
            try record("0b", "/pod", key: "key-p", ancestors: [("/agent", "key-a")]),
            try record("0c", "/pod/app", ancestors: [("/agent", "key-a"), ("/pod", "key-p")]),
            try record("0d", "/runner", key: "key-r", ancestors: [("/agent", "key-a"), ("/pod", "key-p")]),
            try record("0e", "/task", key: "key-t", ancestors: [("/agent", "key-a"), ("/pod", "key-p"), ("/runner", "key-r")]),
            try record("0f", "/runner", key: "key-old", ancestors: [("/agent", "key-a"), ("/pod", "key-p")], expiresIn: -1),
            try record("jwt1", "/task", ancestors: [("/agent", "key-a"), ("/pod", "key-p"), ("/runner", "key-r")], kind: .jwt),
        ]
        for svid in records {
            try await store.recordIssuance(svid, audit: event("svid.issue", subject: svid.serialNumber))
        }
    }

    @Test func ancestorsAndNewColumnsAreStored() async throws {
        let store = try SQLiteDataStore.inMemory()
        try await populate(store)
        let task = try #require(try await store.issuedSVID(serialNumber: "0e"))
        #expect(task.ancestors.map(\.spiffeID) == [try id("/agent"), try id("/pod"), try id("/runner")])
        #expect(task.ancestors.map(\.keyHash) == ["key-a", "key-p", "key-r"])
        #expect(task.publicKeyHash == "key-t" && task.issuerKeyID == "ca-1")
        #expect(task.revokedAt == nil && task.revocationReason == nil && task.revokedBy == nil)
        #expect(try await store.issuedSVID(serialNumber: "0a")?.ancestors == [])
        #expect(try await store.appliedMigrations() == SQLiteDataStore.schemaMigrations)
    }

    func revoke(_ selection: SVIDSelection, _ store: SQLiteDataStore, subject: String = "spiffe://example.org/runner") async throws -> Set<String> {
        Set(try await store.revokeSVIDs(selection, reason: "test", revokedBy: "test", now: now, audit: event("revoke", subject: subject)).map(\.serialNumber))
    }

    @Test("a selection revokes by SPIFFE ID, by an ancestor's ID and by an ancestor's key, unexpired and unrevoked only")
    func selections() async throws {
        let cases: [(SVIDSelection, Set<String>)] = [
            (SVIDSelection(spiffeIDs: [try id("/runner")]), ["0d"]),
            (SVIDSelection(ancestorSPIFFEIDs: [try id("/pod")]), ["0c", "0d", "0e", "jwt1"]),
            (SVIDSelection(ancestorSPIFFEIDs: [try id("/runner")]), ["0e", "jwt1"]),
            (SVIDSelection(ancestorKeyHashes: ["key-r"]), ["0e", "jwt1"]),
            (SVIDSelection(ancestorKeyHashes: ["key-old"]), []),
            (SVIDSelection(serialNumbers: ["0f", "unknown"], spiffeIDs: [try id("/nobody")]), []),
            (SVIDSelection(), []),
        ]
        for (selection, expected) in cases {
            let store = try SQLiteDataStore.inMemory()
            try await populate(store)
            #expect(try await revoke(selection, store) == expected, "\(selection)")
        }
    }

    @Test("parts of a selection that overlap revoke each credential once; the audit record counts descendants of the subject")
    func overlappingSelection() async throws {
        let store = try SQLiteDataStore.inMemory()
        try await populate(store)
        let selection = SVIDSelection(
            serialNumbers: ["0e", "0d"], spiffeIDs: [try id("/runner")], ancestorSPIFFEIDs: [try id("/runner")], ancestorKeyHashes: ["key-r"])
        let revoked = try await store.revokeSVIDs(selection, reason: "r", revokedBy: "uid:0", now: now, audit: event("revoke", subject: "spiffe://example.org/runner"))
        #expect(revoked.map(\.serialNumber) == ["0d", "0e", "jwt1"])
        // Returned without their ancestors (a subtree revocation returns thousands and needs none);
        // a record read on its own has them.
        #expect(revoked.allSatisfy { $0.ancestors.isEmpty && $0.revokedAt != nil })
        #expect(try await store.issuedSVID(serialNumber: "0e")?.ancestors.count == 3)
        let details = try #require(try await allAuditRecords(store).last).event.details
        #expect(details["revoked"] == "3" && details["descendants"] == "2" && details["requested"] == "2")
        #expect(details["serials"] == "0d 0e jwt1")
        // A subtree revoked again finds only what is new: nothing.
        #expect(try await revoke(selection, store).isEmpty)
        #expect(try await revoke(SVIDSelection(ancestorSPIFFEIDs: [try id("/pod")]), store, subject: "spiffe://example.org/pod") == ["0c"])
    }

    @Test func revokingSetsTimeReasonAndRevokerWithAnAuditRecord() async throws {
        let store = try SQLiteDataStore.inMemory()
        try await populate(store)
        let before = try await allAuditRecords(store).count
        let revoked = try await store.revokeSVIDs(
            serialNumbers: ["0d", "0e", "0e", "0f", "unknown"], reason: "compromised", revokedBy: "uid:0(root)", now: now,
            audit: AuditEvent(kind: "revoke", actor: "uid:0(root)", subject: "spiffe://example.org/runner", details: ["scope": "test"], time: now))
        // The expired one and the unknown one are not revoked; the duplicate counts once.
        #expect(revoked.map(\.serialNumber) == ["0d", "0e"])
        #expect(revoked.allSatisfy { $0.revokedAt.map { $0.isClose(to: now) } == true && $0.revocationReason == "compromised" && $0.revokedBy == "uid:0(root)" })
        #expect(revoked.allSatisfy { $0.ancestors.isEmpty })
        let audit = try await allAuditRecords(store)
        #expect(audit.count == before + 1 && AuditChain.verify(audit) == nil)
        let record = try #require(audit.last)
        #expect(record.event.kind == "revoke" && record.event.actor == "uid:0(root)")
        #expect(record.event.details["requested"] == "4" && record.event.details["revoked"] == "2")
        #expect(record.event.details["serials"] == "0d 0e" && record.event.details["reason"] == "compromised")
        #expect(record.event.details["spiffe_ids"] == "spiffe://example.org/runner spiffe://example.org/task")
        #expect(record.event.details["scope"] == "test")

        // Revoking again revokes nothing (and says so in the audit log).
        let again = try await store.revokeSVIDs(
            serialNumbers: ["0d"], reason: "again", revokedBy: "x", now: now.addingTimeInterval(1), audit: event("revoke", subject: "x"))
        #expect(again.isEmpty)
        #expect(try await store.issuedSVID(serialNumber: "0d")?.revocationReason == "compromised")
        #expect(try await allAuditRecords(store).last?.event.details["revoked"] == "0")

        #expect(Set(try await store.revokedSVIDs(now: now).map(\.serialNumber)) == ["0d", "0e"])
        #expect(try await store.revokedSVIDs(now: now.addingTimeInterval(7200)).isEmpty)
    }

    @Test func pruningDeletesExpiredRecordsAndTheirAncestors() async throws {
        let store = try SQLiteDataStore.inMemory()
        try await populate(store)
        let before = try await allAuditRecords(store).count
        #expect(try await store.pruneSVIDs(expiredBefore: now, audit: event("svid.prune", subject: "issued_svids")) == 1)
        #expect(try await store.issuedSVID(serialNumber: "0f") == nil)
        let orphans = try await store.database.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM issued_svid_ancestors WHERE serial_number = '0f'")
        }
        #expect(orphans == 0)
        #expect(try await allAuditRecords(store).last?.event.details["pruned"] == "1")
        // Nothing left to prune: no audit record.
        #expect(try await store.pruneSVIDs(expiredBefore: now, audit: event("svid.prune", subject: "issued_svids")) == 0)
        #expect(try await allAuditRecords(store).count == before + 1)
    }

    @Test func crlNumbersIncreaseAcrossReopening() async throws {
        try await withFileStore { store, path in
            #expect(try await store.nextCRLNumber() == 1)
            #expect(try await store.nextCRLNumber() == 2)
            try store.close()
            let reopened = try SQLiteDataStore(path: path)
            defer { try? reopened.close() }
            #expect(try await reopened.nextCRLNumber() == 3)
            #expect(try await reopened.nextBundleSequence() == 1)
        }
    }

    @Test func aVersion1DatabaseIsMigratedKeepingItsRows() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("server.sqlite").path
            do {
                let queue = try DatabaseQueue(path: path)
                try SQLiteSchema.migrator.migrate(queue, upTo: "v1-initial")
                try await queue.write { db in
                    try db.execute(sql: """
                        INSERT INTO issued_svids (serial_number, kind, spiffe_id, entry_id, requested_by, issued_at, expires_at, revoked_at)
                        VALUES ('01', 'x509', 'spiffe://example.org/old', NULL, NULL, 1, 9999999999999, NULL)
                        """)
                }
                try queue.close()
            }
            let store = try SQLiteDataStore(path: path)
            defer { try? store.close() }
            #expect(try await store.appliedMigrations() == SQLiteDataStore.schemaMigrations)
            let old = try #require(try await store.issuedSVID(serialNumber: "01"))
            #expect(old.publicKeyHash == nil && old.ancestors.isEmpty && old.issuerKeyID == nil)
            let revoked = try await store.revokeSVIDs(
                serialNumbers: ["01"], reason: "r", revokedBy: "uid:0", now: now, audit: event("revoke", subject: "01"))
            #expect(revoked.map(\.serialNumber) == ["01"])
        }
    }

    @Test("a thousand descendants are found and revoked in one transaction")
    func thousandDescendants() async throws {
        try await withFileStore { store, _ in
            try await store.recordIssuance(try record("aa", "/runner", key: "key-r"), audit: event("svid.issue", subject: "aa"))
            for index in 0..<1000 {
                let serial = String(format: "%06x", index + 1)
                try await store.recordIssuance(
                    try record(serial, "/runner/task/\(index)", ancestors: [("/agent", "key-a"), ("/runner", "key-r")]),
                    audit: event("svid.issue", subject: serial))
            }
            let revoked = try await store.revokeSVIDs(
                SVIDSelection(serialNumbers: ["aa"], ancestorKeyHashes: ["key-r"]), reason: "r", revokedBy: "uid:0", now: now,
                audit: event("revoke", subject: "spiffe://example.org/runner"))
            #expect(revoked.count == 1001)
            #expect(try await allAuditRecords(store).last?.event.details["descendants"] == "1000")
            #expect(try await store.revokedSVIDs(now: now).count == 1001)
        }
    }
}
