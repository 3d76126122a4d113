import Agent
import Foundation
import Logging
import MatryoshkaAPI
import SPIFFE
import Server

/// `matryoshka quickstart`: a server and an agent in one process on embedded SQLite, a join
/// token redeemed, an entry for the current user, and what to try next.
public enum Quickstart {
    public struct Options: Sendable {
        public var dataDirectory: String?
        public var trustDomain: String = "example.org"
        /// Check that the current process gets its identity, print it, and exit.
        public var once = false

        public init() {}
    }

    public static func run(_ options: Options, logger: Logger) async throws(CLIError) {
        let directory = options.dataDirectory ?? Defaults.quickstartDirectory
        let trustDomain: TrustDomain
        do {
            trustDomain = try TrustDomain(options.trustDomain)
        } catch {
            throw CLIError("--trust-domain: \(error)")
        }
        let adminSocket = directory + "/server/admin.sock"
        let serverConfig = ServerConfig(
            trustDomain: trustDomain, dataDirectory: directory + "/server",
            bindAddress: HostAndPort(host: "127.0.0.1", port: 0), adminSocketPath: adminSocket)
        let server = MatryoshkaServer(config: serverConfig, logger: logger, metrics: ProcessMetrics.registry)
        do {
            try await Lifecycle.run(name: "quickstart", logger: logger) {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await server.run() }
                    try await server.waitUntilReady()
                    guard let port = await server.nodeAddress?.port else { throw CLIError("the server did not start") }
                    let setup = try await prepare(directory: directory, trustDomain: trustDomain, adminSocket: adminSocket)
                    let agent = MatryoshkaAgent(config: AgentConfig(
                        serverHost: "127.0.0.1", serverPort: port, trustDomain: trustDomain,
                        dataDirectory: directory + "/agent", socketPath: directory + "/agent/workload.sock",
                        bootstrapBundlePath: setup.bundlePath, joinToken: setup.joinToken), logger: logger, metrics: ProcessMetrics.registry)
                    group.addTask { try await agent.run() }
                    try await agent.waitUntilReady()
                    print(banner(directory: directory, trustDomain: trustDomain, setup: setup), terminator: "")
                    // Flushed now even when stdout is a pipe or a file (block-buffered): the process
                    // runs until stopped.
                    fflush(nil)
                    if options.once {
                        let report = try await WorkloadOperations.fetchX509(socket: directory + "/agent/workload.sock", writeDirectory: nil)
                        print("self-check: this process holds \(report.svids.map(\.spiffeID).joined(separator: ", "))")
                        group.cancelAll()
                        return
                    }
                    try await group.next()
                }
            }
        } catch let error as CLIError {
            throw error
        } catch {
            throw CLIError("\(error)")
        }
    }

    struct Setup: Sendable {
        var joinToken: String?
        var bundlePath: String
        var userID: SPIFFEID
        var uid: UInt32
    }

    /// Makes sure the node can attest (a join token when the agent has no identity yet) and the
    /// current user has an entry. Safe to repeat: a second run reuses what the first made.
    static func prepare(directory: String, trustDomain: TrustDomain, adminSocket: String) async throws -> Setup {
        let uid = getuid()
        let user = Self.userName(uid) ?? "uid-\(uid)"
        let nodeAlias = try SPIFFEID(trustDomain: trustDomain, path: "/quickstart/node")
        let userID = try SPIFFEID(trustDomain: trustDomain, segments: ["quickstart", "user", Self.pathSafe(user)])
        let bundlePath = directory + "/bundle.pem"
        try OutputFiles.write(try await ServerAdminOperations.bundle(format: .pem, socketPath: adminSocket), to: bundlePath, mode: 0o644)

        var token: String?
        let agentState = AgentStateStore(directory: directory + "/agent")
        let saved = try? agentState.load(trustDomain: trustDomain)
        if saved == nil || saved!.chain[0].notValidAfter <= Date().addingTimeInterval(30) {
            token = try await ServerAdminOperations.generateToken(alias: nodeAlias.description, ttl: "10m", socketPath: adminSocket).token
        }
        let existing = try await EntryOperations.list(spiffeID: userID.description, parentID: nodeAlias.description, socketPath: adminSocket)
        if existing.isEmpty {
            _ = try await EntryOperations.create(EntryOperations.CreateRequest(
                spiffeID: userID.description, parentID: nodeAlias.description, selectors: ["unix:uid:\(uid)"],
                audiences: []), socketPath: adminSocket)
        }
        return Setup(joinToken: token, bundlePath: bundlePath, userID: userID, uid: uid)
    }

    static func banner(directory: String, trustDomain: TrustDomain, setup: Setup) -> String {
        let socket = directory + "/agent/workload.sock"
        let admin = directory + "/server/admin.sock"
        return """

        Matryoshka quickstart is running (trust domain \(trustDomain)).

          Workload API socket  \(socket)
          Admin socket         \(admin)
          Trust bundle         \(setup.bundlePath)
          Your identity        \(setup.userID)  (any process of uid \(setup.uid))

        Try, in another terminal:
          export SPIFFE_ENDPOINT_SOCKET=unix://\(socket)
          export MATRYOSHKA_ADMIN_SOCKET=\(admin)
          matryoshka svid fetch --write /tmp/matryoshka-svid
          matryoshka svid verify --bundle /tmp/matryoshka-svid/bundle.pem /tmp/matryoshka-svid/svid.pem
          matryoshka jwt fetch --audience demo
          matryoshka entry list

        Press Ctrl-C to stop; running quickstart again reuses \(directory).

        """
    }

    static func userName(_ uid: uid_t) -> String? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getpwuid_r(uid, &entry, &buffer, buffer.count, &result) == 0, result != nil, let name = entry.pw_name else { return nil }
        return String(cString: name)
    }

    /// A user name as a SPIFFE ID path segment: characters outside `[a-zA-Z0-9.-_]` become `_`.
    static func pathSafe(_ name: String) -> String {
        let safe = String(name.unicodeScalars.map { scalar -> Character in
            switch scalar {
            case "a"..."z", "A"..."Z", "0"..."9", ".", "-", "_": return Character(scalar)
            default: return "_"
            }
        })
        return safe == "." || safe == ".." || safe.isEmpty ? "user" : safe
    }
}
