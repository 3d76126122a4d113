import Foundation
import SPIFFE
import WorkloadAPI

/// One test's Matryoshka world: a temp directory, a server and agents as real processes of the
/// `matryoshka` binary on loopback ports, and the CLI to drive them.
///
/// ```swift
/// try await Deployment.with { deployment in
///     let agent = try await deployment.startServerAndAgent()
///     try await deployment.createEntry(spiffeID: "spiffe://example.org/web")
///     let result = try await deployment.workload(["svid", "fetch"], agent: agent)
/// }
/// ```
///
/// Everything it starts is stopped when ``with(trustDomain:_:)`` returns or throws (SIGTERM,
/// then SIGKILL), and the directory is removed. Every wait is bounded.
actor Deployment {
    let directory: TestDirectory
    let binary: String
    let trustDomain: String
    /// The uid of this test process; entries for it match the CLI commands the test runs.
    let uid: UInt32 = getuid()

    private(set) var server: TestProcess?
    private(set) var serverPort: Int?
    private(set) var httpPort: Int?
    /// The extra arguments of the last server start, reused by ``restartServer()``.
    private var serverArguments: [String] = []
    private var serverUsesHTTP = false
    private var longRunning: [TestProcess] = []
    private var commandCount = 0

    init(trustDomain: String) throws {
        binary = try Binary.require()
        directory = try TestDirectory()
        self.trustDomain = trustDomain
        _ = try directory.subdirectory("logs")
    }

    /// Runs `body` with a fresh deployment, then stops everything it started and removes its
    /// directory, also when `body` throws (then the error carries the servers' and agents' output).
    static func with<T: Sendable>(trustDomain: String = "example.org", _ body: (Deployment) async throws -> T) async throws -> T {
        let deployment = try Deployment(trustDomain: trustDomain)
        do {
            let result = try await body(deployment)
            await deployment.tearDown()
            return result
        } catch {
            let logs = await deployment.logSummary()
            await deployment.tearDown()
            throw DeploymentFailure(error: error, logs: logs)
        }
    }

    // MARK: Paths

    nonisolated var logDirectory: String { directory.file("logs") }
    nonisolated var serverDataDirectory: String { directory.file("server") }
    nonisolated var adminSocket: String { serverDataDirectory + "/admin.sock" }
    nonisolated var bundlePath: String { directory.file("bundle.pem") }
    var serverAddress: String { "127.0.0.1:\(serverPort ?? 0)" }
    var httpBaseURL: String { "http://127.0.0.1:\(httpPort ?? 0)" }

    /// The alias the default agent's join token gives its node; entries name it as their parent.
    nonisolated var nodeAlias: String { "spiffe://\(trustDomain)/node" }

    nonisolated func id(_ path: String) -> String { "spiffe://\(trustDomain)\(path)" }

    // MARK: Server

    /// Starts `matryoshka server run` on the deployment's data directory and waits for
    /// "server ready".
    ///
    /// - Parameters:
    ///   - arguments: extra flags (TTLs, `--config`).
    ///   - http: also serve HTTP (`/health`, `/bundle`, `/metrics`) on a free port.
    ///   - standardFlags: pass `--trust-domain` and `--bind` (off when a config file gives them;
    ///     then call ``reservePorts(http:)`` first to know the port).
    @discardableResult
    func startServer(_ arguments: [String] = [], http: Bool = false, standardFlags: Bool = true) async throws -> TestProcess {
        serverArguments = arguments
        serverUsesHTTP = http
        let firstStart = serverPort == nil
        for attempt in 1...3 {
            if serverPort == nil || (http && httpPort == nil) { try reservePorts(http: http) }
            var flags = ["server", "run", "--data-dir", serverDataDirectory]
            if standardFlags {
                flags += ["--trust-domain", trustDomain, "--bind", serverAddress]
                if http { flags += ["--http", "127.0.0.1:\(httpPort ?? 0)"] }
            }
            let process = try launch("server", flags + arguments)
            server = process
            do {
                try await process.waitFor(line: "server ready", timeout: .seconds(60))
                return process
            } catch {
                // A port handed out by the kernel may have been taken since: pick new ones, but only
                // on a first start (a restart must come back on the same address).
                let inUse = process.stderr.localizedCaseInsensitiveContains("address already in use")
                guard inUse, firstStart, standardFlags, attempt < 3 else { throw error }
                serverPort = nil
                httpPort = nil
            }
        }
        throw TestProcessError(description: "the server did not start")
    }

    /// Picks free loopback ports for the node API (and HTTP).
    func reservePorts(http: Bool = false) throws {
        serverPort = try FreePort.allocate()
        if http { httpPort = try FreePort.allocate() }
    }

    /// Stops the server with SIGTERM and returns how it ended.
    @discardableResult
    func stopServer() async -> ProcessExit? {
        guard let server else { return nil }
        self.server = nil
        return await server.terminate()
    }

    /// Kills the server with SIGKILL (a crash: no shutdown code runs).
    func killServer() async {
        guard let server else { return }
        self.server = nil
        await server.kill9()
    }

    /// Starts the server again on the same data directory, address and flags.
    @discardableResult
    func restartServer() async throws -> TestProcess {
        try await startServer(serverArguments, http: serverUsesHTTP)
    }

    // MARK: Admin

    /// Runs an admin command against the server's admin socket.
    func admin(_ arguments: [String], timeout: Duration = .seconds(60)) async throws -> CommandResult {
        try await cli(arguments + ["--admin-socket", adminSocket], timeout: timeout)
    }

    /// A join token (`server token generate`), by default for ``nodeAlias``.
    func token(alias: String? = nil, ttl: String? = nil) async throws -> String {
        var arguments = ["server", "token", "generate"]
        if let alias { arguments += ["--spiffe-id", alias] }
        if let ttl { arguments += ["--ttl", ttl] }
        let result = try await admin(arguments)
        guard result.succeeded, !result.output.isEmpty, !result.output.contains("\n") else {
            throw TestProcessError(description: "token generate failed: \(result)")
        }
        return result.output
    }

    /// Writes the trust bundle (`server bundle show`) to `name` in the test directory.
    @discardableResult
    func writeBundle(format: String = "pem", to name: String = "bundle.pem") async throws -> String {
        let result = try await admin(["server", "bundle", "show", "--format", format])
        guard result.succeeded else { throw TestProcessError(description: "bundle show failed: \(result)") }
        return try directory.write(name, result.stdout)
    }

    /// Creates an entry (`entry create --json`); by default for this test's uid under ``nodeAlias``.
    @discardableResult
    func createEntry(
        spiffeID: String, parentID: String? = nil, selectors: [String]? = nil, _ extra: [String] = []
    ) async throws -> EntryRecord {
        var arguments = ["entry", "create", "--spiffe-id", spiffeID, "--parent-id", parentID ?? nodeAlias]
        for selector in selectors ?? ["unix:uid:\(uid)"] { arguments += ["--selector", selector] }
        let result = try await admin(arguments + extra + ["--json"])
        guard result.succeeded else { throw TestProcessError(description: "entry create failed: \(result)") }
        return try result.json(EntryRecord.self)
    }

    /// All entries (`entry list --json`).
    func entries() async throws -> [EntryRecord] {
        let result = try await admin(["entry", "list", "--json"])
        guard result.succeeded else { throw TestProcessError(description: "entry list failed: \(result)") }
        return try result.json([EntryRecord].self)
    }

    // MARK: Agents

    /// Starts `matryoshka agent run` with its own data directory and socket in the test directory,
    /// and waits for "agent ready".
    ///
    /// - Parameters:
    ///   - name: names the socket (`<dir>/<name>.sock`), data directory and log files.
    ///   - joinToken: for the first start; nil to restart on a saved identity.
    ///   - trustBundle: `--trust-bundle` (default: the written bundle when there is a token).
    func startAgent(
        _ name: String = "agent", joinToken: String?, trustBundle: String? = nil, _ extra: [String] = []
    ) async throws -> AgentHandle {
        let process = try launch(name, agentArguments(name, joinToken: joinToken, trustBundle: trustBundle) + extra)
        let ready = try await process.waitFor(line: "agent ready", timeout: .seconds(60))
        guard let agentID = Self.value(of: "agent_id", in: ready) else {
            throw TestProcessError(description: "no agent_id in '\(ready)'")
        }
        return AgentHandle(
            name: name, process: process, socket: directory.file("\(name).sock"),
            dataDirectory: directory.file(name), agentID: agentID)
    }

    /// Runs `agent run` expecting it to give up (a refused token, an untrusted server): returns
    /// its result once it exits.
    func runFailingAgent(_ name: String, joinToken: String?, trustBundle: String? = nil, _ extra: [String] = []) async throws -> CommandResult {
        try await command(name, binary, agentArguments(name, joinToken: joinToken, trustBundle: trustBundle) + extra, timeout: .seconds(90))
    }

    private func agentArguments(_ name: String, joinToken: String?, trustBundle: String?) -> [String] {
        var arguments = ["agent", "run", "--server", serverAddress, "--socket", directory.file("\(name).sock"), "--data-dir", directory.file(name)]
        if let joinToken { arguments += ["--join-token", joinToken] }
        if let bundle = trustBundle ?? (joinToken != nil ? bundlePath : nil) { arguments += ["--trust-bundle", bundle] }
        return arguments
    }

    /// Restarts an agent on its data directory (SIGTERM, then a start without a join token).
    func restartAgent(_ agent: AgentHandle, _ extra: [String] = []) async throws -> AgentHandle {
        let exit = await agent.process.terminate()
        guard exit == .success else { throw TestProcessError(description: "the agent did not stop cleanly (\(exit))\n\(agent.process.tail())") }
        return try await startAgent(agent.name, joinToken: nil, extra)
    }

    /// The usual set-up: a server, a join token for ``nodeAlias``, the bundle, and an agent.
    func startServerAndAgent(_ serverArguments: [String] = [], http: Bool = false) async throws -> AgentHandle {
        try await startServer(serverArguments, http: http)
        let token = try await token(alias: nodeAlias)
        try await writeBundle()
        return try await startAgent(joinToken: token)
    }

    // MARK: Workloads

    /// Runs a workload command against an agent's socket (as this test's uid, or `uid`).
    func workload(_ arguments: [String], agent: AgentHandle, asUser uid: UInt32? = nil) async throws -> CommandResult {
        try await cli(arguments + ["--socket", agent.socket], asUser: uid)
    }

    /// Waits until the agent serves this process X509-SVIDs for all of `spiffeIDs` (entries
    /// reach the agent asynchronously) and returns what it served.
    @discardableResult
    func waitForSVIDs(_ spiffeIDs: [String], agent: AgentHandle, timeout: Duration = .seconds(30)) async throws -> X509SVIDSet {
        let address = try WorkloadAPIAddress(agent.socket)
        return try await eventually("X509-SVIDs for \(spiffeIDs.joined(separator: ", ")) from \(agent.name)", timeout: timeout) {
            let set = try await WorkloadAPIClient.withClient(address: address) { client in try await client.fetchX509Context() }
            let served = Set(set.svids.map(\.spiffeID))
            return spiffeIDs.allSatisfy(served.contains) ? set : nil
        }
    }

    // MARK: Running commands

    /// Runs the `matryoshka` binary with `arguments` to completion (at most `timeout`), as this
    /// test's uid or, through `setpriv`, as `uid`.
    func cli(_ arguments: [String], timeout: Duration = .seconds(60), asUser uid: UInt32? = nil) async throws -> CommandResult {
        let label = "cli-" + arguments.prefix(2).joined(separator: "-")
        guard let uid else { return try await command(label, binary, arguments, timeout: timeout) }
        guard let setpriv = Tools.setpriv, getuid() == 0 else {
            throw TestProcessError(description: "running as uid \(uid) needs root and setpriv")
        }
        // CAP_DAC_READ_SEARCH only lets the user reach the binary wherever the build is; it does
        // not change what the agent sees (the uid) or what the socket allows.
        let switchUser = [
            "--reuid=\(uid)", "--regid=\(uid)", "--clear-groups",
            "--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search", binary,
        ]
        return try await command(label + "-as-\(uid)", setpriv, switchUser + arguments, timeout: timeout)
    }

    /// Runs a Python helper script from `Tests/EndToEndTests/python/`.
    func python(_ script: String, _ arguments: [String], timeout: Duration = .seconds(90)) async throws -> CommandResult {
        guard let interpreter = Python.interpreter else { throw TestProcessError(description: "python3 is not on PATH") }
        return try await command("python-" + script, interpreter, [Python.script(script)] + arguments, timeout: timeout)
    }

    /// Runs any executable (a path, or a name on PATH) to completion.
    func run(_ executable: String, _ arguments: [String], timeout: Duration = .seconds(60)) async throws -> CommandResult {
        guard let path = Tools.find(executable) else { throw TestProcessError(description: "\(executable) is not on PATH") }
        return try await command((executable as NSString).lastPathComponent, path, arguments, timeout: timeout)
    }

    private func command(_ label: String, _ executable: String, _ arguments: [String], timeout: Duration) async throws -> CommandResult {
        commandCount += 1
        let name = String(format: "%03d-", commandCount) + label.filter { $0.isLetter || $0.isNumber || $0 == "-" }
        let process = try TestProcess(
            name: name, executable: executable, arguments: arguments, environment: childEnvironment, logDirectory: logDirectory)
        let exit: ProcessExit
        do {
            exit = try await process.waitForExit(timeout: timeout)
        } catch {
            await process.terminate(grace: .seconds(2))
            throw error
        }
        return CommandResult(
            command: ([executable] + arguments).map { $0.count > 100 ? String($0.prefix(97)) + "..." : $0 }.joined(separator: " "),
            exit: exit, stdout: process.stdout, stderr: process.stderr)
    }

    /// Starts a long-running process that ``tearDown()`` will stop. Names are made unique
    /// (`server`, `server-2`, …), so each start keeps its own output files.
    func launch(_ label: String, _ arguments: [String], executable: String? = nil) throws -> TestProcess {
        var name = label
        var suffix = 1
        while longRunning.contains(where: { $0.name == name }) {
            suffix += 1
            name = "\(label)-\(suffix)"
        }
        let process = try TestProcess(
            name: name, executable: executable ?? binary, arguments: arguments, environment: childEnvironment, logDirectory: logDirectory)
        longRunning.append(process)
        return process
    }

    /// The environment of every child: this process's, without the variables that would point
    /// commands at some other server or agent, and with a private `MATRYOSHKA_HOME`.
    private var childEnvironment: [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["SPIFFE_ENDPOINT_SOCKET"] = nil
        environment["MATRYOSHKA_ADMIN_SOCKET"] = nil
        environment["MATRYOSHKA_HOME"] = directory.file("home")
        return environment
    }

    // MARK: Teardown

    /// Stops every long-running process (all at once: SIGTERM, SIGKILL after a grace period) and
    /// removes the directory.
    func tearDown() async {
        let processes = longRunning
        longRunning.removeAll()
        server = nil
        await withTaskGroup(of: Void.self) { group in
            for process in processes where process.isRunning {
                group.addTask { await process.terminate(grace: .seconds(5)) }
            }
        }
        directory.remove()
    }

    /// The end of every long-running process's output.
    func logSummary() -> String {
        longRunning.map { $0.tail(40) }.joined(separator: "\n")
    }

    /// `key=value` from a log line (values end at a space).
    static func value(of key: String, in line: String) -> String? {
        guard let range = line.range(of: "\(key)=") else { return nil }
        return String(line[range.upperBound...].prefix { $0 != " " })
    }
}

/// An agent started by a ``Deployment``.
struct AgentHandle: Sendable {
    let name: String
    let process: TestProcess
    /// The Workload API socket (an absolute path).
    let socket: String
    let dataDirectory: String
    /// Its SPIFFE ID, from the "agent ready" line.
    let agentID: String

    var socketURI: String { "unix://" + socket }
}

/// An entry as `entry create|list|show --json` prints it.
struct EntryRecord: Decodable, Sendable, Hashable {
    let id: String
    let spiffeID: String
    let parentID: String
    let selectors: [String]
    let x509SVIDTTL: Int
    let jwtSVIDTTL: Int
    let dnsNames: [String]
    let audiences: [String]
    let nested: Bool

    enum CodingKeys: String, CodingKey {
        case id, spiffeID = "spiffe_id", parentID = "parent_id", selectors, x509SVIDTTL = "x509_svid_ttl"
        case jwtSVIDTTL = "jwt_svid_ttl", dnsNames = "dns_names", audiences, nested
    }
}

/// A test failure inside a deployment, with the output of its servers and agents.
struct DeploymentFailure: Error, CustomStringConvertible {
    let error: any Error
    let logs: String

    var description: String { "\(error)\n\nprocess output:\n\(logs)" }
}
