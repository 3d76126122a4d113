import ArgumentParser
import Foundation

/// `matryoshka-load`: starts its own server and agents (the real `matryoshka` binary) on temp
/// directories and loopback, measures, and prints a table (or JSON).
@main
struct LoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "matryoshka-load",
        abstract: "End-to-end load and latency measurements of Matryoshka (see BENCHMARKS.md).",
        subcommands: [RunCommand.self, ProbeCommand.self],
        defaultSubcommand: RunCommand.self)
}

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run the scenarios and print the figures.")

    @Option(help: "The matryoshka binary (default: the one beside this tool, then PATH).") var matryoshka: String?
    @Option(help: "Scenarios to run, comma-separated: cached-fetch, issuance, exec, revocation, startup (default: all).") var scenarios: String?
    @Flag(help: "A small smoke run: 50 workloads, 100 SVIDs and descendants, 1 000 entries, few repetitions.") var quick = false
    @Option(help: "Concurrent workloads (cached fetch).") var workloads: Int?
    @Option(help: "Fetches per workload, after a first unmeasured one.") var fetches: Int?
    @Option(help: "Milliseconds between one workload's fetches.") var fetchIntervalMs: Int = 1000
    @Option(help: "SVIDs issued to one agent (issuance and memory).") var svids: Int?
    @Option(help: "exec runs.") var execRuns: Int?
    @Option(help: "Descendants of the revoked layer.") var descendants: Int?
    @Option(help: "Revocation rounds.") var revocationRounds: Int?
    @Option(help: "Nested agents holding the descendants.") var revocationAgents: Int = 2
    @Option(help: "Entries for the start-up scenario.") var entries: Int?
    @Option(help: "Server start-ups measured.") var startups: Int = 3
    @Option(help: "Directory for the deployments (server data directories included).") var root: String = "/tmp"
    @Option(help: "Directory where the start-up scenario seeds its entries before copying them under --root.") var seedRoot: String = "/dev/shm"
    @Flag(help: "Print JSON instead of a table.") var json = false

    func run() async throws {
        ProcessRegistry.installExitHandlers()
        let selfExecutable = try Self.ownExecutable()
        let settings = LoadSettings(
            binary: try matryoshka ?? Self.findBinary(besides: selfExecutable),
            selfExecutable: selfExecutable,
            root: root,
            workloads: workloads ?? (quick ? 50 : 1000),
            fetchesPerWorkload: fetches ?? (quick ? 5 : 10),
            fetchInterval: .milliseconds(fetchIntervalMs),
            issuanceSVIDs: svids ?? (quick ? 100 : 1000),
            execRuns: execRuns ?? (quick ? 10 : 50),
            descendants: descendants ?? (quick ? 100 : 1000),
            revocationRounds: revocationRounds ?? (quick ? 2 : 5),
            revocationAgents: revocationAgents,
            entries: entries ?? (quick ? 1000 : 100_000),
            startups: startups)
        let all: [any Scenario] = [
            CachedFetchScenario(), IssuanceScenario(), ExecScenario(), RevocationScenario(), ServerStartupScenario(seedRoot: seedRoot),
        ]
        let wanted = scenarios.map { Set($0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }) }
        if let wanted, let unknown = wanted.first(where: { name in !all.contains { $0.name == name } }) {
            throw ValidationError("unknown scenario '\(unknown)'; known: \(all.map(\.name).joined(separator: ", "))")
        }
        var figures: [Figure] = []
        var failures: [String] = []
        for scenario in all where wanted?.contains(scenario.name) ?? true {
            FileHandle.standardError.write(Data("[\(Self.timestamp())] \(scenario.name)…\n".utf8))
            do {
                let result = try await scenario.run(settings)
                figures += result
                if !json { FileHandle.standardError.write(Data((ReportPrinter.table(result) + "\n\n").utf8)) }
            } catch {
                failures.append("\(scenario.name): \(error)")
                FileHandle.standardError.write(Data("\(scenario.name) failed: \(error)\n".utf8))
            }
        }
        if json {
            print(try ReportPrinter.json(figures))
        } else {
            print(ReportPrinter.table(figures))
        }
        if !failures.isEmpty { throw ExitCode(1) }
    }

    static func timestamp() -> String {
        ISO8601DateFormatter().string(from: Date())
    }

    /// This executable's path (/proc/self/exe).
    static func ownExecutable() throws -> String {
        try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
    }

    static func findBinary(besides tool: String) throws -> String {
        let sibling = (tool as NSString).deletingLastPathComponent + "/matryoshka"
        if FileManager.default.isExecutableFile(atPath: sibling) { return sibling }
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let candidate = "\(directory)/matryoshka"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw ValidationError("no matryoshka binary beside \(tool) or on PATH: build it (swift build -c release --product matryoshka) or pass --matryoshka")
    }
}
