import Foundation
import SPIFFE
import Testing

@testable import Server

@Suite("SQLite datastore: entries")
struct SQLiteEntryTests {
    @Test func createReadListDelete() async throws {
        try await withFileStore { store, _ in
            let entry = try sampleEntry(selectors: ["unix:uid:1000", "unix:gid:1000", "unix:uid:1000"])
            let created = try await store.createEntry(entry, audit: event("entry.create", subject: entry.id))
            #expect(created.revision == 1)
            #expect(created.selectors == entry.selectors.sorted())
            #expect(created.createdAt.isClose(to: entry.createdAt))

            let read = try #require(try await store.entry(id: entry.id))
            #expect(read == created)
            #expect(read.dnsNames == ["api.example.org", "b.example.org"])
            #expect(read.audiences == ["https://a/\"quoted\"", "ü-audience"])
            #expect(read.nested && read.x509TTL == 3600 && read.jwtTTL == 300)

            #expect(try await store.listEntries(spiffeID: nil, parentID: nil) == [created])

            let deleted = try await store.deleteEntry(id: entry.id, audit: event("entry.delete", subject: entry.id))
            #expect(deleted == created)
            #expect(try await store.entry(id: entry.id) == nil)
            #expect(try await store.listEntries(spiffeID: nil, parentID: nil).isEmpty)
        }
    }

    @Test func unknownEntryIsNilAndCannotBeDeleted() async throws {
        let store = try SQLiteDataStore.inMemory()
        #expect(try await store.entry(id: "nope") == nil)
        await #expect(throws: DataStoreError.notFound("entry nope")) {
            _ = try await store.deleteEntry(id: "nope", audit: event("entry.delete", subject: "nope"))
        }
        #expect(try await allAuditRecords(store).isEmpty)
    }

    @Test func sameSelectorsInAnotherOrderAreADuplicate() async throws {
        let store = try SQLiteDataStore.inMemory()
        let first = try await store.createEntry(
            try sampleEntry(selectors: ["unix:uid:1000", "unix:gid:1000"]), audit: event("entry.create", subject: "1"))
        var second = try sampleEntry(selectors: [])
        // Bypass the initializer's sorting: the store must canonicalize on its own.
        second.selectors = [try selector("unix:gid:1000"), try selector("unix:uid:1000"), try selector("unix:gid:1000")]
        await #expect(throws: DataStoreError.duplicateEntry(existingID: first.id)) {
            _ = try await store.createEntry(second, audit: event("entry.create", subject: "2"))
        }
        // Another parent, SPIFFE ID or selector set is not a duplicate.
        _ = try await store.createEntry(try sampleEntry(parent: "/agent/node-2"), audit: event("entry.create", subject: "3"))
        _ = try await store.createEntry(try sampleEntry(path: "/other"), audit: event("entry.create", subject: "4"))
        _ = try await store.createEntry(try sampleEntry(selectors: ["unix:uid:1000"]), audit: event("entry.create", subject: "5"))
        #expect(try await store.listEntries(spiffeID: nil, parentID: nil).count == 4)
    }

    @Test func anExistingIDIsADuplicate() async throws {
        let store = try SQLiteDataStore.inMemory()
        _ = try await store.createEntry(try sampleEntry(id: "fixed"), audit: event("entry.create", subject: "fixed"))
        await #expect(throws: DataStoreError.duplicateEntry(existingID: "fixed")) {
            _ = try await store.createEntry(try sampleEntry(id: "fixed", path: "/else"), audit: event("entry.create", subject: "fixed"))
        }
    }

    @Test func listFiltersAndOrders() async throws {
        let store = try SQLiteDataStore.inMemory()
        let specs: [(id: String, path: String, parent: String)] = [
            ("e3", "/b", "/agent/node-1"), ("e1", "/b", "/agent/node-2"), ("e2", "/a", "/agent/node-1"),
            ("e4", "/c", "/agent/node-2"), ("e0", "/b", "/agent/node-1"),
        ]
        for (index, spec) in specs.enumerated() {
            _ = try await store.createEntry(
                try sampleEntry(id: spec.id, path: spec.path, parent: spec.parent, selectors: ["unix:uid:\(index)"]),
                audit: event("entry.create", subject: spec.id))
        }
        #expect(try await store.listEntries(spiffeID: nil, parentID: nil).map(\.id) == ["e2", "e0", "e1", "e3", "e4"])
        let b = try spiffeID("spiffe://example.org/b")
        let node1 = try spiffeID("spiffe://example.org/agent/node-1")
        #expect(try await store.listEntries(spiffeID: b, parentID: nil).map(\.id) == ["e0", "e1", "e3"])
        #expect(try await store.listEntries(spiffeID: nil, parentID: node1).map(\.id) == ["e2", "e0", "e3"])
        #expect(try await store.listEntries(spiffeID: b, parentID: node1).map(\.id) == ["e0", "e3"])
        #expect(try await store.listEntries(spiffeID: try spiffeID("spiffe://example.org/z"), parentID: nil).isEmpty)
    }

    @Test func aRowThatNoLongerParsesIsCorruptNotACrash() async throws {
        let store = try SQLiteDataStore.inMemory()
        let entry = try await store.createEntry(try sampleEntry(id: "bad"), audit: event("entry.create", subject: "bad"))
        try await rawSQL(store, "UPDATE entries SET spiffe_id = 'not a spiffe id' WHERE id = ?", [entry.id])
        let error = await #expect(throws: DataStoreError.self) { _ = try await store.entry(id: "bad") }
        #expect(error?.isCorrupt == true)
        #expect(error?.description.contains("entry bad: spiffe_id 'not a spiffe id' is not a SPIFFE ID") == true)
        let listError = await #expect(throws: DataStoreError.self) { _ = try await store.listEntries(spiffeID: nil, parentID: nil) }
        #expect(listError?.isCorrupt == true)

        try await rawSQL(store, "UPDATE entries SET spiffe_id = 'spiffe://example.org/ok', selectors = '[\"nocolon\"]'")
        let selectorError = await #expect(throws: DataStoreError.self) { _ = try await store.entry(id: "bad") }
        #expect(selectorError?.isCorrupt == true)

        try await rawSQL(store, "UPDATE entries SET selectors = '{not json'")
        let jsonError = await #expect(throws: DataStoreError.self) { _ = try await store.entry(id: "bad") }
        #expect(jsonError?.isCorrupt == true)
    }
}
