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
            for event in events { _ = try SQLiteAuditLog.append(event, db) }
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
        let last = try Row.fetchOne(db, sql: "SELECT sequence, hash FROM audit_log ORDER BY sequence DESC LIMIT 1")
        let record: AuditRecord
        if let last {
            let sequence: Int64 = try last.decode(atIndex: 0)
            let hash: String = try last.decode(atIndex: 1)
            record = AuditChain.record(for: event, sequence: sequence + 1, previousHash: hash)
        } else {
            record = AuditChain.record(for: event, sequence: 1, previousHash: AuditChain.genesisHash)
        }
        try SQLiteAuditRow(record).insert(db)
        return record
    }
}
