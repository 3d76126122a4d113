import Foundation
import GRDB
import SPIFFE

extension SQLiteDataStore {
    /// One `UPDATE … RETURNING` per part of the selection (serial numbers, SPIFFE IDs, ancestors
    /// by ID, ancestors by key), each through an index and with its values bound as one JSON
    /// array, and the audit record appended, all in one transaction: the revoked rows are read
    /// once, as the update returns them. A row that an earlier part revoked is not matched again
    /// (`revoked_at IS NULL`).
    public func revokeSVIDs(
        _ selection: SVIDSelection, reason: String, revokedBy: String, now: Date, audit: AuditEvent
    ) async throws(DataStoreError) -> [IssuedSVIDRecord] {
        let serials = Array(Set(selection.serialNumbers)).sorted()
        let parts: [(filter: String, values: [String])] = [
            ("serial_number IN (SELECT value FROM json_each(?))", serials),
            ("spiffe_id IN (SELECT value FROM json_each(?))", selection.spiffeIDs.map(\.description)),
            ("serial_number IN (SELECT serial_number FROM issued_svid_ancestors WHERE ancestor_spiffe_id IN (SELECT value FROM json_each(?)))",
             selection.ancestorSPIFFEIDs.map(\.description)),
            ("serial_number IN (SELECT serial_number FROM issued_svid_ancestors WHERE ancestor_key_hash IN (SELECT value FROM json_each(?)))",
             selection.ancestorKeyHashes),
        ].filter { !$0.values.isEmpty }
        let arrays = try parts.map { part throws(DataStoreError) in (part.filter, try Self.jsonArray(part.values)) }
        let nowMilliseconds = StoredTime.milliseconds(now)
        let found = try await write("revoking SVIDs of \(audit.subject)") { db in
            var rows: [SQLiteIssuedSVIDRow] = []
            for (filter, array) in arrays {
                rows += try SQLiteIssuedSVIDRow.fetchAll(db, sql: """
                    UPDATE issued_svids SET revoked_at = ?, revocation_reason = ?, revoked_by = ?
                    WHERE \(filter) AND revoked_at IS NULL AND expires_at > ?
                    RETURNING *
                    """, arguments: [nowMilliseconds, reason, revokedBy, array, nowMilliseconds])
            }
            rows.sort { ($0.issuedAt, $0.serialNumber) < ($1.issuedAt, $1.serialNumber) }
            var event = audit
            if !serials.isEmpty { event.details["requested"] = String(serials.count) }
            event.details["revoked"] = String(rows.count)
            event.details["reason"] = reason
            event.details["serials"] = rows.map(\.serialNumber).joined(separator: " ")
            event.details["spiffe_ids"] = Set(rows.map(\.spiffeID)).sorted().joined(separator: " ")
            event.details["descendants"] = String(rows.count { $0.spiffeID != audit.subject })
            try SQLiteAuditLog.append(event, db)
            return SQLiteIssuedSVIDRows(rows: rows, ancestors: [:])
        }
        return try found.records()
    }

    /// `values` as a JSON array of strings, for `json_each(?)`.
    static func jsonArray(_ values: [String]) throws(DataStoreError) -> String {
        do {
            return String(decoding: try JSONEncoder().encode(values), as: UTF8.self)
        } catch {
            throw .corrupt("cannot encode \(values.count) values as JSON: \(error)")
        }
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
