import ArgumentParser
import Foundation
import MatryoshkaCLI

struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Run an agent that serves the SPIFFE Workload API.",
        subcommands: [Run.self, TPMInfo.self, List.self, Show.self, Evict.self])

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "run",
            abstract: "Run the agent.",
            discussion: """
                The first time, the agent attests its node with --join-token, --tpm, or --x509pop-cert and \
                --x509pop-key (a certificate the node was provisioned with, from a CA in the server's \
                --x509pop-ca-bundle: the agent proves it holds the key and becomes \
                spiffe://TD/agent/x509pop/<sha256 of the certificate>), authenticating the server \
                with --trust-bundle; it keeps its identity in --data-dir across restarts and renews it \
                before expiry. It serves the Workload API on --socket to local workloads, attested by \
                their uid, gid, user, group, executable path and sha256.

                Nested mode (--parent-socket): the agent takes its own identity from the Workload API \
                of the layer around it (its entry must be --nested), authenticates to the server with \
                that SVID, and serves a Workload API of its own to the processes it starts, issuing \
                the entries registered with it as parent, each carrying the lineage it vouches for.
                """)

        @Option(name: .long, help: ArgumentHelp("The server's node API (default $MATRYOSHKA_SERVER).", valueName: "HOST:PORT")) var server: String?
        @Option(name: .long, help: "The trust domain (default: read from the trust bundle).") var trustDomain: String?
        @Option(name: .long, help: ArgumentHelp("Trust bundle to authenticate the server on first start.", valueName: "FILE")) var trustBundle: String?
        @Option(name: .long, help: "Single-use join token (first start only).") var joinToken: String?
        @Option(name: .long, help: ArgumentHelp(
            "Attest the node with its TPM 2.0: swtpm:host=HOST,port=PORT or device:/dev/tpmrm0 (instead of --join-token).",
            valueName: "TCTI")) var tpm: String?
        @Option(name: .customLong("x509pop-cert"), help: ArgumentHelp(
            "Attest the node with x509pop: its certificate chain, PEM, node certificate first (with --x509pop-key).",
            valueName: "FILE")) var x509popCert: String?
        @Option(name: .customLong("x509pop-key"), help: ArgumentHelp(
            "With --x509pop-cert: the node certificate's private key, PEM (EC or RSA; PKCS#8, SEC1 or PKCS#1).",
            valueName: "FILE")) var x509popKey: String?
        @Option(name: .long, help: ArgumentHelp(
            "With --tpm or --x509pop-cert: prove the node to the server again (a fresh TPM quote or x509pop signature) every SECONDS (default 60; 0 turns continuous attestation off).",
            valueName: "SECONDS")) var reattestInterval: Int?
        @Option(name: .long, help: ArgumentHelp(
            "Check every SECONDS that each process holding an X509-SVID stream is still the process attested, with its entries' selectors; one that is not has its identities revoked (default 30; 0 turns it off).",
            valueName: "SECONDS")) var workloadRecheckInterval: Int?
        @Option(name: .long, help: ArgumentHelp("Workload API socket to serve (default ~/.matryoshka/agent/workload.sock).", valueName: "PATH")) var socket: String?
        @Option(name: .long, help: ArgumentHelp("Data directory (default ~/.matryoshka/agent).", valueName: "DIR")) var dataDir: String?
        @Option(name: .long, help: ArgumentHelp("Nested mode: the Workload API socket of the layer around this agent.", valueName: "PATH")) var parentSocket: String?
        @Flag(name: .long, help: "Nested mode: also serve processes that are not descendants of this agent.") var allowNonDescendants = false
        @Option(name: .long, help: "Nested mode: which of the SVIDs the parent serves is this layer's (default: the first).") var spiffeID: String?
        @Argument(parsing: .postTerminator, help: ArgumentHelp(
            "A command to host, after --: it runs as the agent's child with SPIFFE_ENDPOINT_SOCKET pointing at this agent, and the agent exits with it.",
            valueName: "COMMAND")) var command: [String] = []
        @Option(name: .long, help: ArgumentHelp("HTTP address for /health /ready /metrics (off by default).", valueName: "HOST:PORT")) var http: String?
        @OptionGroup var log: LogOptions

        func run() async throws {
            var options = AgentRunner.Options()
            options.http = http
            options.server = server
            options.trustDomain = trustDomain
            options.trustBundle = trustBundle
            options.joinToken = joinToken
            options.tpm = tpm
            options.x509popCertificate = x509popCert
            options.x509popKey = x509popKey
            options.reattestInterval = reattestInterval
            options.workloadRecheckInterval = workloadRecheckInterval
            options.socket = socket
            options.dataDirectory = dataDir
            options.parentSocket = parentSocket
            options.allowNonDescendants = allowNonDescendants
            options.spiffeID = spiffeID
            options.command = command
            let logger = log.bootstrap(label: "matryoshka.agent")
            await perform { () async throws(CLIError) in
                if let status = try await AgentRunner.run(try await AgentRunner.configuration(options), logger: logger) {
                    Foundation.exit(status)
                }
            }
        }
    }

    struct TPMInfo: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "tpm-info",
            abstract: "Print the TPM's EK hash and PCR values, to enrol the node.",
            discussion: """
                The EK hash is the node's identity (spiffe://TD/agent/tpm/<ek-hash>): enrol it on the \
                server with `matryoshka server tpm allow --ek-hash H [--pcr INDEX:HEX…]`. Run it while \
                the agent is not using the TPM (swtpm serves one client at a time).
                """)

        @Option(name: .long, help: ArgumentHelp("The TPM: swtpm:host=HOST,port=PORT or device:/dev/tpmrm0.", valueName: "TCTI")) var tpm: String
        @OptionGroup var output: JSONFlag

        func run() async throws {
            await report(json: output.json, { () async throws(CLIError) in
                try await TPMOperations.info(tcti: tpm)
            }, text: TPMOperations.text)
        }
    }
}
