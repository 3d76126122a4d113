import ArgumentParser
import Foundation
import MatryoshkaCLI

struct ExecCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec",
        abstract: "Run a command as an ephemeral child identity of this process's own identity.",
        discussion: """
            Takes this process's SVID from its Workload API (--socket or SPIFFE_ENDPOINT_SOCKET), obtains \
            --spiffe-id for the command from the server (an entry with this identity as parent, e.g. a \
            wildcard spiffe://td/ci/runner/task/*; this identity's entry must be --nested), serves it on \
            a private socket to the command only (SPIFFE_ENDPOINT_SOCKET is set in its environment), \
            revokes it when the command exits, and exits with the command's status. The child's \
            lifetime (--ttl, default the entry's) never exceeds this identity's remaining lifetime.

              matryoshka exec --spiffe-id spiffe://example.org/ci/runner/task/1234 -- make all
            """)

    @Option(name: .long, help: "The child's SPIFFE ID.") var spiffeID: String
    @Option(name: .long, help: ArgumentHelp("The child's lifetime (default: the entry's X509 TTL).", valueName: "DURATION")) var ttl: String?
    @OptionGroup var socket: WorkloadSocketOption
    @Option(name: .long, help: ArgumentHelp("The server's node API (default $MATRYOSHKA_SERVER).", valueName: "HOST:PORT")) var server: String?
    @Option(name: .long, help: "Which of this process's identities vouches for the child (default: the nearest ancestor of --spiffe-id, else the default identity).") var parentID: String?
    @Option(name: .long, help: "Log level for exec's own messages.") var logLevel: String = "warning"
    @Argument(parsing: .postTerminator, help: ArgumentHelp("The command and its arguments, after --.", valueName: "COMMAND")) var command: [String] = []

    func run() async throws {
        let logger = LogOptions(logLevel: logLevel).bootstrap(label: "matryoshka.exec")
        let options = ExecOperations.Options(spiffeID: spiffeID, ttl: ttl, socket: socket.socket, server: server, parentID: parentID, command: command)
        do {
            let status = try await ExecOperations.run(options, logger: logger)
            Foundation.exit(status)
        } catch {
            fail(error)
        }
    }
}
