import Foundation
import GRDB
import SPIFFE

/// A row of `join_tokens`.
struct SQLiteJoinTokenRow: Sendable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "join_tokens"

    enum Columns {
        static let tokenHash = Column("token_hash")
        static let expiresAt = Column("expires_at")
        static let usedAt = Column("used_at")
    }

    var tokenHash: String
    var agentID: String
    var alias: String?
    var expiresAt: Int64
    var createdAt: Int64
    var usedAt: Int64?

    init(_ token: JoinTokenRecord) {
        tokenHash = token.tokenHash
        agentID = token.agentID.description
        alias = token.alias?.description
        expiresAt = StoredTime.milliseconds(token.expiresAt)
        createdAt = StoredTime.milliseconds(token.createdAt)
        usedAt = token.usedAt.map(StoredTime.milliseconds)
    }

    init(row: Row) throws {
        tokenHash = try row.decode(forColumn: "token_hash")
        agentID = try row.decode(forColumn: "agent_id")
        alias = try row.decode(forColumn: "alias")
        expiresAt = try row.decode(forColumn: "expires_at")
        createdAt = try row.decode(forColumn: "created_at")
        usedAt = try row.decode(forColumn: "used_at")
    }

    func encode(to container: inout PersistenceContainer) {
        container["token_hash"] = tokenHash
        container["agent_id"] = agentID
        container["alias"] = alias
        container["expires_at"] = expiresAt
        container["created_at"] = createdAt
        container["used_at"] = usedAt
    }

    func model() throws(DataStoreError) -> JoinTokenRecord {
        // The hash is a secret's digest: name the token by a prefix only.
        let record = "join token \(tokenHash.prefix(8))…"
        return JoinTokenRecord(
            tokenHash: tokenHash,
            agentID: try StoredValues.spiffeID(agentID, record, column: "agent_id"),
            alias: try StoredValues.optionalSPIFFEID(alias, record, column: "alias"),
            expiresAt: StoredTime.date(expiresAt),
            createdAt: StoredTime.date(createdAt),
            usedAt: usedAt.map(StoredTime.date))
    }
}
