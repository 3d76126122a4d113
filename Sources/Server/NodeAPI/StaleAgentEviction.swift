import Foundation
import Logging
import SPIFFE

/// Continuous attestation has a deadline: an agent whose method lets it prove its node's state
/// again (TPM) and that has not done so for ``maxAge`` — its node is down, or something stops it
/// from answering — is evicted and everything it vouched for revoked, as if it had failed. It is
/// not marked untrusted: a fresh, complete attestation lets it back.
struct StaleAgentEviction: Sendable {
    let store: any DataStore
    let revocation: Revocation
    let index: RegistrationIndex
    let maxAge: Duration
    let logger: Logger

    /// How often agents are looked at: a quarter of ``maxAge``, between 1 and 30 seconds.
    var interval: Duration { min(max(maxAge / 4, .seconds(1)), .seconds(30)) }

    func run() async throws {
        logger.info("agents that stop re-attesting are evicted", metadata: ["max_attestation_age": "\(DurationText.format(maxAge))"])
        while true {
            try await Task.sleep(for: interval)
            _ = await sweep()
        }
    }

    /// Evicts the agents overdue at `now`; returns their IDs.
    func sweep(now: Date = Date()) async -> [SPIFFEID] {
        let agents: [AgentRecord]
        do {
            agents = try await store.listAgents()
        } catch {
            logger.error("cannot list agents to find those that stopped re-attesting", metadata: ["error": "\(error)"])
            return []
        }
        let cutoff = now.addingTimeInterval(-maxAge.timeInterval)
        var evicted: [SPIFFEID] = []
        for agent in agents where agent.canReattest && !agent.evicted && agent.lastAttestedAt < cutoff {
            let age = DurationText.format(.seconds(Int64(now.timeIntervalSince(agent.lastAttestedAt))))
            let reason = "no successful attestation for \(age) (the limit is \(DurationText.format(maxAge)))"
            do {
                let revoked = try await revocation.revoke(node: agent.spiffeID, reason: reason, by: "server")
                await index.removeNode(agent.spiffeID)
                evicted.append(agent.spiffeID)
                logger.warning("evicted an agent that stopped re-attesting", metadata: [
                    "agent": "\(agent.spiffeID)", "last_attested": "\(agent.lastAttestedAt.formatted(.iso8601))", "revoked": "\(revoked.count)",
                ])
            } catch {
                logger.error("cannot evict an agent that stopped re-attesting", metadata: ["agent": "\(agent.spiffeID)", "error": "\(error)"])
            }
        }
        return evicted
    }
}
