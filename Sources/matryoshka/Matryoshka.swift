import ArgumentParser

@main
struct Matryoshka: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "matryoshka",
        abstract: "Recursive, hardware-rooted workload identity for nested workloads (SPIFFE-compatible).",
        discussion: """
            Every layer of a nested workload (node, pod, process, sub-task) gets its own short-lived \
            SPIFFE identity, vouched for by the layer around it. One binary is server, agent, nested \
            agent and command-line tool.

            Workload commands find their agent through --socket or SPIFFE_ENDPOINT_SOCKET; admin \
            commands find the server through --admin-socket or MATRYOSHKA_ADMIN_SOCKET.
            """,
        version: "0.1.0",
        subcommands: [
            QuickstartCommand.self, ServerCommand.self, AgentCommand.self, EntryCommand.self, SVIDCommand.self, JWTCommand.self, ExecCommand.self,
            LineageCommand.self, RevokeCommand.self, AuditCommand.self,
        ]
    )
}
