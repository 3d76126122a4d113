import ArgumentParser
import MatryoshkaCLI

struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Run an agent that serves the SPIFFE Workload API.",
        subcommands: [Run.self])

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the agent.",
            discussion: """
                The first time, the agent attests its node with --join-token, authenticating the server \
                with --trust-bundle; it keeps its identity in --data-dir across restarts and renews it \
                before expiry. It serves the Workload API on --socket to local workloads, attested by \
                their uid, gid, user, group, executable path and sha256.
                """)

        @Option(name: .long, help: ArgumentHelp("The server's node API.", valueName: "HOST:PORT")) var server: String?
        @Option(name: .long, help: "The trust domain (default: read from the trust bundle).") var trustDomain: String?
        @Option(name: .long, help: ArgumentHelp("Trust bundle to authenticate the server on first start.", valueName: "FILE")) var trustBundle: String?
        @Option(name: .long, help: "Single-use join token (first start only).") var joinToken: String?
        @Option(name: .long, help: ArgumentHelp("Workload API socket to serve (default ~/.matryoshka/agent/workload.sock).", valueName: "PATH")) var socket: String?
        @Option(name: .long, help: ArgumentHelp("Data directory (default ~/.matryoshka/agent).", valueName: "DIR")) var dataDir: String?
        @OptionGroup var log: LogOptions

        func run() async throws {
            var options = AgentRunner.Options()
            options.server = server
            options.trustDomain = trustDomain
            options.trustBundle = trustBundle
            options.joinToken = joinToken
            options.socket = socket
            options.dataDirectory = dataDir
            let logger = log.bootstrap(label: "matryoshka.agent")
            await perform { () async throws(CLIError) in
                try await AgentRunner.run(try AgentRunner.configuration(options), logger: logger)
            }
        }
    }
}
