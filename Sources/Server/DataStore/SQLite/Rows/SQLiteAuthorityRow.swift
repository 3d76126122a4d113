import Foundation
import GRDB

/// A row of `authorities`.
struct SQLiteAuthorityRow: Sendable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "authorities"

    enum Columns {
        static let id = Column("id")
        static let notBefore = Column("not_before")
    }

    var id: String
    var kind: String
    var privateKeyPEM: String
    var certificateDER: Data
    var keyID: String
    var notBefore: Int64
    var notAfter: Int64
    var state: String
    var createdAt: Int64

    init(_ authority: AuthorityRecord) {
        id = authority.id
        kind = authority.kind.rawValue
        privateKeyPEM = authority.privateKeyPEM
        certificateDER = Data(authority.certificateDER)
        keyID = authority.keyID
        notBefore = StoredTime.milliseconds(authority.notBefore)
        notAfter = StoredTime.milliseconds(authority.notAfter)
        state = authority.state.rawValue
        createdAt = StoredTime.milliseconds(authority.createdAt)
    }

    init(row: Row) throws {
        id = try row.decode(forColumn: "id")
        kind = try row.decode(forColumn: "kind")
        privateKeyPEM = try row.decode(forColumn: "private_key_pem")
        certificateDER = try row.decode(forColumn: "certificate_der")
        keyID = try row.decode(forColumn: "key_id")
        notBefore = try row.decode(forColumn: "not_before")
        notAfter = try row.decode(forColumn: "not_after")
        state = try row.decode(forColumn: "state")
        createdAt = try row.decode(forColumn: "created_at")
    }

    func encode(to container: inout PersistenceContainer) {
        container["id"] = id
        container["kind"] = kind
        container["private_key_pem"] = privateKeyPEM
        container["certificate_der"] = certificateDER
        container["key_id"] = keyID
        container["not_before"] = notBefore
        container["not_after"] = notAfter
        container["state"] = state
        container["created_at"] = createdAt
    }

    func model() throws(DataStoreError) -> AuthorityRecord {
        let record = "authority \(id)"
        return AuthorityRecord(
            id: id,
            kind: try StoredValues.enumeration(AuthorityRecord.Kind.self, kind, record, column: "kind"),
            privateKeyPEM: privateKeyPEM,
            certificateDER: Array(certificateDER),
            keyID: keyID,
            notBefore: StoredTime.date(notBefore),
            notAfter: StoredTime.date(notAfter),
            state: try StoredValues.enumeration(AuthorityRecord.State.self, state, record, column: "state"),
            createdAt: StoredTime.date(createdAt))
    }
}
