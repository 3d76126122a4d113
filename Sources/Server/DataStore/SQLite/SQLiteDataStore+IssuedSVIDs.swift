import GRDB

extension SQLiteDataStore {
    /// Records the SVID and its ancestors.
    ///
    /// - Throws: ``DataStoreError/unavailable(_:)`` when an SVID with the same serial number is
    ///   already recorded.
    public func recordIssuance(_ svid: IssuedSVIDRecord, audit: AuditEvent) async throws(DataStoreError) {
        let row = SQLiteIssuedSVIDRow(svid)
        try await write("recording the issuance of \(svid.serialNumber)") { db in
            if try SQLiteIssuedSVIDRow.exists(db, key: row.serialNumber) {
                throw DataStoreError.unavailable("an SVID with serial number \(row.serialNumber) is already recorded")
            }
            try row.insert(db)
            try SQLiteAncestorRows.insert(svid.ancestors, serialNumber: svid.serialNumber, db)
            try SQLiteAuditLog.append(audit, db)
        }
    }

    public func issuedSVID(serialNumber: String) async throws(DataStoreError) -> IssuedSVIDRecord? {
        let found = try await read("reading issued SVID \(serialNumber)") { db in
            try SQLiteIssuedSVIDRows.fetch(db, sql: "SELECT * FROM issued_svids WHERE serial_number = ?", arguments: [serialNumber])
        }
        return try found.records().first
    }
}
