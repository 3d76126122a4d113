import Attestation
import Foundation
import GRDB

/// A row of `tpm_enrolments` (migration `v4-tpm-enrolments`).
struct SQLiteTPMEnrolmentRow: Sendable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "tpm_enrolments"

    var ekHash: String
    /// Canonical JSON object: PCR index (decimal) → lowercase hex value.
    var pcrPolicy: String
    /// Canonical JSON array of label selectors.
    var labels: String
    var createdAt: Int64

    init(_ enrolment: TPMEnrolment) {
        ekHash = enrolment.ekHash
        pcrPolicy = CanonicalJSON.object(Dictionary(uniqueKeysWithValues: enrolment.pcrPolicy.map { (String($0.key), CanonicalJSON.string($0.value)) })).text
        labels = StoredValues.selectorsText(enrolment.labels)
        createdAt = StoredTime.milliseconds(enrolment.createdAt)
    }

    init(row: Row) throws {
        ekHash = try row.decode(forColumn: "ek_hash")
        pcrPolicy = try row.decode(forColumn: "pcr_policy")
        labels = try row.decode(forColumn: "labels")
        createdAt = try row.decode(forColumn: "created_at")
    }

    func encode(to container: inout PersistenceContainer) {
        container["ek_hash"] = ekHash
        container["pcr_policy"] = pcrPolicy
        container["labels"] = labels
        container["created_at"] = createdAt
    }

    func model() throws(DataStoreError) -> TPMEnrolment {
        let record = "TPM enrolment \(ekHash)"
        guard let object = JSONStrings.object(pcrPolicy) else { throw .corrupt("\(record): pcr_policy is not a JSON object of strings") }
        var policy: [Int: String] = [:]
        for (key, value) in object {
            guard let index = Int(key) else { throw .corrupt("\(record): pcr_policy key '\(key)' is not a PCR index") }
            policy[index] = value
        }
        return TPMEnrolment(
            ekHash: ekHash, pcrPolicy: policy, labels: try StoredValues.selectors(labels, record, column: "labels"),
            createdAt: StoredTime.date(createdAt))
    }
}
