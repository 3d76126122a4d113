import Foundation
import GRPCCore
import MatryoshkaAPI
import SPIFFE
import Server

/// `matryoshka agent list|show|evict` and `matryoshka server tpm allow|list|remove`.
public enum AgentAdminOperations {
    // MARK: Agents

    public static func list(socketPath: String) async throws(CLIError) -> [AgentReport] {
        try await AdminClient.with(socketPath: socketPath) { client throws(CLIError) in
            let response = try await client.call { try await client.admin.listAgents(Matryoshka_V1_ListAgentsRequest(), options: AdminClient.options) }
            return response.agents.map(AgentReport.init)
        }
    }

    public static func show(spiffeID: String, socketPath: String) async throws(CLIError) -> AgentReport {
        let id = try EntryOperations.CreateRequest.id(spiffeID, flag: "agent ID")
        return try await AdminClient.with(socketPath: socketPath) { client throws(CLIError) in
            let agent = try await client.call {
                try await client.admin.getAgent(Matryoshka_V1_GetAgentRequest.with { $0.spiffeID = id.description }, options: AdminClient.options)
            }
            return AgentReport(agent)
        }
    }

    /// Evicts the agent and revokes everything it vouched for (`revoke --node`).
    public static func evict(spiffeID: String, reason: String?, socketPath: String) async throws(CLIError) -> RevokeReport {
        try await RevokeOperations.revoke(
            RevokeOperations.Request(node: spiffeID, reason: reason ?? "evicted by the operator"), socketPath: socketPath)
    }

    public static func text(_ agents: [AgentReport]) -> String {
        guard !agents.isEmpty else { return "no agents\n" }
        return agents.map { agent in
            "\(agent.spiffeID)  \(agent.attestationType)  \(agent.trust)  last attested \(agent.lastAttestedAt.formatted(.iso8601))"
        }.joined(separator: "\n") + "\n"
    }

    public static func text(_ agent: AgentReport) -> String {
        var lines = [
            "SPIFFE ID:         \(agent.spiffeID)",
            "Attestation:       \(agent.attestationType)\(agent.canReattest ? " (continuous)" : "")",
            "Trust:             \(agent.trust)",
        ]
        if let reason = agent.untrustedReason { lines.append("Untrusted because: \(reason)") }
        lines += [
            "Last attested:     \(agent.lastAttestedAt.formatted(.iso8601))",
            "First attested:    \(agent.createdAt.formatted(.iso8601))",
            "SVID serial:       \(agent.serialNumber)",
            "SVID expires:      \(agent.expiresAt.formatted(.iso8601))",
        ]
        lines += agent.selectors.map { "Selector:          \($0)" }
        lines += agent.nodeGroups.map { "Node group:        \($0)" }
        return lines.joined(separator: "\n") + "\n"
    }

    // MARK: TPM enrolment

    public static func allowTPM(ekHash: String, pcrs: [String], labels: [String], socketPath: String) async throws(CLIError) -> TPMEnrolmentReport {
        var policy: [Int32: String] = [:]
        do {
            for text in pcrs {
                let (index, hex) = try TPMEnrolment.parsePCR(text)
                policy[Int32(index)] = hex
            }
            let enrolment = TPMEnrolment(
                ekHash: ekHash, pcrPolicy: Dictionary(uniqueKeysWithValues: policy.map { (Int($0.key), $0.value) }),
                labels: try labels.map(TPMEnrolment.parseLabel))
            try enrolment.validate()
        } catch {
            throw CLIError(error.message)
        }
        let pcrPolicy = policy
        return try await AdminClient.with(socketPath: socketPath) { client throws(CLIError) in
            let stored = try await client.call {
                try await client.admin.allowTPM(Matryoshka_V1_AllowTPMRequest.with {
                    $0.enrolment = Matryoshka_V1_TPMEnrolment.with {
                        $0.ekHash = ekHash.lowercased()
                        $0.pcrPolicy = pcrPolicy
                        $0.labels = labels
                    }
                }, options: AdminClient.options)
            }
            return TPMEnrolmentReport(stored)
        }
    }

