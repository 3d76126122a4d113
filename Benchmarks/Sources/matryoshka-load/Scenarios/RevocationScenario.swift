import Foundation
import WorkloadAPI

/// Revocation propagation: `revoke --spiffe-id <pod> --subtree` of a layer with N descendants,
/// until every agent has dropped them.
///
/// The node agent holds the pod's SVID; K nested agents run as the pod, each holding the pod's N
/// descendants (entries `/pod/w/<i>` for this uid). Each round opens a `FetchX509SVID` stream to
/// every agent, calls the admin API's Revoke, and takes the time until the last agent's stream
/// no longer carries any of the revoked certificates. The workloads stay entitled, so the agents
/// get fresh SVIDs afterwards; the next round waits for them (that time is reported too).
struct RevocationScenario: Scenario {
    let name = "revocation"

    func run(_ settings: LoadSettings) async throws -> [Figure] {
        try await Deployment.with(binary: settings.binary, root: settings.root) { deployment in
            try await deployment.startServer()
            try await deployment.writeBundle()
            let nodeAlias = deployment.id("/node/rev")
            let node = try await deployment.startAgent("node", alias: nodeAlias)
            let pod = deployment.id("/pod")
            let uid = "unix:uid:\(deployment.uid)"
            let count = settings.descendants
            try await AdminConnection.with(socket: deployment.adminSocket) { admin in
                try await admin.createEntry(spiffeID: pod, parentID: nodeAlias, selectors: [uid], nested: true)
                try await admin.createEntries(prefix: pod + "/w", count: count, parentID: pod, selectors: [uid])
            }
            try await deployment.waitForSVIDs(including: [pod], agent: node)
            var podAgents: [AgentHandle] = []
            for index in 1...max(1, settings.revocationAgents) {
                podAgents.append(try await deployment.startNestedAgent("pod-\(index)", parent: node))
            }

            var rounds: [Double] = []
            var perAgent: [Double] = []
            var rpc: [Double] = []
            var refill: [Double] = []
            var revokedCounts: [Int] = []
            var previous: [String: Set<[UInt8]>] = [:]
            for round in 0..<settings.revocationRounds {
                // Every agent holds the current generation (none of the previous round's certificates).
                let refillStart = ContinuousClock.now
                var current: [String: Set<[UInt8]>] = [:]
                for agent in [node] + podAgents {
                    let expected = agent.name == node.name ? 1 : count
                    current[agent.name] = try await Self.leaves(agent: agent, atLeast: expected, excluding: previous[agent.name] ?? [], only: agent.name == node.name ? pod : nil)
                }
                if round > 0 { refill.append((ContinuousClock.now - refillStart).milliseconds) }

                let watchers = ([node] + podAgents).map { DropWatcher(agent: $0, old: current[$0.name] ?? []) }
                let outcome = try await withThrowingTaskGroup(of: Void.self) { group in
                    for watcher in watchers { group.addTask { await watcher.run(timeout: .seconds(60)) } }
                    for watcher in watchers { try await watcher.waitUntilSubscribed(timeout: .seconds(30)) }
                    let start = ContinuousClock.now
                    let revoked = try await AdminConnection.with(socket: deployment.adminSocket) { admin in try await admin.revokeSubtree(of: pod) }
                    let returned = ContinuousClock.now
                    try await group.waitForAll()
                    return (start: start, returned: returned, revoked: revoked)
                }
                let revokedAt = outcome.start, returnedAt = outcome.returned, revoked = outcome.revoked
                var last = Duration.zero
                for watcher in watchers {
                    guard let dropped = watcher.droppedAt else {
                        throw LoadError.timeout("\(watcher.agent.name) to drop the revoked SVIDs (round \(round + 1))", seconds: 60)
                    }
                    perAgent.append((dropped - revokedAt).milliseconds)
                    last = max(last, dropped - revokedAt)
                }
                rounds.append(last.milliseconds)
                rpc.append((returnedAt - revokedAt).milliseconds)
                revokedCounts.append(revoked)
                previous = current
            }
            let all = LatencyStats(milliseconds: rounds)
            let counts = Set(revokedCounts).sorted().map(String.init).joined(separator: "/")
            return [
                Figure(
                    "revoke --subtree, \(count) descendants, until every agent (\(podAgents.count + 1)) dropped them",
                    latency: all, ratio: all.p50 / LatencyStats(milliseconds: rpc).p50, ratioOf: "Revoke RPC p50",
                    target: "p99 ≤ 250 ms", met: all.p99 <= 250,
                    note: "\(settings.revocationRounds) rounds (p99 of so few rounds is their max); credentials revoked per round: \(counts); node agent + \(podAgents.count) nested agents each holding all \(count)"),
                Figure("  per agent, revoke to dropped", latency: LatencyStats(milliseconds: perAgent)),
                Figure("  Revoke admin RPC round trip", latency: LatencyStats(milliseconds: rpc)),
                Figure("  re-issuance of all descendants after a revocation", latency: LatencyStats(milliseconds: refill)),
            ]
        }
    }

    /// The leaf certificates `agent` serves this process, once it serves at least `count` that are
    /// not in `excluding` (only those for `only`, when given).
    static func leaves(agent: AgentHandle, atLeast count: Int, excluding: Set<[UInt8]>, only: String?) async throws -> Set<[UInt8]> {
        let address = try WorkloadAPIAddress(agent.socket)
        return try await eventually("\(count) fresh SVIDs at \(agent.name)", timeout: .seconds(600), interval: .milliseconds(200)) {
            let set = try await WorkloadAPIClient.withClient(address: address, configuration: .init(maxReceiveMessageSize: 64 << 20)) { client in
                try await client.fetchX509Context()
            }
            let leaves = Set(set.svids.filter { only == nil || $0.spiffeID == only }.compactMap(\.certificateChain.first))
            return leaves.count >= count && leaves.isDisjoint(with: excluding) ? leaves : nil
        }
    }
}
