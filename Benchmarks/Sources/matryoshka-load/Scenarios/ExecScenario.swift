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

            // The sub-task as a small command (/bin/sh, which then becomes the probe: same pid),
            // and as the probe's own ~150 MB executable (exec hashes the command for its
            // unix:sha256 selector, so the command's size shows).
            let small = try await Self.runs(
                settings.execRuns, deployment: deployment, label: "exec-sh", tasks: tasks, agent: podAgent, server: server,
                command: ["/bin/sh", "-c", #"exec "$0" probe --expect-depth 4"#, settings.selfExecutable])
            let large = try await Self.runs(
                max(3, settings.execRuns / 5), deployment: deployment, label: "exec-big", tasks: tasks, agent: podAgent, server: server,
                command: [settings.selfExecutable, "probe", "--expect-depth", "4"])

            var bare: [Double] = []
            for run in 0..<max(5, settings.execRuns / 2) {
                let spawned = MonotonicClock.nanoseconds()
                let process = try await deployment.launch("probe-\(run)", ["probe", "--no-fetch"], executable: settings.selfExecutable)
                _ = try await process.waitForExit(timeout: .seconds(30))
                bare.append(MonotonicClock.milliseconds(from: spawned, to: try ProbeReport(parsing: process.stdout).started))
            }
            let baseline = LatencyStats(milliseconds: bare)
            let size = ((try? FileManager.default.attributesOfItem(atPath: settings.selfExecutable)[.size]) as? Int).map { $0 >> 20 } ?? 0
            return [
                Figure(
                    "exec → depth-4 sub-task holding its SVID", latency: small.holding, ratio: small.holding.p50 / baseline.p50,
                    ratioOf: "bare process start p50", target: "p99 ≤ 20 ms", met: small.holding.p99 <= 20,
                    note: "spawn of `matryoshka exec` to the sub-task's FetchX509SVID answer (lineage 4 links deep, checked); the command is /bin/sh, which execs the probe"),
                Figure("  exec → sub-task's first instruction", latency: small.started),
                Figure(
                    "exec → depth-4 sub-task holding its SVID, \(size) MiB command", latency: large.holding,
                    note: "the same with the probe's own executable as the command"),
                Figure("baseline: bare process start (the probe, spawned directly)", latency: baseline),
            ]
        }
    }

    struct Runs {
        let holding: LatencyStats
        let started: LatencyStats
    }

    /// `count` exec runs (after 2 unmeasured ones that warm the page cache and the agents).
    static func runs(
        _ count: Int, deployment: Deployment, label: String, tasks: String, agent: AgentHandle, server: String, command: [String]
    ) async throws -> Runs {
        var toHolding: [Double] = []
        var toStart: [Double] = []
        for run in 0..<(count + 2) {
            let spawned = MonotonicClock.nanoseconds()
            let process = try await deployment.launch("\(label)-\(run)", [
                "exec", "--spiffe-id", "\(tasks)/\(label)-\(run)", "--socket", agent.socket, "--server", server, "--ttl", "5m", "--",
            ] + command)
            let exit = try await process.waitForExit(timeout: .seconds(60))
            guard exit == "status 0" else { throw LoadError.commandFailed(command: process.commandLine, output: process.tail()) }
            let report = try ProbeReport(parsing: process.stdout)
            guard let holding = report.holding else { throw LoadError.unexpected("the probe did not hold an SVID: \(process.stdout)") }
            if run >= 2 {
                toHolding.append(MonotonicClock.milliseconds(from: spawned, to: holding))
                toStart.append(MonotonicClock.milliseconds(from: spawned, to: report.started))
            }
        }
        return Runs(holding: LatencyStats(milliseconds: toHolding), started: LatencyStats(milliseconds: toStart))
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
