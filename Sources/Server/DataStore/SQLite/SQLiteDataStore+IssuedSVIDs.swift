import GRDB

extension SQLiteDataStore {
    /// Records the SVIDs, their ancestors and audit records in one transaction.
    ///
    /// - Throws: ``DataStoreError/unavailable(_:)`` when an SVID with the same serial number is
    ///   already recorded (and then nothing is recorded).
    public func recordIssuances(_ issuances: [IssuanceRecord]) async throws(DataStoreError) {
        guard !issuances.isEmpty else { return }
        let what = issuances.count == 1 ? "the issuance of \(issuances[0].svid.serialNumber)" : "\(issuances.count) issuances"
        try await write("recording \(what)") { db in
            let recorded = try db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM issued_svids WHERE serial_number = ?)")
            for issuance in issuances {
                let row = SQLiteIssuedSVIDRow(issuance.svid)
                if try Bool.fetchOne(recorded, arguments: [row.serialNumber]) == true {
                    throw DataStoreError.unavailable("an SVID with serial number \(row.serialNumber) is already recorded")
                }
                try row.insert(db)
                try SQLiteAncestorRows.insert(issuance.svid.ancestors, serialNumber: issuance.svid.serialNumber, db)
            }
            try SQLiteAuditLog.append(issuances.map(\.audit), db)
        }
    }

    public func issuedSVID(serialNumber: String) async throws(DataStoreError) -> IssuedSVIDRecord? {
        let found = try await read("reading issued SVID \(serialNumber)") { db in
            try SQLiteIssuedSVIDRows.fetch(db, sql: "SELECT * FROM issued_svids WHERE serial_number = ?", arguments: [serialNumber])
        }
        return try found.records().first
    }
}
