import Foundation
import WorkloadAPI

/// Workload API `FetchX509SVID` latency for a cached identity: one agent, one entry for this uid
/// (`unix:uid:`), and N workloads, each its own connection, fetching concurrently.
///
/// Four figures: the baseline, a call the agent refuses before doing any work of its own
/// (``RefusedFetchBaseline``: the gRPC framework's round trip on the same socket); one workload
/// fetching back to back, against it; N workloads each fetching every `fetchInterval` from a random
/// offset (a steady offered load of N/interval per second); and all N fetching at the same instant
/// (a burst: queueing on 2 cores dominates).
struct CachedFetchScenario: Scenario {
    let name = "cached-fetch"

    func run(_ settings: LoadSettings) async throws -> [Figure] {
        try await Deployment.with(binary: settings.binary, root: settings.root) { deployment in
            try await deployment.startServer()
            try await deployment.writeBundle()
            let node = try await deployment.startAgent("node", alias: deployment.id("/node/fetch"))
            let app = deployment.id("/fetch/app")
            try await AdminConnection.with(socket: deployment.adminSocket) { admin in
                _ = try await admin.createEntry(spiffeID: app, parentID: deployment.id("/node/fetch"), selectors: ["unix:uid:\(deployment.uid)"])
            }
            try await deployment.waitForSVIDs(including: [app], agent: node)
            let address = try WorkloadAPIAddress(node.socket)

            let pid = node.process.pid
            let idleRSS = try ProcessMemory.residentMiB(pid: pid)
            let singleFetches = max(200, settings.fetchesPerWorkload * 20)
            let floor = try await phase("refused calls back to back") {
                try await RefusedFetchBaseline.sequential(socket: node.socket, calls: singleFetches)
            }
            let single = try await phase("1 workload back to back") {
                try await Self.sequential(address: address, fetches: singleFetches)
            }
            let afterSingleRSS = try ProcessMemory.residentMiB(pid: pid)
            let (paced, burst) = try await phase("\(settings.workloads) concurrent workloads") {
                try await Self.concurrent(address: address, settings: settings)
            }
            let offered = Double(settings.workloads) / settings.fetchInterval.seconds
            let rss = try ProcessMemory.residentMiB(pid: pid)
            let concurrentFetches = settings.workloads * (settings.fetchesPerWorkload + 2)
            let memory = "agent VmRSS \(ReportPrinter.format(idleRSS)) MiB before, \(ReportPrinter.format(afterSingleRSS)) MiB after the \(singleFetches) back-to-back fetches, \(ReportPrinter.format(rss)) MiB after the \(concurrentFetches) concurrent ones"
            return [
                Figure(
                    "baseline: refused FetchX509SVID (no security header), back to back", latency: floor,
                    note: "the agent refuses it before attesting the caller or looking up an SVID: gRPC and the socket only"),
                Figure(
                    "cached fetch, 1 workload back to back", latency: single,
                    ratio: single.p99 / floor.p99, ratioOf: "refused call's p99", target: "p99 ≤ 1 ms", met: single.p99 <= 1,
                    note: "p50 \(ReportPrinter.format(single.p50 / floor.p50))× the refused call's p50"),
                Figure(
                    "cached fetch, \(settings.workloads) workloads, \(ReportPrinter.format(offered))/s offered", latency: paced,
                    ratio: paced.p99 / single.p99, ratioOf: "1-workload p99", target: "p99 ≤ 1 ms", met: paced.p99 <= 1,
                    note: "\(settings.workloads) connections open at once, each fetching every \(settings.fetchInterval) from a random offset; the tool's own client shares the 2 cores with the agent; \(memory)"),
                Figure(
                    "cached fetch, \(settings.workloads) workloads at the same instant", latency: burst,
                    note: "one fetch per workload, all started together: latency is mostly queueing behind the others"),
            ]
        }
    }

    /// Fetches per connection in the back-to-back measurement: each one-shot fetch ends its
    /// stream with RST_STREAM, and the gRPC transport closes a connection after 200 resets in
    /// 10 s (HTTP/2 rapid-reset protection), so a fresh connection is opened every 150.
    static let fetchesPerConnection = 150

