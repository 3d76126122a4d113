import Foundation
import GRDB

extension SQLiteDataStore: TPMEnrolmentStore {
    public func saveTPMEnrolment(_ enrolment: TPMEnrolment, audit: AuditEvent) async throws(DataStoreError) {
        let row = SQLiteTPMEnrolmentRow(enrolment)
        try await write("saving the TPM enrolment \(enrolment.ekHash)") { db in
            try row.insert(db, onConflict: .replace)
            try SQLiteAuditLog.append(audit, db)
        }
    }

    public func tpmEnrolment(ekHash: String) async throws(DataStoreError) -> TPMEnrolment? {
        let key = ekHash.lowercased()
        let row = try await read("reading the TPM enrolment \(key)") { db in try SQLiteTPMEnrolmentRow.fetchOne(db, key: key) }
        return try row?.model()
    }

    public func listTPMEnrolments() async throws(DataStoreError) -> [TPMEnrolment] {
        let rows = try await read("listing TPM enrolments") { db in
            try SQLiteTPMEnrolmentRow.order(Column("ek_hash")).fetchAll(db)
        }
        var enrolments: [TPMEnrolment] = []
        for row in rows { enrolments.append(try row.model()) }
        return enrolments
    }

    public func deleteTPMEnrolment(ekHash: String, audit: AuditEvent) async throws(DataStoreError) {
        let key = ekHash.lowercased()
        try await write("deleting the TPM enrolment \(key)") { db in
            guard try SQLiteTPMEnrolmentRow.deleteOne(db, key: key) else { throw DataStoreError.notFound("TPM enrolment \(key)") }
            try SQLiteAuditLog.append(audit, db)
        }
    }
}
