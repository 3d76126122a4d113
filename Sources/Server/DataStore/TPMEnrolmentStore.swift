import Foundation

/// Where the TPMs enrolled through the admin API (`matryoshka server tpm allow`) are kept.
public protocol TPMEnrolmentStore: Sendable {
    /// Creates or replaces the enrolment of this EK hash.
    func saveTPMEnrolment(_ enrolment: TPMEnrolment, audit: AuditEvent) async throws(DataStoreError)
    func tpmEnrolment(ekHash: String) async throws(DataStoreError) -> TPMEnrolment?
    /// Enrolments ordered by EK hash.
    func listTPMEnrolments() async throws(DataStoreError) -> [TPMEnrolment]
    /// - Throws: ``DataStoreError/notFound(_:)`` when this EK hash is not enrolled.
    func deleteTPMEnrolment(ekHash: String, audit: AuditEvent) async throws(DataStoreError)
}
