import GRDB
import SPIFFE

extension SQLiteDataStore {
    public func saveAgent(_ agent: AgentRecord, audit: AuditEvent) async throws(DataStoreError) {
        let row = SQLiteAgentRow(agent)
        try await write("saving agent \(agent.spiffeID)") { db in
            try row.insert(db, onConflict: .replace)
            try SQLiteAuditLog.append(audit, db)
        }
    }

    public func agent(id: SPIFFEID) async throws(DataStoreError) -> AgentRecord? {
        let row = try await read("reading agent \(id)") { db in try SQLiteAgentRow.fetchOne(db, key: id.description) }
        return try row?.model()
    }

    /// Agents ordered by SPIFFE ID.
    public func listAgents() async throws(DataStoreError) -> [AgentRecord] {
        let rows = try await read("listing agents") { db in
            try SQLiteAgentRow.order(SQLiteAgentRow.Columns.spiffeID).fetchAll(db)
        }
        var agents: [AgentRecord] = []
        agents.reserveCapacity(rows.count)
        for row in rows { agents.append(try row.model()) }
        return agents
    }
}
