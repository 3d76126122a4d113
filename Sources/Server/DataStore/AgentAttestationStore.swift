import Foundation
import SPIFFE

/// Records successful re-attestations without rewriting the rest of the agent's record (a renewal
/// may be changing its serial number at the same time).
public protocol AgentAttestationStore: Sendable {
    /// Sets the agent's last successful attestation time and appends `audit`, in one transaction.
    /// - Throws: ``DataStoreError/notFound(_:)`` when there is no such agent.
    func recordAttestation(agentID: SPIFFEID, at time: Date, audit: AuditEvent) async throws(DataStoreError)
}
