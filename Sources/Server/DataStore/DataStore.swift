import Foundation
import SPIFFE

/// The server's persistent state: entries, agents, join tokens, signing keys, issued SVIDs and the
/// audit log. SQLite (GRDB) by default; PostgreSQL where several servers share state.
///
/// Every mutation takes the audit event that describes it and writes both in one transaction, so
/// a crash can never leave one without the other. Implementations must be durable on return
/// (`kill -9` right after a call loses nothing).
public protocol DataStore: Sendable {
    // MARK: Entries

    /// Stores a new entry, assigning `revision` 1.
    /// - Throws: ``DataStoreError/duplicateEntry(existingID:)`` when an entry with the same SPIFFE
    ///   ID, parent ID and selectors exists.
    func createEntry(_ entry: RegistrationEntry, audit: AuditEvent) async throws(DataStoreError) -> RegistrationEntry
    func entry(id: String) async throws(DataStoreError) -> RegistrationEntry?
    /// Entries, optionally filtered by SPIFFE ID and/or parent ID, ordered by SPIFFE ID then ID.
    func listEntries(spiffeID: SPIFFEID?, parentID: SPIFFEID?) async throws(DataStoreError) -> [RegistrationEntry]
    /// - Throws: ``DataStoreError/notFound(_:)`` when there is no such entry.
    func deleteEntry(id: String, audit: AuditEvent) async throws(DataStoreError) -> RegistrationEntry

    // MARK: Join tokens

    func createJoinToken(_ token: JoinTokenRecord, audit: AuditEvent) async throws(DataStoreError)
    /// Marks the token used, atomically: of two concurrent redemptions exactly one succeeds.
    /// - Throws: ``DataStoreError/notFound(_:)``, ``DataStoreError/tokenUsed(at:)`` or ``DataStoreError/tokenExpired(at:)``.
    func redeemJoinToken(hash: String, now: Date, audit: AuditEvent) async throws(DataStoreError) -> JoinTokenRecord
    /// Whether an unused, unexpired join token will make an agent with this SPIFFE ID (so entries
    /// may name that agent as parent before it has attested).
    func hasPendingJoinToken(agentID: SPIFFEID, now: Date) async throws(DataStoreError) -> Bool

    // MARK: Agents

    /// Creates or replaces the agent with this SPIFFE ID.
    func saveAgent(_ agent: AgentRecord, audit: AuditEvent) async throws(DataStoreError)
    func agent(id: SPIFFEID) async throws(DataStoreError) -> AgentRecord?
    func listAgents() async throws(DataStoreError) -> [AgentRecord]

    // MARK: Signing keys

    func authorities() async throws(DataStoreError) -> [AuthorityRecord]
    /// Creates or replaces the authority with this ID.
    func saveAuthority(_ authority: AuthorityRecord, audit: AuditEvent) async throws(DataStoreError)
    func deleteAuthority(id: String, audit: AuditEvent) async throws(DataStoreError)

    // MARK: Issued SVIDs

    /// Records signed SVIDs, each with its public key hash, issuing CA, ancestors and audit
    /// record, all in one transaction: all are recorded or none is.
    func recordIssuances(_ issuances: [IssuanceRecord]) async throws(DataStoreError)
    /// The SVID with this serial number (X.509) or token ID (JWT), with its ancestors.
    func issuedSVID(serialNumber: String) async throws(DataStoreError) -> IssuedSVIDRecord?

    // MARK: Revocation

