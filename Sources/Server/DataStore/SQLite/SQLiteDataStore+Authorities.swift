import GRDB

extension SQLiteDataStore {
    /// Signing keys ordered by `notBefore`, then ID.
    public func authorities() async throws(DataStoreError) -> [AuthorityRecord] {
        let rows = try await read("reading authorities") { db in
            try SQLiteAuthorityRow.order(SQLiteAuthorityRow.Columns.notBefore, SQLiteAuthorityRow.Columns.id).fetchAll(db)
        }
        var authorities: [AuthorityRecord] = []
        authorities.reserveCapacity(rows.count)
        for row in rows { authorities.append(try row.model()) }
        return authorities
    }

    public func saveAuthority(_ authority: AuthorityRecord, audit: AuditEvent) async throws(DataStoreError) {
        let row = SQLiteAuthorityRow(authority)
        try await write("saving authority \(authority.id)") { db in
            try row.insert(db, onConflict: .replace)
            try SQLiteAuditLog.append(audit, db)
        }
    }

    /// - Throws: ``DataStoreError/notFound(_:)`` when there is no such authority.
    public func deleteAuthority(id: String, audit: AuditEvent) async throws(DataStoreError) {
        try await write("deleting authority \(id)") { db in
            guard try SQLiteAuthorityRow.deleteOne(db, key: id) else { throw DataStoreError.notFound("authority \(id)") }
            try SQLiteAuditLog.append(audit, db)
        }
    }

    /// Increments the counter in `meta` in its own transaction and returns the new value.
    public func nextBundleSequence() async throws(DataStoreError) -> UInt64 {
        let value = try await write("advancing the bundle sequence") { db in
            try db.execute(sql: """
                INSERT INTO meta (key, value) VALUES ('bundle_sequence', 1)
                ON CONFLICT (key) DO UPDATE SET value = value + 1
                """)
            return try Int64.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'bundle_sequence'")
        }
        guard let value, let sequence = UInt64(exactly: value), sequence > 0 else {
            throw .corrupt("meta: bundle_sequence is not a positive integer")
        }
        return sequence
    }
}