    public static func listTPM(socketPath: String) async throws(CLIError) -> [TPMEnrolmentReport] {
        try await AdminClient.with(socketPath: socketPath) { client throws(CLIError) in
            let response = try await client.call {
                try await client.admin.listTPMEnrolments(Matryoshka_V1_ListTPMEnrolmentsRequest(), options: AdminClient.options)
            }
            return response.enrolments.map(TPMEnrolmentReport.init)
        }
    }

    public static func removeTPM(ekHash: String, socketPath: String) async throws(CLIError) {
        try await AdminClient.with(socketPath: socketPath) { client throws(CLIError) in
            _ = try await client.call {
                try await client.admin.removeTPM(Matryoshka_V1_RemoveTPMRequest.with { $0.ekHash = ekHash }, options: AdminClient.options)
            }
        }
    }

    public static func text(_ enrolment: TPMEnrolmentReport) -> String {
        var lines = ["\(enrolment.agentSPIFFEID)  ek_hash=\(enrolment.ekHash)"]
        lines += enrolment.pcrPolicy.keys.sorted { (Int($0) ?? 0) < (Int($1) ?? 0) }.map { "  pcr \($0): \(enrolment.pcrPolicy[$0] ?? "")" }
        lines += enrolment.labels.map { "  label \($0)" }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// An agent as `agent list|show` prints it.
public struct AgentReport: Codable, Sendable, Equatable {
    public var spiffeID: String
    public var attestationType: String
    /// `trusted`, `evicted` or `untrusted`.
    public var trust: String
    public var untrustedReason: String?
    public var canReattest: Bool
    public var lastAttestedAt: Date
    public var createdAt: Date
    public var serialNumber: String
    public var expiresAt: Date
    public var selectors: [String]
    /// The node entries the agent's node belongs to (by its node selectors).
    public var nodeGroups: [String]

    enum CodingKeys: String, CodingKey {
        case spiffeID = "spiffe_id", attestationType = "attestation_type", trust, untrustedReason = "untrusted_reason"
        case canReattest = "can_reattest", lastAttestedAt = "last_attested_at", createdAt = "created_at"
        case serialNumber = "serial_number", expiresAt = "expires_at", selectors, nodeGroups = "node_groups"
    }

    init(_ agent: Matryoshka_V1_Agent) {
        spiffeID = agent.spiffeID
        attestationType = agent.attestationType
        trust = !agent.untrustedReason.isEmpty ? "untrusted" : agent.evicted ? "evicted" : "trusted"
        untrustedReason = agent.untrustedReason.isEmpty ? nil : agent.untrustedReason
        canReattest = agent.canReattest
        lastAttestedAt = Date(timeIntervalSince1970: TimeInterval(agent.lastAttestedAt))
        createdAt = Date(timeIntervalSince1970: TimeInterval(agent.createdAt))
        serialNumber = agent.serialNumber
        expiresAt = Date(timeIntervalSince1970: TimeInterval(agent.expiresAt))
        selectors = agent.selectors.map { "\($0.type):\($0.value)" }
        nodeGroups = agent.nodeGroups
    }
}

/// A TPM enrolment as `server tpm allow|list` prints it.
public struct TPMEnrolmentReport: Codable, Sendable, Equatable {
    public var ekHash: String
    public var agentSPIFFEID: String
    public var pcrPolicy: [String: String]
    public var labels: [String]

    enum CodingKeys: String, CodingKey { case ekHash = "ek_hash", agentSPIFFEID = "agent_spiffe_id", pcrPolicy = "pcr_policy", labels }

    init(_ wire: Matryoshka_V1_TPMEnrolment) {
        ekHash = wire.ekHash
        agentSPIFFEID = wire.agentSpiffeID
        pcrPolicy = Dictionary(uniqueKeysWithValues: wire.pcrPolicy.map { (String($0.key), $0.value) })
        labels = wire.labels
    }
}
