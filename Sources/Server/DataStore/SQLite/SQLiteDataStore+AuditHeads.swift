import Foundation
import GRDB

extension SQLiteDataStore: AuditLogStore {
    public func signAuditHead(_ event: AuditEvent, signer: AuditHeadSigner) async throws(DataStoreError) -> SignedAuditHead? {
        try await write("signing the audit chain head") { db in
            if let newest = try Int64.fetchOne(db, sql: "SELECT MAX(sequence) FROM audit_log"),
               try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM audit_heads WHERE sequence = ?)", arguments: [newest]) == true {
                return nil
            }
            let record = try SQLiteAuditLog.append(event, db)
            let signedAt = StoredTime.normalized(record.event.time)
            let signature = try signer.sign(SignedAuditHead.signedBytes(sequence: record.sequence, hash: record.hash, signedAt: signedAt))
            let head = SignedAuditHead(
                sequence: record.sequence, hash: record.hash, signedAt: signedAt, signature: signature,
                certificateDER: signer.certificateDER, keyID: signer.keyID)
            try db.execute(
                sql: """
                    INSERT INTO audit_heads (sequence, hash, signed_at, signature, certificate, key_id)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """,
                arguments: [head.sequence, head.hash, StoredTime.milliseconds(head.signedAt), Data(head.signature), Data(head.certificateDER), head.keyID])
            return head
        }
    }

    public func auditHeads() async throws(DataStoreError) -> [SignedAuditHead] {
        guard try await hasAuditHeadsTable() else { return [] }
        return try await read("reading the signed audit heads") { db in
            try Row.fetchAll(db, sql: "SELECT sequence, hash, signed_at, signature, certificate, key_id FROM audit_heads ORDER BY sequence")
                .map { row in
                    SignedAuditHead(
                        sequence: row["sequence"], hash: row["hash"], signedAt: StoredTime.date(row["signed_at"]),
                        signature: Array(row["signature"] as Data), certificateDER: Array(row["certificate"] as Data), keyID: row["key_id"])
                }
        }
    }
}

extension SQLiteDataStore {
    /// Opens an existing database read-only, without migrating it: for `audit verify --database`
    /// on a copy or on the live file of a running server (WAL lets it read alongside the server).
    ///
    /// - Throws: ``DataStoreError/notFound(_:)`` when the file does not exist;
    ///   ``DataStoreError/migration(_:)`` when it was written by a newer version.
    public static func openForReading(path: String) throws(DataStoreError) -> SQLiteDataStore {
        guard FileManager.default.fileExists(atPath: path) else { throw .notFound("database \(path)") }
        var configuration = Configuration()
        configuration.readonly = true
        configuration.label = "matryoshka.datastore.readonly"
        let queue: DatabaseQueue
        let applied: Set<String>
        do {
            queue = try DatabaseQueue(path: path, configuration: configuration)
            applied = try queue.read { db in
                try db.tableExists("grdb_migrations") ? Set(String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations")) : []
            }
        } catch {
            throw SQLiteErrors.map(error, "opening \(path)")
        }
        let unknown = applied.subtracting(SQLiteSchema.knownMigrations)
        guard unknown.isEmpty else {
            throw .migration("\(path) was written by a newer version of matryoshka (schema migrations \(unknown.sorted().joined(separator: ", ")) are unknown to this build)")
        }
        return SQLiteDataStore(database: queue, path: path)
    }

    /// Whether the database has the signed-heads table (a database from before it reads as none).
    func hasAuditHeadsTable() async throws(DataStoreError) -> Bool {
        try await read("reading the schema") { db in try db.tableExists("audit_heads") }
    }
}
