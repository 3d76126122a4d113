import Foundation
import GRDB
import SPIFFE

extension SQLiteDataStore: AgentAttestationStore {
    public func recordAttestation(agentID: SPIFFEID, at time: Date, audit: AuditEvent) async throws(DataStoreError) {
        let id = agentID.description
        let milliseconds = StoredTime.milliseconds(time)
        try await write("recording the attestation of \(id)") { db in
            try db.execute(sql: "UPDATE agents SET last_attested_at = ? WHERE spiffe_id = ?", arguments: [milliseconds, id])
            guard db.changesCount == 1 else { throw DataStoreError.notFound("agent \(id)") }
            try SQLiteAuditLog.append(audit, db)
        }
    }
}
