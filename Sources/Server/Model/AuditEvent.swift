import Foundation

/// Something worth recording in the audit log, written in the same transaction as the change it
/// describes. The datastore chains records by hash.
public struct AuditEvent: Sendable, Hashable, Codable {
    /// e.g. `entry.create`, `entry.delete`, `join_token.create`, `node.attest`, `node.attest.failed`,
    /// `svid.issue`, `svid.refuse`, `ca.rotate`.
    public var kind: String
    /// Who caused it: `uid:1000` on the admin socket, an agent's SPIFFE ID, `server`.
    public var actor: String
    /// What it concerns: a SPIFFE ID, an entry ID, a serial number.
    public var subject: String
    /// Free-form details (JSON object).
    public var details: [String: String]
    public var time: Date

    public init(kind: String, actor: String, subject: String, details: [String: String] = [:], time: Date = Date()) {
        self.kind = kind
        self.actor = actor
        self.subject = subject
        self.details = details
        self.time = time
    }
}

/// An audit event as stored: numbered and chained to the previous record by hash.
public struct AuditRecord: Sendable, Hashable, Codable {
    public var sequence: Int64
    public var event: AuditEvent
    /// Hex SHA-256 of the previous record's `hash` (all zeros for the first).
    public var previousHash: String
    /// Hex SHA-256 over `sequence`, the canonical JSON of `event` and `previousHash`.
    public var hash: String

    public init(sequence: Int64, event: AuditEvent, previousHash: String, hash: String) {
        self.sequence = sequence
        self.event = event
        self.previousHash = previousHash
        self.hash = hash
    }
}
