import Foundation

/// Time from `matryoshka exec` to a depth-4 sub-task holding its SVID.
///
/// The stack: node agent (layer 1) → pod, a nested agent (2) → runner, the identity `exec` runs as
/// (3) → task (4). Each run spawns `matryoshka exec --spiffe-id …/task/N --socket <pod agent>` with
/// this tool as the command (`matryoshka-load probe`), which fetches its X509-SVID from the
/// private socket exec gives it, checks that its lineage is 4 links deep, and prints the
/// CLOCK_MONOTONIC time at which it held it. Baseline: the same probe spawned directly, to its
/// first instruction (what any process start costs here).
struct ExecScenario: Scenario {
    let name = "exec"

    func run(_ settings: LoadSettings) async throws -> [Figure] {
        try await Deployment.with(binary: settings.binary, root: settings.root) { deployment in
            try await deployment.startServer()
            try await deployment.writeBundle()
            let nodeAlias = deployment.id("/node/exec")
            let node = try await deployment.startAgent("node", alias: nodeAlias)
            let pod = deployment.id("/pod"), runner = deployment.id("/pod/runner"), tasks = deployment.id("/pod/runner/task")
            let uid = "unix:uid:\(deployment.uid)"
            try await AdminConnection.with(socket: deployment.adminSocket) { admin in
                try await admin.createEntry(spiffeID: pod, parentID: nodeAlias, selectors: [uid], nested: true)
                try await admin.createEntry(spiffeID: runner, parentID: pod, selectors: [uid], nested: true)
                try await admin.createEntry(spiffeID: tasks + "/*", parentID: runner, selectors: [uid])
            }
            try await deployment.waitForSVIDs(including: [pod], agent: node)
            let podAgent = try await deployment.startNestedAgent("pod", parent: node)
            try await deployment.waitForSVIDs(including: [runner], agent: podAgent)
            let server = await deployment.serverAddress

            var toHolding: [Double] = []
            var toStart: [Double] = []
            for run in 0..<(settings.execRuns + 2) {
                let spawned = MonotonicClock.nanoseconds()
                let process = try await deployment.launch("exec-\(run)", [
                    "exec", "--spiffe-id", "\(tasks)/\(run)", "--socket", podAgent.socket, "--server", server, "--ttl", "5m",
                    "--", settings.selfExecutable, "probe", "--expect-depth", "4",
                ])
                let exit = try await process.waitForExit(timeout: .seconds(60))
                guard exit == "status 0" else { throw LoadError.commandFailed(command: process.commandLine, output: process.tail()) }
                let report = try ProbeReport(parsing: process.stdout)
                guard let holding = report.holding else { throw LoadError.unexpected("the probe did not hold an SVID: \(process.stdout)") }
                if run >= 2 {  // the first two warm the page cache and the agents
                    toHolding.append(MonotonicClock.milliseconds(from: spawned, to: holding))
                    toStart.append(MonotonicClock.milliseconds(from: spawned, to: report.started))
                }
            }

            var bare: [Double] = []
            for run in 0..<max(5, settings.execRuns / 2) {
                let spawned = MonotonicClock.nanoseconds()
                let process = try await deployment.launch("probe-\(run)", ["probe", "--no-fetch"], executable: settings.selfExecutable)
                _ = try await process.waitForExit(timeout: .seconds(30))
                bare.append(MonotonicClock.milliseconds(from: spawned, to: try ProbeReport(parsing: process.stdout).started))
            }
            let holding = LatencyStats(milliseconds: toHolding)
            let started = LatencyStats(milliseconds: toStart)
            let baseline = LatencyStats(milliseconds: bare)
            return [
                Figure(
                    "exec → depth-4 sub-task holding its SVID", latency: holding, ratio: holding.p50 / baseline.p50,
                    ratioOf: "bare process start p50", target: "p99 ≤ 20 ms", met: holding.p99 <= 20,
                    note: "spawn of `matryoshka exec` to the sub-task's FetchX509SVID answer (lineage 4 links deep, checked)"),
                Figure("exec → sub-task's first instruction", latency: started),
                Figure("baseline: bare process start (the probe, spawned directly)", latency: baseline),
            ]
        }
    }
}

/// What `matryoshka-load probe` prints: `started=<ns>` and, after its fetch, `holding=<ns>`.
struct ProbeReport {
    let started: UInt64
    let holding: UInt64?

    init(parsing output: String) throws {
        var values: [String: UInt64] = [:]
        for line in output.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1)
            if parts.count == 2, let value = UInt64(parts[1]) { values[String(parts[0])] = value }
        }
        guard let started = values["started"] else { throw LoadError.unexpected("no 'started=' in the probe's output: \(output)") }
        self.started = started
        holding = values["holding"]
    }
}
