/// What a load run is asked to do, from the command line.
struct LoadSettings: Sendable {
    /// The `matryoshka` binary.
    var binary: String
    /// This tool's own executable (the exec scenario runs it as the sub-task).
    var selfExecutable: String
    /// Where deployments' directories go (server data directories included).
    var root: String
    /// Concurrent workloads for the cached-fetch scenario.
    var workloads: Int
    /// Fetches per workload (after a first, unmeasured one).
    var fetchesPerWorkload: Int
    /// Pause between one workload's fetches.
    var fetchInterval: Duration
    /// Entries (SVIDs) for the issuance and memory scenario.
    var issuanceSVIDs: Int
    /// `exec` runs.
    var execRuns: Int
    /// Descendants of the revoked layer, and how many times it is revoked.
    var descendants: Int
    var revocationRounds: Int
    /// Nested agents that each hold all the descendants.
    var revocationAgents: Int
    /// Entries in the server start-up scenario, and start-ups measured.
    var entries: Int
    var startups: Int
}

/// A measured scenario.
protocol Scenario: Sendable {
    var name: String { get }
    func run(_ settings: LoadSettings) async throws -> [Figure]
}
