import Foundation
import GRDB

/// A row of `audit_log`.
struct SQLiteAuditRow: Sendable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "audit_log"

    enum Columns {
        static let sequence = Column("sequence")
        static let hash = Column("hash")
    }

    var sequence: Int64
    var kind: String
    var actor: String
    var subject: String
    var details: String
    var time: Int64
    var previousHash: String
    var hash: String

    init(_ prepared: AuditChain.Prepared) {
        self.init(prepared.record, detailsJSON: prepared.detailsJSON)
    }

    init(_ record: AuditRecord) {
        self.init(record, detailsJSON: StoredValues.dictionaryText(record.event.details))
    }

    private init(_ record: AuditRecord, detailsJSON: String) {
        sequence = record.sequence
        kind = record.event.kind
        actor = record.event.actor
        subject = record.event.subject
        details = detailsJSON
        time = StoredTime.milliseconds(record.event.time)
        previousHash = record.previousHash
        hash = record.hash
    }

    init(row: Row) throws {
        sequence = try row.decode(forColumn: "sequence")
        kind = try row.decode(forColumn: "kind")
        actor = try row.decode(forColumn: "actor")
        subject = try row.decode(forColumn: "subject")
        details = try row.decode(forColumn: "details")
        time = try row.decode(forColumn: "time")
        previousHash = try row.decode(forColumn: "previous_hash")
        hash = try row.decode(forColumn: "hash")
    }

    func encode(to container: inout PersistenceContainer) {
        container["sequence"] = sequence
        container["kind"] = kind
        container["actor"] = actor
        container["subject"] = subject
        container["details"] = details
        container["time"] = time
        container["previous_hash"] = previousHash
        container["hash"] = hash
    }

    func model() throws(DataStoreError) -> AuditRecord {
        AuditRecord(
            sequence: sequence,
            event: AuditEvent(
                kind: kind, actor: actor, subject: subject,
                details: try StoredValues.dictionary(details, "audit record \(sequence)", column: "details"),
                time: StoredTime.date(time)),
            previousHash: previousHash,
            hash: hash)
    }
}