    /// Revokes the SVIDs `selection` names that are neither expired nor already revoked at `now`:
    /// sets their revocation time, reason and revoker, and appends `audit` (its details completed
    /// with `revoked`, `reason`, `serials`, `spiffe_ids`, `descendants` — the revoked SVIDs whose
    /// SPIFFE ID is not the event's subject — and, when serial numbers were named, `requested`),
    /// in one transaction. Unknown serial numbers and IDs are ignored. Finding and revoking is one
    /// step, so a subtree of thousands is neither read twice nor updated row by row.
    /// - Returns: the SVIDs this call revoked, ordered by issue time (without their ancestors).
    func revokeSVIDs(_ selection: SVIDSelection, reason: String, revokedBy: String, now: Date, audit: AuditEvent) async throws(DataStoreError) -> [IssuedSVIDRecord]
    /// Revoked SVIDs that expire after `now` (what CRLs and agents must know), ordered by revocation time.
    func revokedSVIDs(now: Date) async throws(DataStoreError) -> [IssuedSVIDRecord]
    /// Deletes the records of SVIDs that expired at or before `cutoff` (the audit log keeps their
    /// history) and, if any, appends `audit` with the count in `pruned`.
    /// - Returns: how many were deleted.
    func pruneSVIDs(expiredBefore cutoff: Date, audit: AuditEvent) async throws(DataStoreError) -> Int
    /// Increments and returns the CRL number (starts at 1; shared by every CA's CRL, so each CA's
    /// numbers increase).
    func nextCRLNumber() async throws(DataStoreError) -> UInt64

    // MARK: Bundle

    /// Increments and returns the bundle sequence number (starts at 1).
    func nextBundleSequence() async throws(DataStoreError) -> UInt64

    // MARK: Audit

    /// Records an event that changes nothing else (a refusal, a failed attestation).
    func appendAudit(_ event: AuditEvent) async throws(DataStoreError)
    /// Records several such events in one transaction, in order (a batch of workload attestations).
    func appendAudit(_ events: [AuditEvent]) async throws(DataStoreError)
    /// Audit records in order, from `sequence` on, at most `limit`.
    func auditRecords(from sequence: Int64, limit: Int) async throws(DataStoreError) -> [AuditRecord]
}

/// Why a datastore operation failed.
public enum DataStoreError: Error, Hashable, Sendable, CustomStringConvertible {
    case duplicateEntry(existingID: String)
    case notFound(String)
    case tokenUsed(at: Date)
    case tokenExpired(at: Date)
    case corrupt(String)
    case unavailable(String)
    case migration(String)

    public var description: String {
        switch self {
        case .duplicateEntry(let id): return "an entry with the same SPIFFE ID, parent and selectors already exists (\(id))"
        case .notFound(let what): return "\(what) not found"
        case .tokenUsed(let at): return "join token was already used at \(at.formatted(.iso8601))"
        case .tokenExpired(let at): return "join token expired at \(at.formatted(.iso8601))"
        case .corrupt(let reason): return "datastore record is corrupt: \(reason)"
        case .unavailable(let reason): return "datastore unavailable: \(reason)"
        case .migration(let reason): return "datastore schema migration failed: \(reason)"
        }
    }
}

extension DataStore {
    /// Records one signed SVID with its audit record.
    public func recordIssuance(_ svid: IssuedSVIDRecord, audit: AuditEvent) async throws(DataStoreError) {
        try await recordIssuances([IssuanceRecord(svid: svid, audit: audit)])
    }
}

/// An issued SVID and the audit record of its issuance, which are written together.
public struct IssuanceRecord: Sendable {
    public var svid: IssuedSVIDRecord
    public var audit: AuditEvent

    public init(svid: IssuedSVIDRecord, audit: AuditEvent) {
        self.svid = svid
        self.audit = audit
    }
}

extension DataStore {
    /// Revokes the listed SVIDs (``revokeSVIDs(_:reason:revokedBy:now:audit:)`` by serial number).
    public func revokeSVIDs(serialNumbers: [String], reason: String, revokedBy: String, now: Date, audit: AuditEvent) async throws(DataStoreError) -> [IssuedSVIDRecord] {
        try await revokeSVIDs(SVIDSelection(serialNumbers: serialNumbers), reason: reason, revokedBy: revokedBy, now: now, audit: audit)
    }
}
