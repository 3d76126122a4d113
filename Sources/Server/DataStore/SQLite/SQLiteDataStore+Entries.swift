import GRDB
import SPIFFE

extension SQLiteDataStore {
    /// Stores a new entry with revision 1, its selectors sorted and without duplicates and its
    /// creation time taken to the millisecond, and returns it as stored.
    ///
    /// - Throws: ``DataStoreError/duplicateEntry(existingID:)`` when an entry with the same SPIFFE
    ///   ID, parent ID and selectors (in any order) exists, or one with the same ID.
    public func createEntry(_ entry: RegistrationEntry, audit: AuditEvent) async throws(DataStoreError) -> RegistrationEntry {
        var stored = entry
        stored.selectors = StoredValues.canonicalSelectors(entry.selectors)
        stored.revision = 1
        stored.createdAt = StoredTime.normalized(entry.createdAt)
        let row = SQLiteEntryRow(stored)
        try await write("creating entry \(entry.id)") { db in
            let existing = try String.fetchOne(
                db,
                SQLiteEntryRow
                    .select(SQLiteEntryRow.Columns.id)
                    .filter(SQLiteEntryRow.Columns.spiffeID == row.spiffeID)
                    .filter(SQLiteEntryRow.Columns.parentID == row.parentID)
                    .filter(SQLiteEntryRow.Columns.selectors == row.selectors))
            if let existing { throw DataStoreError.duplicateEntry(existingID: existing) }
            if try SQLiteEntryRow.exists(db, key: row.id) { throw DataStoreError.duplicateEntry(existingID: row.id) }
            try row.insert(db)
            try SQLiteAuditLog.append(audit, db)
        }
        return stored
    }

    public func entry(id: String) async throws(DataStoreError) -> RegistrationEntry? {
        let row = try await read("reading entry \(id)") { db in try SQLiteEntryRow.fetchOne(db, key: id) }
        return try row?.model()
    }

    public func listEntries(spiffeID: SPIFFEID?, parentID: SPIFFEID?) async throws(DataStoreError) -> [RegistrationEntry] {
        var request = SQLiteEntryRow.all()
        if let spiffeID { request = request.filter(SQLiteEntryRow.Columns.spiffeID == spiffeID.description) }
        if let parentID { request = request.filter(SQLiteEntryRow.Columns.parentID == parentID.description) }
        request = request.order(SQLiteEntryRow.Columns.spiffeID, SQLiteEntryRow.Columns.id)
        let rows = try await read("listing entries") { [request] db in try request.fetchAll(db) }
        // Decoded off the database connection, which is free for others meanwhile.
        var entries: [RegistrationEntry] = []
        entries.reserveCapacity(rows.count)
        var cache = SQLiteEntryRow.DecodingCache()
        for row in rows { entries.append(try row.model(cache: &cache)) }
        return entries
    }

    /// - Throws: ``DataStoreError/notFound(_:)`` when there is no such entry.
    public func deleteEntry(id: String, audit: AuditEvent) async throws(DataStoreError) -> RegistrationEntry {
        try await write("deleting entry \(id)") { db in
            guard let row = try SQLiteEntryRow.fetchOne(db, key: id) else { throw DataStoreError.notFound("entry \(id)") }
            let entry = try row.model()
            try row.delete(db)
            try SQLiteAuditLog.append(audit, db)
            return entry
        }
    }
}
