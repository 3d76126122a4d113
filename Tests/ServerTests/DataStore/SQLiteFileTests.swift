import Foundation
import GRDB
import SPIFFE
import Testing

@testable import Server

@Suite("SQLite datastore: the database file")
struct SQLiteFileTests {
    @Test func everythingSurvivesCloseAndReopen() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("data/nested/server.sqlite").path
            let now = Date(timeIntervalSince1970: 1_800_000_000)
            let entry = try sampleEntry()
            let agentID = try spiffeID("spiffe://example.org/agent/x")
            do {
                let store = try SQLiteDataStore(path: path)
                _ = try await store.createEntry(entry, audit: event("entry.create", subject: entry.id))
                try await store.createJoinToken(
                    JoinTokenRecord(tokenHash: "h1", agentID: agentID, alias: nil, expiresAt: now.addingTimeInterval(60), createdAt: now),
                    audit: event("join_token.create", subject: "h1"))
                try await store.saveAgent(
                    AgentRecord(spiffeID: agentID, attestationType: "join_token", selectors: [], serialNumber: "01", expiresAt: now),
                    audit: event("node.attest", subject: agentID.description))
                try await store.saveAuthority(
                    AuthorityRecord(id: "ca", kind: .x509, privateKeyPEM: "k", notBefore: now, notAfter: now, state: .active),
                    audit: event("ca.prepare", subject: "ca"))
                try await store.recordIssuance(
                    IssuedSVIDRecord(serialNumber: "s1", kind: .x509, spiffeID: entry.spiffeID, entryID: entry.id, requestedBy: agentID, issuedAt: now, expiresAt: now),
                    audit: event("svid.issue", subject: "s1"))
                #expect(try await store.nextBundleSequence() == 1)
                try store.close()
            }
            let store = try SQLiteDataStore(path: path)
            defer { try? store.close() }
            #expect(try await store.entry(id: entry.id)?.spiffeID == entry.spiffeID)
            #expect(try await store.hasPendingJoinToken(agentID: agentID, now: now))
            #expect(try await store.agent(id: agentID) != nil)
            #expect(try await store.authorities().map(\.id) == ["ca"])
            #expect(try await store.issuedSVID(serialNumber: "s1") != nil)
            #expect(try await store.nextBundleSequence() == 2)
            let records = try await allAuditRecords(store)
            #expect(records.count == 5 && AuditChain.verify(records) == nil)
            #expect(try await store.appliedMigrations() == SQLiteDataStore.schemaMigrations)
        }
    }

    @Test func fileAndCompanionsAreOwnerOnly() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("fresh/server.sqlite").path
            let store = try SQLiteDataStore(path: path)
            defer { try? store.close() }
            _ = try await store.createEntry(try sampleEntry(), audit: event("entry.create", subject: "e"))
            for file in [path, path + "-wal", path + "-shm"] {
                let attributes = try FileManager.default.attributesOfItem(atPath: file)
                let mode = try #require(attributes[.posixPermissions] as? NSNumber).intValue
                #expect(mode == 0o600, "\(file) has mode \(String(mode, radix: 8))")
            }
            let directoryMode = try #require(
                try FileManager.default.attributesOfItem(atPath: (path as NSString).deletingLastPathComponent)[.posixPermissions] as? NSNumber)
            #expect(directoryMode.intValue == 0o700)
        }
    }

    @Test func anExistingLooseFileIsTightened() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("server.sqlite").path
            try SQLiteDataStore(path: path).close()
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
            let store = try SQLiteDataStore(path: path)
            defer { try? store.close() }
            let mode = try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)
            #expect(mode.intValue == 0o600)
        }
    }

    @Test func writesAreDurableAndWAL() async throws {
        try await withFileStore { store, _ in
            let (synchronous, journalMode, foreignKeys) = try await store.database.write { db in
                (
                    try Int.fetchOne(db, sql: "PRAGMA synchronous"),
                    try String.fetchOne(db, sql: "PRAGMA journal_mode"),
                    try Bool.fetchOne(db, sql: "PRAGMA foreign_keys")
                )
            }
            #expect(synchronous == 2)  // FULL
            #expect(journalMode == "wal")
            #expect(foreignKeys == true)
        }
    }

    @Test func aDatabaseFromANewerVersionIsRefused() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("server.sqlite").path
            let store = try SQLiteDataStore(path: path)
            _ = try await store.createEntry(try sampleEntry(id: "keep"), audit: event("entry.create", subject: "keep"))
            try await rawSQL(store, "INSERT INTO grdb_migrations (identifier) VALUES ('v99-from-the-future')")
            try store.close()

            let error = #expect(throws: DataStoreError.self) { try SQLiteDataStore(path: path) }
            #expect(error?.isMigration == true)
            #expect(error?.description.contains("v99-from-the-future") == true)
            #expect(error?.description.contains("newer version") == true)

            // Nothing was touched: remove the marker and the data is all there.
            let queue = try DatabaseQueue(path: path)
            try await queue.write { db in try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier = 'v99-from-the-future'") }
            try queue.close()
            let reopened = try SQLiteDataStore(path: path)
            defer { try? reopened.close() }
            #expect(try await reopened.entry(id: "keep") != nil)
        }
    }

    @Test func aFileThatIsNotADatabaseIsCorrupt() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("server.sqlite").path
            try Data(repeating: 0x41, count: 8192).write(to: URL(fileURLWithPath: path))
            let error = #expect(throws: DataStoreError.self) { try SQLiteDataStore(path: path) }
            #expect(error?.isCorrupt == true, "\(String(describing: error))")
        }
    }

    @Test func anUnwritableLocationIsUnavailable() async throws {
        try await withTemporaryDirectory { directory in
            let blocker = directory.appendingPathComponent("file")
            try Data("x".utf8).write(to: blocker)
            let error = #expect(throws: DataStoreError.self) {
                try SQLiteDataStore(path: blocker.appendingPathComponent("server.sqlite").path)
            }
            #expect(error?.isUnavailable == true, "\(String(describing: error))")
        }
    }

    @Test func aClosedStoreIsUnavailable() async throws {
        try await withFileStore { store, _ in
            try store.close()
            let error = await #expect(throws: DataStoreError.self) { _ = try await store.listAgents() }
            #expect(error?.isUnavailable == true, "\(String(describing: error))")
        }
    }
}
