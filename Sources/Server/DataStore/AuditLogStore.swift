import Foundation

/// The audit log as the audit commands read it, and its signed chain heads.
public protocol AuditLogStore: Sendable {
    /// Audit records in order, from `sequence` on, at most `limit`.
    func auditRecords(from sequence: Int64, limit: Int) async throws(DataStoreError) -> [AuditRecord]

    /// Appends `event` (an `audit.head.sign` record) and stores the signed head covering that very
    /// record, in one transaction — unless the newest record is already covered by a signed head
    /// (nothing happened since the last signing); then nothing is written.
    ///
    /// - Returns: the new head, or nil when there was nothing to sign.
    func signAuditHead(_ event: AuditEvent, signer: AuditHeadSigner) async throws(DataStoreError) -> SignedAuditHead?

    /// Every signed head, oldest first.
    func auditHeads() async throws(DataStoreError) -> [SignedAuditHead]
}