    /// `fetches` fetches back to back on one connection at a time (the first on each connection,
    /// its set-up, not measured).
    static func sequential(address: WorkloadAPIAddress, fetches: Int) async throws -> LatencyStats {
        try await backToBack(calls: fetches) { batch in
            try await WorkloadAPIClient.withClient(address: address) { client in
                try await timed(batch) {
                    let set = try await client.fetchX509Context()
                    guard !set.svids.isEmpty else { throw LoadError.unexpected("the agent served no SVID") }
                }
            }
        }
    }

    /// `calls` calls back to back in batches of ``fetchesPerConnection``: `batch(n)` opens a
    /// connection and returns the times of `n` calls on it (``timed(_:_:)``).
    static func backToBack(calls: Int, _ batch: (Int) async throws -> [Duration]) async throws -> LatencyStats {
        var samples: [Duration] = []
        samples.reserveCapacity(calls)
        while samples.count < calls {
            samples += try await batch(min(fetchesPerConnection, calls - samples.count))
        }
        return LatencyStats(durations: samples)
    }

    /// The times of `count` calls of `call` back to back, after one call not timed: the first on a
    /// connection, which pays for its set-up.
    static func timed(_ count: Int, _ call: () async throws -> Void) async throws -> [Duration] {
        try await call()
        let clock = ContinuousClock()
        var samples: [Duration] = []
        samples.reserveCapacity(count)
        for _ in 0..<count {
            let start = clock.now
            try await call()
            samples.append(clock.now - start)
        }
        return samples
    }

    /// N clients connected at once: paced fetches, then one simultaneous burst.
    static func concurrent(address: WorkloadAPIAddress, settings: LoadSettings) async throws -> (LatencyStats, LatencyStats) {
        let clients = try (0..<settings.workloads).map { _ in try WorkloadAPIClient(address: address) }
        return try await withThrowingTaskGroup(of: Void.self) { connections in
            defer {
                for client in clients { client.close() }
                connections.cancelAll()
            }
            // Connect the workloads 50 at a time (first fetch, not measured): the agent's Unix
            // socket listens with a backlog of 256, and a thousand simultaneous connects overflow it
            // (EAGAIN: "could not establish a connection").
            for start in stride(from: 0, to: clients.count, by: 50) {
                let batch = Array(clients[start..<min(start + 50, clients.count)])
                for client in batch { connections.addTask { try await client.run() } }
                try await forEach(batch, concurrency: 50) { client in _ = try await client.fetchX509Context() }
            }

            let interval = settings.fetchInterval
            let paced = try await withThrowingTaskGroup(of: [Duration].self) { group in
                for client in clients {
                    group.addTask {
                        let clock = ContinuousClock()
                        try await Task.sleep(for: interval * Double.random(in: 0..<1))
                        var next = clock.now
                        var samples: [Duration] = []
                        for _ in 0..<settings.fetchesPerWorkload {
                            let start = clock.now
                            _ = try await client.fetchX509Context()
                            samples.append(clock.now - start)
                            next += interval
                            if next > clock.now { try await Task.sleep(until: next, clock: clock) }
                        }
                        return samples
                    }
                }
                var all: [Duration] = []
                for try await samples in group { all += samples }
                return all
            }

            let burst = try await withThrowingTaskGroup(of: Duration.self) { group in
                let start = ContinuousClock.now
                for client in clients {
                    group.addTask {
                        _ = try await client.fetchX509Context()
                        return ContinuousClock.now - start
                    }
                }
                var all: [Duration] = []
                for try await sample in group { all.append(sample) }
                return all
            }
            return (LatencyStats(durations: paced), LatencyStats(durations: burst))
        }
    }
}

/// Runs `body`, naming `what` in its error.
func phase<T>(_ what: String, _ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch {
        throw LoadError.unexpected("\(what): \(error)")
    }
}

/// Runs `body` for every element, at most `concurrency` at a time.
func forEach<T: Sendable>(_ items: [T], concurrency: Int, _ body: @escaping @Sendable (T) async throws -> Void) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
        var next = 0
        while next < min(concurrency, items.count) {
            let item = items[next]
            group.addTask { try await body(item) }
            next += 1
        }
        while try await group.next() != nil {
            if next < items.count {
                let item = items[next]
                group.addTask { try await body(item) }
                next += 1
            }
        }
    }
}
