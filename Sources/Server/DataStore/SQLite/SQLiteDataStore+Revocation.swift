import Foundation
import GRDB
import SPIFFE

extension SQLiteDataStore {
    /// One `UPDATE … WHERE serial_number = ? AND revoked_at IS NULL AND expires_at > now` per
    /// serial number (a primary-key lookup each), the revoked rows read back and the audit record
    /// appended, all in one transaction.
    public func revokeSVIDs(
        serialNumbers: [String], reason: String, revokedBy: String, now: Date, audit: AuditEvent
    ) async throws(DataStoreError) -> [IssuedSVIDRecord] {
        let requested = Array(Set(serialNumbers)).sorted()
        let nowMilliseconds = StoredTime.milliseconds(now)
        let found = try await write("revoking \(requested.count) SVIDs") { db in
            let update = try db.cachedStatement(sql: """
                UPDATE issued_svids SET revoked_at = ?, revocation_reason = ?, revoked_by = ?
                WHERE serial_number = ? AND revoked_at IS NULL AND expires_at > ?
                """)
            var revoked: [String] = []
            for serial in requested {
                try update.execute(arguments: [nowMilliseconds, reason, revokedBy, serial, nowMilliseconds])
                if db.changesCount > 0 { revoked.append(serial) }
            }
            let rows = try SQLiteIssuedSVIDRows.fetch(db, serialNumbers: revoked, ancestors: false)
            var event = audit
            event.details["requested"] = String(requested.count)
            event.details["revoked"] = String(revoked.count)
            event.details["reason"] = reason
            event.details["serials"] = revoked.joined(separator: " ")
            event.details["spiffe_ids"] = Set(rows.rows.map(\.spiffeID)).sorted().joined(separator: " ")
            try SQLiteAuditLog.append(event, db)
            return rows
        }
        return try found.records()
    }

    public func revocableSVIDs(spiffeID: SPIFFEID, now: Date) async throws(DataStoreError) -> [IssuedSVIDRecord] {
        try await issuedSVIDs("reading the SVIDs of \(spiffeID)", sql: """
            SELECT * FROM issued_svids WHERE spiffe_id = ? AND expires_at > ? AND revoked_at IS NULL ORDER BY issued_at, serial_number
            """, arguments: [spiffeID.description, StoredTime.milliseconds(now)])
    }

    public func revocableSVIDs(withAncestor spiffeID: SPIFFEID, now: Date) async throws(DataStoreError) -> [IssuedSVIDRecord] {
        try await issuedSVIDs("reading the descendants of \(spiffeID)", sql: """
            SELECT * FROM issued_svids
            WHERE serial_number IN (SELECT serial_number FROM issued_svid_ancestors WHERE ancestor_spiffe_id = ?)
              AND expires_at > ? AND revoked_at IS NULL
            ORDER BY issued_at, serial_number
            """, arguments: [spiffeID.description, StoredTime.milliseconds(now)])
    }

    public func revocableSVIDs(withAncestorKeyHash keyHash: String, now: Date) async throws(DataStoreError) -> [IssuedSVIDRecord] {
        try await issuedSVIDs("reading the descendants of key \(keyHash.prefix(16))", sql: """
            SELECT * FROM issued_svids
            WHERE serial_number IN (SELECT serial_number FROM issued_svid_ancestors WHERE ancestor_key_hash = ?)
              AND expires_at > ? AND revoked_at IS NULL
            ORDER BY issued_at, serial_number
            """, arguments: [keyHash, StoredTime.milliseconds(now)])
    }

    public func revokedSVIDs(now: Date) async throws(DataStoreError) -> [IssuedSVIDRecord] {
        try await issuedSVIDs("reading revoked SVIDs", sql: """
            SELECT * FROM issued_svids WHERE revoked_at IS NOT NULL AND expires_at > ? ORDER BY revoked_at, serial_number
            """, arguments: [StoredTime.milliseconds(now)])
    }

    /// Deletes with one `DELETE`; the ancestors go with their SVIDs (`ON DELETE CASCADE`).
    public func pruneSVIDs(expiredBefore cutoff: Date, audit: AuditEvent) async throws(DataStoreError) -> Int {
        let cutoffMilliseconds = StoredTime.milliseconds(cutoff)
        return try await write("pruning expired SVIDs") { db in
            try db.execute(sql: "DELETE FROM issued_svids WHERE expires_at <= ?", arguments: [cutoffMilliseconds])
            let count = db.changesCount
            if count > 0 {
                var event = audit
                event.details["pruned"] = String(count)
                try SQLiteAuditLog.append(event, db)
            }
            return count
        }
    }

    /// Increments the counter in `meta` in its own transaction and returns the new value.
    public func nextCRLNumber() async throws(DataStoreError) -> UInt64 {
        let value = try await write("advancing the CRL number") { db in
            try db.execute(sql: """
                INSERT INTO meta (key, value) VALUES ('crl_number', 1)
                ON CONFLICT (key) DO UPDATE SET value = value + 1
                """)
            return try Int64.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'crl_number'")
        }
        guard let value, let number = UInt64(exactly: value), number > 0 else {
            throw .corrupt("meta: crl_number is not a positive integer")
        }
        return number
    }

    private func issuedSVIDs(_ operation: String, sql: String, arguments: StatementArguments) async throws(DataStoreError) -> [IssuedSVIDRecord] {
        let found = try await read(operation) { db in try SQLiteIssuedSVIDRows.fetch(db, sql: sql, arguments: arguments, ancestors: false) }
        return try found.records()
    }
}

extension SQLiteIssuedSVIDRows {
    /// The rows with these serial numbers (in chunks) and their ancestors, ordered by issue time.
    static func fetch(_ db: Database, serialNumbers: [String], ancestors: Bool = true) throws -> SQLiteIssuedSVIDRows {
        var rows: [SQLiteIssuedSVIDRow] = []
        for start in stride(from: 0, to: serialNumbers.count, by: SQLiteAncestorRows.chunkSize) {
            let chunk = Array(serialNumbers[start..<min(start + SQLiteAncestorRows.chunkSize, serialNumbers.count)])
            let placeholders = Array(repeating: "?", count: chunk.count).joined(separator: ", ")
            rows += try SQLiteIssuedSVIDRow.fetchAll(
                db, sql: "SELECT * FROM issued_svids WHERE serial_number IN (\(placeholders))", arguments: StatementArguments(chunk))
        }
        rows.sort { ($0.issuedAt, $0.serialNumber) < ($1.issuedAt, $1.serialNumber) }
        guard ancestors else { return SQLiteIssuedSVIDRows(rows: rows, ancestors: [:]) }
        return SQLiteIssuedSVIDRows(rows: rows, ancestors: try SQLiteAncestorRows.fetch(serialNumbers: rows.map(\.serialNumber), db))
    }
}
