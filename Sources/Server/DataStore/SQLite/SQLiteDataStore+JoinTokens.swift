import Foundation
import GRDB
import SPIFFE

extension SQLiteDataStore {
    /// - Throws: ``DataStoreError/unavailable(_:)`` when a token with the same hash exists.
    public func createJoinToken(_ token: JoinTokenRecord, audit: AuditEvent) async throws(DataStoreError) {
        let row = SQLiteJoinTokenRow(token)
        try await write("creating a join token") { db in
            if try SQLiteJoinTokenRow.exists(db, key: row.tokenHash) {
                throw DataStoreError.unavailable("a join token with this hash already exists")
            }
            try row.insert(db)
            try SQLiteAuditLog.append(audit, db)
        }
    }

    /// Marks the token used with one conditional `UPDATE … WHERE used_at IS NULL AND expires_at > now`,
    /// so of any number of concurrent redemptions (in this process or another) exactly one
    /// succeeds; the audit record is written only for that one.
    ///
    /// - Returns: the token as stored, `usedAt` set to `now` (to the millisecond).
    /// - Throws: ``DataStoreError/notFound(_:)`` for an unknown hash, ``DataStoreError/tokenUsed(at:)``
    ///   for a token already redeemed (even if it has expired since), ``DataStoreError/tokenExpired(at:)``
    ///   for one whose expiry is at or before `now`.
    public func redeemJoinToken(hash: String, now: Date, audit: AuditEvent) async throws(DataStoreError) -> JoinTokenRecord {
        let nowMilliseconds = StoredTime.milliseconds(now)
        return try await write("redeeming a join token") { db in
            try db.execute(
                sql: "UPDATE join_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?",
                arguments: [nowMilliseconds, hash, nowMilliseconds])
            let redeemed = db.changesCount == 1
            guard let row = try SQLiteJoinTokenRow.fetchOne(db, key: hash) else {
                throw DataStoreError.notFound("join token")
            }
            guard redeemed else {
                if let usedAt = row.usedAt { throw DataStoreError.tokenUsed(at: StoredTime.date(usedAt)) }
                throw DataStoreError.tokenExpired(at: StoredTime.date(row.expiresAt))
            }
            let token = try row.model()
            try SQLiteAuditLog.append(audit, db)
            return token
        }
    }
}

extension SQLiteDataStore {
    /// Whether an unused join token that expires after `now` names `agentID` as its agent's SPIFFE
    /// ID or as its alias.
    public func hasPendingJoinToken(agentID: SPIFFEID, now: Date) async throws(DataStoreError) -> Bool {
        let id = agentID.description
        let nowMilliseconds = StoredTime.milliseconds(now)
        let found = try await read("looking up join tokens for \(id)") { db in
            try Bool.fetchOne(
                db,
                sql: """
                    SELECT EXISTS (SELECT 1 FROM join_tokens
                                   WHERE (agent_id = ? OR alias = ?) AND used_at IS NULL AND expires_at > ?)
                    """,
                arguments: [id, id, nowMilliseconds])
        }
        return found ?? false
    }
}
