import Foundation

/// Server start-up and entry sync with many entries (SQLite).
///
/// A server is started once to create its data directory (CA, keys), stopped, and N entries are
/// written into its datastore with ``EntrySeeder`` (on `seedRoot`, tmpfs by default: the seeding is
/// set-up, not the measurement). The data directory is then copied under `root` and the server
/// started on it several times: spawn to "server ready". Then an agent whose alias owns 10 of the
/// entries joins: spawn to "agent ready", and spawn to its 10 SVIDs served. Baseline: the same
/// start-up with no entries.
struct ServerStartupScenario: Scenario {
    let name = "startup"
    let seedRoot: String

    func run(_ settings: LoadSettings) async throws -> [Figure] {
        let own = 10
        let empty = try await Self.startups(settings: settings, entries: 0, own: own, seedRoot: seedRoot)
        let full = try await Self.startups(settings: settings, entries: settings.entries, own: own, seedRoot: seedRoot)
        let startup = LatencyStats(milliseconds: full.startups)
        let baseline = LatencyStats(milliseconds: empty.startups)
        return [
            Figure(
                "server start-up with \(settings.entries) entries (SQLite)", latency: startup, ratio: startup.p50 / baseline.p50,
                ratioOf: "start-up with 0 entries", target: "≤ 5 s", met: startup.max <= 5000,
                note: "spawn to 'server ready', \(settings.startups) starts on the same data directory (page cache warm after the first); seeded with SQLiteDataStore.createEntry in \(ReportPrinter.format(full.seedSeconds)) s"),
            Figure("server start-up with 0 entries", latency: baseline),
            Figure(
                "agent join + entry sync (\(own) of \(settings.entries) entries its own)", latency: LatencyStats(milliseconds: full.syncs),
                ratio: full.syncs[0] / empty.syncs[0], ratioOf: "with 0 other entries",
                note: "agent spawn to its \(own) X509-SVIDs served; agent spawn to 'agent ready' \(ReportPrinter.format(full.agentReady)) ms (\(ReportPrinter.format(empty.agentReady)) ms with 0 other entries)"),
        ]
    }

    struct Result {
        var startups: [Double]
        var syncs: [Double]
        var agentReady: Double
        var seedSeconds: Double
    }

    static func startups(settings: LoadSettings, entries: Int, own: Int, seedRoot: String) async throws -> Result {
        let seedDirectory = try WorkDirectory(root: seedRoot)
        defer { seedDirectory.remove() }
        let seedData = seedDirectory.file("server")
        let trustDomain = "example.org"
        let ownParent = "spiffe://\(trustDomain)/node/own"
        let uid = getuid()
        // Create the data directory (CA, keys), then seed it while the server is stopped.
        try await Deployment.with(binary: settings.binary, root: seedRoot) { deployment in
            try await deployment.startServer(dataDirectory: seedData)
            await deployment.stopServer()
        }
        let seedStart = ContinuousClock.now
        try await EntrySeeder.seed(
            databasePath: seedData + "/datastore.sqlite3", trustDomain: trustDomain, count: entries, ownParent: ownParent,
            ownSelector: "unix:uid:\(uid)", ownEntries: own)
        let seedSeconds = (ContinuousClock.now - seedStart).seconds

        return try await Deployment.with(binary: settings.binary, root: settings.root) { deployment in
            // Sockets are not copied: the server makes its own.
            for name in (try? FileManager.default.contentsOfDirectory(atPath: seedData)) ?? [] where name.hasSuffix(".sock") {
                try? FileManager.default.removeItem(atPath: seedData + "/" + name)
            }
            try FileManager.default.copyItem(atPath: seedData, toPath: deployment.serverDataDirectory)
            var startups: [Double] = []
            for _ in 0..<max(1, settings.startups) {
                startups.append(try await deployment.startServer(timeout: .seconds(300)).milliseconds)
                await deployment.stopServer()
            }
            try await deployment.startServer(timeout: .seconds(300))
            try await deployment.writeBundle()
            let spawned = ContinuousClock.now
            let agent = try await deployment.startAgent("own", alias: ownParent)
            let ready = (ContinuousClock.now - spawned).milliseconds
            try await deployment.waitForSVIDs(count: own, agent: agent, timeout: .seconds(300))
            let synced = (ContinuousClock.now - spawned).milliseconds
            return Result(startups: startups, syncs: [synced], agentReady: ready, seedSeconds: seedSeconds)
        }
    }
}
