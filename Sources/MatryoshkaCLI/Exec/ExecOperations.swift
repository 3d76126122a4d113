import Agent
import Foundation
import Logging
import MatryoshkaAPI
import SPIFFE
import Server
import WorkloadAPI

/// `matryoshka exec`.
public enum ExecOperations {
    public struct Options: Sendable {
        public var spiffeID: String
        public var ttl: String?
        public var socket: String?
        public var server: String?
        public var parentID: String?
        public var command: [String]

        public init(spiffeID: String, ttl: String?, socket: String?, server: String?, parentID: String? = nil, command: [String]) {
            self.parentID = parentID
            self.spiffeID = spiffeID
            self.ttl = ttl
            self.socket = socket
            self.server = server
            self.command = command
        }
    }

    /// Runs the command as a child identity and returns its exit status.
    public static func run(_ options: Options, logger: Logger, environment: [String: String] = ProcessInfo.processInfo.environment) async throws(CLIError) -> Int32 {
        let spiffeID = try EntryOperations.CreateRequest.id(options.spiffeID, flag: "--spiffe-id")
        if let parentID = options.parentID { _ = try EntryOperations.CreateRequest.id(parentID, flag: "--parent-id") }
        guard !options.command.isEmpty else { throw CLIError("no command given: matryoshka exec --spiffe-id ID -- COMMAND [ARGS…]") }
        let ttl = try ServerRunner.duration(options.ttl, name: "--ttl")
        let socket: WorkloadAPIAddress
        do {
            socket = try WorkloadAPIAddress.resolve(options.socket, environment: environment)
        } catch {
            throw CLIError("\(error) (use --socket or set SPIFFE_ENDPOINT_SOCKET)")
        }
        guard let serverText = options.server ?? environment[AgentRunner.serverEnvironmentVariable] else {
            throw CLIError("--server HOST:PORT is required (or set \(AgentRunner.serverEnvironmentVariable))")
        }
        let server: HostAndPort
        do {
            server = try HostAndPort(serverText)
        } catch {
            throw CLIError("--server: \(error.message)")
        }
        var childEnvironment = environment
        childEnvironment[AgentRunner.serverEnvironmentVariable] = server.description
        let session = ExecSession(options: ExecSession.Options(
            spiffeID: spiffeID, ttl: ttl, parentSocket: socket, parentID: options.parentID, serverHost: server.host, serverPort: server.port,
            command: options.command, environment: childEnvironment), logger: logger)
        do {
            return try await session.run()
        } catch {
            throw CLIError("\(error)")
        }
    }
}
