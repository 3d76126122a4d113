import ArgumentParser
import MatryoshkaCLI

struct EntryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "entry",
        abstract: "Registration entries: which workload, under which parent, gets which SPIFFE ID.",
        subcommands: [Create.self, List.self, Show.self, Delete.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "create",
            abstract: "Register a workload.",
            discussion: """
                A workload under --parent-id (an agent, a node alias or a nested layer) that has every \
                --selector gets --spiffe-id. Example:
                  matryoshka entry create --spiffe-id spiffe://example.org/web \\
                    --parent-id spiffe://example.org/node --selector unix:uid:1000

                With --node, the entry names a group of nodes instead: every agent whose node \
                proved all its --selector values (node labels such as region:eu, tpm:pcr:…, \
                x509pop:…) is also known by --spiffe-id, so workload entries with that parent are \
                served only on those nodes:
                  matryoshka entry create --node --spiffe-id spiffe://example.org/cluster/eu \\
                    --selector region:eu
                  matryoshka entry create --spiffe-id spiffe://example.org/payments \\
                    --parent-id spiffe://example.org/cluster/eu --selector unix:uid:1000
                """)

        @Option(name: .long, help: "The SPIFFE ID to issue.") var spiffeID: String
        @Option(name: .long, help: "The SPIFFE ID of the layer that may obtain it (agent, alias or nested layer).") var parentID: String?
        @Option(name: .long, help: ArgumentHelp("A selector the workload must have, type:value (repeatable).", valueName: "TYPE:VALUE")) var selector: [String] = []
        @Option(name: .long, help: ArgumentHelp("X509-SVID lifetime (default: the server's).", valueName: "DURATION")) var x509TTL: String?
        @Option(name: .long, help: ArgumentHelp("JWT-SVID lifetime (default: the server's).", valueName: "DURATION")) var jwtTTL: String?
        @Option(name: .long, help: ArgumentHelp("A DNS name for the X509-SVID (repeatable).", valueName: "NAME")) var dns: [String] = []
        @Option(name: .long, help: ArgumentHelp("A JWT audience the holder may ask for (repeatable; default any).", valueName: "AUDIENCE")) var audience: [String] = []
        @Flag(name: .long, help: "The holder may act as an agent for its own children.") var nested = false
        @Flag(name: .long, help: "A node entry: the group of nodes whose node selectors include every --selector (its parent is the server).") var node = false
        @OptionGroup var socket: AdminSocketOption
        @OptionGroup var output: JSONFlag

        func run() async throws {
            let request = EntryOperations.CreateRequest(
                spiffeID: spiffeID, parentID: parentID, selectors: selector, x509TTL: x509TTL, jwtTTL: jwtTTL,
                dnsNames: dns, audiences: audience, nested: nested, node: node)
            await report(json: output.json, { () async throws(CLIError) in
                try await EntryOperations.create(request, socketPath: socket.path)
            }, text: \.text)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List entries.")

        @Option(name: .long, help: "Only entries with this SPIFFE ID.") var spiffeID: String?
        @Option(name: .long, help: "Only entries with this parent ID.") var parentID: String?
        @OptionGroup var socket: AdminSocketOption
        @OptionGroup var output: JSONFlag

        func run() async throws {
            await report(json: output.json, { () async throws(CLIError) in
                try await EntryOperations.list(spiffeID: spiffeID, parentID: parentID, socketPath: socket.path)
            }, text: { entries in
                entries.isEmpty ? "no entries\n" : entries.map(\.text).joined(separator: "\n")
            })
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "Show one entry.")

        @Argument(help: "The entry ID.") var id: String
        @OptionGroup var socket: AdminSocketOption
        @OptionGroup var output: JSONFlag

        func run() async throws {
            await report(json: output.json, { () async throws(CLIError) in
                try await EntryOperations.show(id: id, socketPath: socket.path)
            }, text: \.text)
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete an entry; agents drop its SVIDs.")

        @Argument(help: "The entry ID.") var id: String
        @OptionGroup var socket: AdminSocketOption

        func run() async throws {
            await perform { () async throws(CLIError) in
                try await EntryOperations.delete(id: id, socketPath: socket.path)
                print("deleted \(id)")
            }
        }
    }
}
