import ArgumentParser
import MatryoshkaCLI

struct ServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "server",
        abstract: "Run the server, and administer it.",
        subcommands: [Run.self, Token.self, Bundle.self, TPM.self])

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "run",
            abstract: "Run the server: CA, datastore, node API for agents, admin API, HTTP endpoint.",
            discussion: """
                Settings come from defaults, then --config (YAML), then flags. The datastore is SQLite in \
                the data directory. Agents connect to --bind (gRPC over TLS); operators use the admin \
                socket (owner-only); --http serves /health, /ready, /metrics, /bundle and /crl. Stops \
                gracefully on SIGTERM or SIGINT.

                Node attestation: join tokens (`server token generate`), TPM 2.0 (`tpm:` in the config, \
                `server tpm allow`), and x509pop: with --x509pop-ca-bundle, a node provisioned with a \
                certificate from one of those CAs attests by proving it holds the certificate's key \
                (`agent run --x509pop-cert/--x509pop-key`) and becomes \
                spiffe://TD/agent/x509pop/<sha256 of the certificate's DER>.
                """)

        @Option(name: .long, help: ArgumentHelp("YAML configuration file.", valueName: "FILE")) var config: String?
        @Option(name: .long, help: ArgumentHelp("Data directory (default ~/.matryoshka/server).", valueName: "DIR")) var dataDir: String?
        @Option(name: .long, help: "Trust domain, e.g. example.org.") var trustDomain: String?
        @Option(name: .long, help: ArgumentHelp("Node API address for agents (default 0.0.0.0:8081).", valueName: "HOST:PORT")) var bind: String?
        @Option(name: .long, help: ArgumentHelp("HTTP address for /health /ready /metrics /bundle /crl (off by default).", valueName: "HOST:PORT")) var http: String?
        @Option(name: .long, help: ArgumentHelp("Admin socket (default DATA_DIR/admin.sock).", valueName: "PATH")) var adminSocket: String?
        @Option(name: .long, help: "CA key type: ec-p256 (default), ec-p384, rsa-2048, rsa-3072.") var caKeyType: String?
        @Option(name: .long, help: ArgumentHelp("CA lifetime (default 24h).", valueName: "DURATION")) var caTTL: String?
        @Option(name: .long, help: ArgumentHelp("Default X509-SVID lifetime (default 1h).", valueName: "DURATION")) var x509TTL: String?
        @Option(name: .long, help: ArgumentHelp("Default JWT-SVID lifetime (default 5m).", valueName: "DURATION")) var jwtTTL: String?
        @Option(name: .long, help: ArgumentHelp("Agent SVID lifetime (default 1h).", valueName: "DURATION")) var agentTTL: String?
        @Option(name: .long, help: ArgumentHelp(
            "How often the server signs the audit chain head (default 5m; also on shutdown).", valueName: "DURATION")) var auditSignInterval: String?
        @Option(name: .long, help: ArgumentHelp(
            "Evict agents that can re-attest (TPM) but have not for this long, revoking their identities; they may attest afresh (default: never).",
            valueName: "DURATION")) var maxAttestationAge: String?
        @Option(name: .customLong("x509pop-ca-bundle"), help: ArgumentHelp(
            "PEM bundle of the provisioning CAs whose node certificates may attest with x509pop (overrides x509pop.ca_bundle).",
            valueName: "FILE")) var x509popCABundle: String?
        @OptionGroup var log: LogOptions

        func run() async throws {
            var options = ServerRunner.Options()
            options.x509popCABundle = x509popCABundle
            options.auditSignInterval = auditSignInterval
            options.maxAttestationAge = maxAttestationAge
            options.configFile = config
            options.dataDirectory = dataDir
            options.trustDomain = trustDomain
            options.bind = bind
            options.http = http
            options.adminSocket = adminSocket
            options.caKeyType = caKeyType
            options.caTTL = caTTL
            options.x509TTL = x509TTL
            options.jwtTTL = jwtTTL
            options.agentTTL = agentTTL
            let logger = log.bootstrap(label: "matryoshka.server")
            await perform { () async throws(CLIError) in
                try await ServerRunner.run(try ServerRunner.configuration(options), logger: logger)
            }
        }
    }

    struct Token: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "token", abstract: "Join tokens for node attestation.", subcommands: [Generate.self])

        struct Generate: AsyncParsableCommand {
            static let configuration = CommandConfiguration(commandName: "generate",
                abstract: "Generate a single-use join token for one node.",
                discussion: """
                    Prints the token alone on stdout (--json for the agent's SPIFFE ID and expiry). The node \
                    that redeems it becomes spiffe://TD/agent/join_token/<id>; with --spiffe-id ALIAS it is \
                    also known as ALIAS, so entries can name ALIAS as their parent before the node exists.
                    """)

            @Option(name: .long, help: ArgumentHelp("An alias SPIFFE ID for the node.", valueName: "ALIAS")) var spiffeID: String?
            @Option(name: .long, help: ArgumentHelp("How long the token is valid (default 10m).", valueName: "DURATION")) var ttl: String?
            @OptionGroup var socket: AdminSocketOption
            @OptionGroup var output: JSONFlag

            func run() async throws {
                await report(json: output.json, { () async throws(CLIError) in
                    try await ServerAdminOperations.generateToken(alias: spiffeID, ttl: ttl, socketPath: socket.path)
                }, text: { $0.token + "\n" })
            }
        }
    }

    struct Bundle: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "bundle", abstract: "The trust bundle.", subcommands: [Show.self])

        struct Show: AsyncParsableCommand {
            static let configuration = CommandConfiguration(commandName: "show", abstract: "Print the trust bundle (PEM, or SPIFFE bundle JSON).")

            @Option(name: .long, help: "pem (default) or spiffe.") var format: String = "pem"
            @OptionGroup var socket: AdminSocketOption

            func validate() throws {
                guard ServerAdminOperations.BundleFormat(rawValue: format) != nil else {
                    throw ValidationError("--format must be pem or spiffe")
                }
            }

            func run() async throws {
                await perform { () async throws(CLIError) in
                    let format = ServerAdminOperations.BundleFormat(rawValue: format) ?? .pem
                    print(try await ServerAdminOperations.bundle(format: format, socketPath: socket.path), terminator: "")
                }
            }
        }
    }
}
