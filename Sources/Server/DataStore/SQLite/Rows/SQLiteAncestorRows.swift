import GRDB
import SPIFFE

/// A row of `issued_svid_ancestors`: one layer of an issued SVID's lineage.
struct SQLiteAncestorRow: Sendable {
    var serialNumber: String
    var depth: Int
    var spiffeID: String
    var keyHash: String
}

/// Reading and writing the ancestors of issued SVIDs.
enum SQLiteAncestorRows {
    /// How many values one `IN (…)` list binds.
    static let chunkSize = 500

    /// Inserts the ancestors of one SVID, outermost first (depth 0).
    static func insert(_ ancestors: [IssuedSVIDRecord.Ancestor], serialNumber: String, _ db: Database) throws {
        guard !ancestors.isEmpty else { return }
        let statement = try db.cachedStatement(sql: """
            INSERT INTO issued_svid_ancestors (serial_number, depth, ancestor_spiffe_id, ancestor_key_hash) VALUES (?, ?, ?, ?)
            """)
        for (depth, ancestor) in ancestors.enumerated() {
            try statement.execute(arguments: [serialNumber, depth, ancestor.spiffeID.description, ancestor.keyHash])
        }
    }

    /// The ancestor rows of these SVIDs, by serial number, each list ordered by depth.
    static func fetch(serialNumbers: [String], _ db: Database) throws -> [String: [SQLiteAncestorRow]] {
        var result: [String: [SQLiteAncestorRow]] = [:]
        for start in stride(from: 0, to: serialNumbers.count, by: chunkSize) {
            let chunk = Array(serialNumbers[start..<min(start + chunkSize, serialNumbers.count)])
            let placeholders = Array(repeating: "?", count: chunk.count).joined(separator: ", ")
            let rows = try Row.fetchAll(db, sql: """
                SELECT serial_number, depth, ancestor_spiffe_id, ancestor_key_hash FROM issued_svid_ancestors
                WHERE serial_number IN (\(placeholders)) ORDER BY serial_number, depth
                """, arguments: StatementArguments(chunk))
            for row in rows {
                let ancestor = SQLiteAncestorRow(
                    serialNumber: try row.decode(atIndex: 0), depth: try row.decode(atIndex: 1),
                    spiffeID: try row.decode(atIndex: 2), keyHash: try row.decode(atIndex: 3))
                result[ancestor.serialNumber, default: []].append(ancestor)
            }
        }
        return result
    }

    /// `rows` with their ancestors, as model values, in the same order.
    static func records(_ rows: [SQLiteIssuedSVIDRow], ancestors: [String: [SQLiteAncestorRow]]) throws(DataStoreError) -> [IssuedSVIDRecord] {
        var records: [IssuedSVIDRecord] = []
        records.reserveCapacity(rows.count)
        for row in rows {
            var layers: [IssuedSVIDRecord.Ancestor] = []
            for ancestor in ancestors[row.serialNumber] ?? [] {
                let id = try StoredValues.spiffeID(ancestor.spiffeID, "issued SVID \(row.serialNumber)", column: "ancestor_spiffe_id")
                layers.append(IssuedSVIDRecord.Ancestor(spiffeID: id, keyHash: ancestor.keyHash))
            }
            records.append(try row.model(ancestors: layers))
        }
        return records
    }
}

/// Issued SVID rows together with their ancestor rows, read in one transaction.
struct SQLiteIssuedSVIDRows: Sendable {
    var rows: [SQLiteIssuedSVIDRow]
    var ancestors: [String: [SQLiteAncestorRow]]

    /// Fetches the rows `sql` selects (whole `issued_svids` rows) and, unless told not to, their
    /// ancestors.
    static func fetch(_ db: Database, sql: String, arguments: StatementArguments, ancestors: Bool = true) throws -> SQLiteIssuedSVIDRows {
        let rows = try SQLiteIssuedSVIDRow.fetchAll(db, sql: sql, arguments: arguments)
        guard ancestors else { return SQLiteIssuedSVIDRows(rows: rows, ancestors: [:]) }
        return SQLiteIssuedSVIDRows(rows: rows, ancestors: try SQLiteAncestorRows.fetch(serialNumbers: rows.map(\.serialNumber), db))
    }

    func records() throws(DataStoreError) -> [IssuedSVIDRecord] {
        try SQLiteAncestorRows.records(rows, ancestors: ancestors)
    }
}
