import GRDB

extension SQLiteDataStore {
    public func appendAudit(_ event: AuditEvent) async throws(DataStoreError) {
        try await write("appending to the audit log") { db in
            _ = try SQLiteAuditLog.append(event, db)
        }
    }

    public func appendAudit(_ events: [AuditEvent]) async throws(DataStoreError) {
        guard !events.isEmpty else { return }
        try await write("appending to the audit log") { db in
            try SQLiteAuditLog.append(events, db)
        }
    }

    public func auditRecords(from sequence: Int64, limit: Int) async throws(DataStoreError) -> [AuditRecord] {
        guard limit > 0 else { return [] }
        let rows = try await read("reading the audit log") { db in
            try SQLiteAuditRow
                .filter(SQLiteAuditRow.Columns.sequence >= sequence)
                .order(SQLiteAuditRow.Columns.sequence)
                .limit(limit)
                .fetchAll(db)
        }
        var records: [AuditRecord] = []
        records.reserveCapacity(rows.count)
        for row in rows { records.append(try row.model()) }
        return records
    }
}

/// Appends to the hash-chained audit log inside the caller's transaction.
enum SQLiteAuditLog {
    /// Chains `event` to the newest record and inserts it. Must run in the write transaction of
    /// the change it records; the write lock held by that transaction keeps the chain linear.
    @discardableResult
    static func append(_ event: AuditEvent, _ db: Database) throws -> AuditRecord {
        let prepared = AuditChain.Prepared(event, after: try newest(db))
        try SQLiteAuditRow(prepared).insert(db)
        return prepared.record
    }

    /// Chains `events`, in order, to the newest record and inserts them: the newest record is read
    /// once, not once per event. Same transaction rule as ``append(_:_:)``.
    static func append(_ events: [AuditEvent], _ db: Database) throws {
        var previous = try newest(db)
        for event in events {
            let prepared = AuditChain.Prepared(event, after: previous)
            try SQLiteAuditRow(prepared).insert(db)
            previous = (prepared.record.sequence, prepared.record.hash)
        }
    }

    /// The sequence number and hash of the newest record, or nil when the log is empty.
    private static func newest(_ db: Database) throws -> (sequence: Int64, hash: String)? {
        let statement = try db.cachedStatement(sql: "SELECT sequence, hash FROM audit_log ORDER BY sequence DESC LIMIT 1")
        guard let last = try Row.fetchOne(statement) else { return nil }
        return (try last.decode(atIndex: 0), try last.decode(atIndex: 1))
    }
}
