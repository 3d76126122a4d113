import Foundation
import GRDB
import SPIFFE

/// A row of `agents`.
struct SQLiteAgentRow: Sendable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "agents"

    enum Columns {
        static let spiffeID = Column("spiffe_id")
    }

    var spiffeID: String
    var attestationType: String
    var selectors: String
    var serialNumber: String
    var previousSerialNumber: String?
    var expiresAt: Int64
    var createdAt: Int64
    var lastAttestedAt: Int64
    var canReattest: Bool
    var evicted: Bool
    var untrustedReason: String?

    init(_ agent: AgentRecord) {
        spiffeID = agent.spiffeID.description
        attestationType = agent.attestationType
        selectors = StoredValues.selectorsText(agent.selectors)
        serialNumber = agent.serialNumber
        previousSerialNumber = agent.previousSerialNumber
        expiresAt = StoredTime.milliseconds(agent.expiresAt)
        createdAt = StoredTime.milliseconds(agent.createdAt)
        lastAttestedAt = StoredTime.milliseconds(agent.lastAttestedAt)
        canReattest = agent.canReattest
        evicted = agent.evicted
        untrustedReason = agent.untrustedReason
    }

    init(row: Row) throws {
        spiffeID = try row.decode(forColumn: "spiffe_id")
        attestationType = try row.decode(forColumn: "attestation_type")
        selectors = try row.decode(forColumn: "selectors")
        serialNumber = try row.decode(forColumn: "serial_number")
        previousSerialNumber = try row.decode(forColumn: "previous_serial_number")
        expiresAt = try row.decode(forColumn: "expires_at")
        createdAt = try row.decode(forColumn: "created_at")
        lastAttestedAt = try row.decode(forColumn: "last_attested_at")
        canReattest = try row.decode(forColumn: "can_reattest")
        evicted = try row.decode(forColumn: "evicted")
        untrustedReason = try row.decode(forColumn: "untrusted_reason")
    }

    func encode(to container: inout PersistenceContainer) {
        container["spiffe_id"] = spiffeID
        container["attestation_type"] = attestationType
        container["selectors"] = selectors
        container["serial_number"] = serialNumber
        container["previous_serial_number"] = previousSerialNumber
        container["expires_at"] = expiresAt
        container["created_at"] = createdAt
        container["last_attested_at"] = lastAttestedAt
        container["can_reattest"] = canReattest
        container["evicted"] = evicted
        container["untrusted_reason"] = untrustedReason
    }

    func model() throws(DataStoreError) -> AgentRecord {
        let record = "agent \(spiffeID)"
        return AgentRecord(
            spiffeID: try StoredValues.spiffeID(spiffeID, record, column: "spiffe_id"),
            attestationType: attestationType,
            selectors: try StoredValues.selectors(selectors, record, column: "selectors"),
            serialNumber: serialNumber,
            expiresAt: StoredTime.date(expiresAt),
            createdAt: StoredTime.date(createdAt),
            lastAttestedAt: StoredTime.date(lastAttestedAt),
            canReattest: canReattest,
            evicted: evicted,
            previousSerialNumber: previousSerialNumber, untrustedReason: untrustedReason)
    }
}
