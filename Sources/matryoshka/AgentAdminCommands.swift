import ArgumentParser
import MatryoshkaCLI

extension AgentCommand {
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list",
            abstract: "List the attested agents: attestation type, trust state, last successful attestation.")

        @OptionGroup var socket: AdminSocketOption
        @OptionGroup var output: JSONFlag

        func run() async throws {
            await report(json: output.json, { () async throws(CLIError) in
                try await AgentAdminOperations.list(socketPath: socket.path)
            }, text: AgentAdminOperations.text)
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "Show one agent, with its selectors and why it is untrusted, if it is.")

        @Argument(help: ArgumentHelp("The agent's SPIFFE ID.", valueName: "SPIFFE-ID")) var spiffeID: String
        @OptionGroup var socket: AdminSocketOption
        @OptionGroup var output: JSONFlag

        func run() async throws {
            await report(json: output.json, { () async throws(CLIError) in
                try await AgentAdminOperations.show(spiffeID: spiffeID, socketPath: socket.path)
            }, text: AgentAdminOperations.text)
        }
    }

    struct Evict: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "evict",
            abstract: "Evict an agent: it must attest again, and everything it vouched for is revoked at once.")

        @Argument(help: ArgumentHelp("The agent's SPIFFE ID.", valueName: "SPIFFE-ID")) var spiffeID: String
        @Option(name: .long, help: "Why (recorded in the audit log and the revocations).") var reason: String?
        @OptionGroup var socket: AdminSocketOption
        @OptionGroup var output: JSONFlag

        func run() async throws {
            await report(json: output.json, { () async throws(CLIError) in
                try await AgentAdminOperations.evict(spiffeID: spiffeID, reason: reason, socketPath: socket.path)
            }, text: { "evicted \(spiffeID); revoked \($0.revoked) credential(s)\n" })
        }
    }
}

extension ServerCommand {
    struct TPM: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "tpm", abstract: "Enrol TPM nodes by their EK hash.", subcommands: [Allow.self, List.self, Remove.self])

        struct Allow: AsyncParsableCommand {
            static let configuration = CommandConfiguration(commandName: "allow",
                abstract: "Enrol a node's TPM: it may attest as spiffe://TD/agent/tpm/<ek-hash>.",
                discussion: """
                    Get the EK hash and PCR values on the node with `matryoshka agent tpm-info --tpm TCTI`. \\
                    With --pcr the node must quote exactly these values (at attestation and at every \\
                    continuous re-attestation); --label binds node selectors (e.g. region:eu) to the EK. \\
                    Enrolling a node again replaces its enrolment, and makes a node that failed continuous \\
                    attestation trusted again (it must then attest again).
                    """)

            @Option(name: .long, help: "SHA-256 hex of the EK public area.") var ekHash: String
            @Option(name: .long, help: ArgumentHelp("An expected SHA-256 PCR value (repeatable).", valueName: "INDEX:HEX")) var pcr: [String] = []
            @Option(name: .long, help: ArgumentHelp("A node label (repeatable).", valueName: "KEY:VALUE")) var label: [String] = []
            @OptionGroup var socket: AdminSocketOption
            @OptionGroup var output: JSONFlag

            func run() async throws {
                await report(json: output.json, { () async throws(CLIError) in
                    try await AgentAdminOperations.allowTPM(ekHash: ekHash, pcrs: pcr, labels: label, socketPath: socket.path)
                }, text: AgentAdminOperations.text)
            }
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(commandName: "list", abstract: "List the TPMs enrolled through the admin API.")

            @OptionGroup var socket: AdminSocketOption
            @OptionGroup var output: JSONFlag

            func run() async throws {
                await report(json: output.json, { () async throws(CLIError) in
                    try await AgentAdminOperations.listTPM(socketPath: socket.path)
                }, text: { $0.isEmpty ? "no TPM enrolments\n" : $0.map(AgentAdminOperations.text).joined() })
            }
        }

        struct Remove: AsyncParsableCommand {
            static let configuration = CommandConfiguration(commandName: "remove",
                abstract: "Remove a TPM enrolment (the node cannot attest again; evict it to end its current identity).")

            @Option(name: .long, help: "SHA-256 hex of the EK public area.") var ekHash: String
            @OptionGroup var socket: AdminSocketOption

            func run() async throws {
                await perform { () async throws(CLIError) in
                    try await AgentAdminOperations.removeTPM(ekHash: ekHash, socketPath: socket.path)
                }
            }
        }
    }
}
