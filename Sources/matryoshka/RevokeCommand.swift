import ArgumentParser
import MatryoshkaCLI

struct RevokeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke",
        abstract: "Revoke credentials before they expire: by serial number, by SPIFFE ID, or a whole node.",
        discussion: """
            Revoked X509-SVIDs go into the CA's CRL (GET /crl on the server's HTTP endpoint, and the \
            Workload API crl fields); agents are told at once, stop serving them and re-issue to \
            workloads still entitled. Exactly one of:

              --serial N         one credential (X509-SVID serial or JWT-SVID token ID, hex); with \
            --subtree also every credential whose lineage passes through its key
              --spiffe-id ID     every unexpired credential with this ID; with --subtree also every \
            credential whose lineage passes through a layer with this ID
              --node ID          an agent (or its node alias): it is evicted and its SVIDs and \
            everything it vouched for are revoked

              matryoshka revoke --spiffe-id spiffe://example.org/ci/runner --subtree --reason compromised
            """)

    @Option(name: .long, help: ArgumentHelp("The serial number (hex) of an X509-SVID, or a JWT-SVID's token ID.", valueName: "N"))
    var serial: String?
    @Option(name: .long, help: "Revoke every unexpired credential with this SPIFFE ID.") var spiffeID: String?
    @Option(name: .long, help: ArgumentHelp("Evict this agent and revoke everything it vouched for.", valueName: "ID")) var node: String?
    @Flag(name: .long, help: "Also revoke every descendant (with --serial or --spiffe-id).") var subtree = false
    @Option(name: .long, help: ArgumentHelp("Why, for the audit log.", valueName: "TEXT")) var reason: String?
    @OptionGroup var socket: AdminSocketOption
    @OptionGroup var output: JSONFlag

    func run() async throws {
        let request = RevokeOperations.Request(serial: serial, spiffeID: spiffeID, node: node, subtree: subtree, reason: reason)
        await report(json: output.json, { () async throws(CLIError) in
            try await RevokeOperations.revoke(request, socketPath: socket.path)
        }, text: \.text)
    }
}
