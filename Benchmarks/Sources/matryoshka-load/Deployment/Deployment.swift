import Foundation
import WorkloadAPI

/// One load run's Matryoshka world: a temp directory, a server and agents as real processes of
/// the `matryoshka` binary on loopback, and the admin API to drive them.
///
/// ``with(binary:root:_:)`` stops everything it started (SIGTERM, then SIGKILL) and removes the
/// directory, also when the body throws.
actor Deployment {
    let binary: String
    let directory: WorkDirectory
    let trustDomain = "example.org"
    let uid = getuid()

    private(set) var server: ChildProcess?
    private(set) var serverPort = 0
    private(set) var httpPort = 0
    private var processes: [ChildProcess] = []
    private var commandCount = 0

    init(binary: String, root: String) throws {
        self.binary = binary
        directory = try WorkDirectory(root: root)
        try directory.subdirectory("logs")
    }

    static func with<T: Sendable>(binary: String, root: String, _ body: (Deployment) async throws -> T) async throws -> T {
        let deployment = try Deployment(binary: binary, root: root)
        do {
            let result = try await body(deployment)
            await deployment.tearDown()
            return result
        } catch {
            let logs = await deployment.logSummary()
            await deployment.tearDown()
            throw LoadError.unexpected("\(error)\n\nprocess output:\n\(logs)")
        }
    }

    // MARK: Paths

    nonisolated var logDirectory: String { directory.file("logs") }
    nonisolated var serverDataDirectory: String { directory.file("server") }
    nonisolated var adminSocket: String { serverDataDirectory + "/admin.sock" }
    nonisolated var bundlePath: String { directory.file("bundle.pem") }
    nonisolated func id(_ path: String) -> String { "spiffe://\(trustDomain)\(path)" }
    var serverAddress: String { "127.0.0.1:\(serverPort)" }
    var metricsURL: URL? { URL(string: "http://127.0.0.1:\(httpPort)/metrics") }

    // MARK: Server

    /// Starts `server run` (with HTTP) on `dataDirectory` (default: the deployment's) and waits for
    /// "server ready"; returns how long that took from the spawn.
    @discardableResult
    func startServer(dataDirectory: String? = nil, _ extra: [String] = [], timeout: Duration = .seconds(120)) async throws -> Duration {
        for attempt in 1...3 {
            if serverPort == 0 {
                serverPort = try FreePort.allocate()
                httpPort = try FreePort.allocate()
            }
            let arguments = [
                "server", "run", "--data-dir", dataDirectory ?? serverDataDirectory, "--trust-domain", trustDomain,
                "--bind", serverAddress, "--http", "127.0.0.1:\(httpPort)",
            ] + extra
            let started = ContinuousClock.now
            let process = try launch("server", arguments)
            server = process
            do {
                try await process.waitFor(line: "server ready", timeout: timeout)
                return ContinuousClock.now - started
            } catch {
                guard process.stderr.localizedCaseInsensitiveContains("address already in use"), attempt < 3 else { throw error }
                serverPort = 0
            }
        }
        throw LoadError.cannotStart("the server did not start")
    }

    func stopServer() async {
        guard let server else { return }
        self.server = nil
        await server.terminate()
    }

    /// Writes the trust bundle (`server bundle show`) for agents' `--trust-bundle`.
    func writeBundle() async throws {
        let output = try await cli(["server", "bundle", "show", "--admin-socket", adminSocket])
        try output.write(toFile: bundlePath, atomically: true, encoding: .utf8)
    }

    // MARK: Agents

    /// A join token for `alias` (entries may name the alias as their parent from now on).
    func joinToken(alias: String) async throws -> String {
        try await AdminConnection.with(socket: adminSocket) { admin in try await admin.joinToken(alias: alias) }
    }

    /// Starts a node agent redeeming `token` (default: a fresh one for `alias`) and waits for "agent ready".
    func startAgent(_ name: String, alias: String, token given: String? = nil, _ extra: [String] = []) async throws -> AgentHandle {
        let token = if let given { given } else { try await joinToken(alias: alias) }
        let socket = directory.file("\(name).sock")
        let arguments = [
            "agent", "run", "--server", serverAddress, "--socket", socket, "--data-dir", directory.file(name),
            "--join-token", token, "--trust-bundle", bundlePath,
        ] + extra
        return try await launchAgent(name, arguments, socket: socket)
    }

    /// Starts a nested agent taking its identity from `parent`'s Workload API.
    func startNestedAgent(_ name: String, parent: AgentHandle, spiffeID: String? = nil) async throws -> AgentHandle {
        let socket = directory.file("\(name).sock")
        var arguments = [
            "agent", "run", "--parent-socket", parent.socketURI, "--socket", socket, "--server", serverAddress,
            "--data-dir", directory.file(name), "--allow-non-descendants",
        ]
        if let spiffeID { arguments += ["--spiffe-id", spiffeID] }
        return try await launchAgent(name, arguments, socket: socket)
    }

    private func launchAgent(_ name: String, _ arguments: [String], socket: String) async throws -> AgentHandle {
        let process = try launch(name, arguments)
        let ready = try await process.waitFor(line: "agent ready", timeout: .seconds(120))
        let agentID = Self.value(of: "agent_id", in: ready) ?? ""
        return AgentHandle(name: name, process: process, socket: socket, agentID: agentID)
    }

    // MARK: Workloads

    /// Waits until `agent` serves this process at least `count` X509-SVIDs (of which all of
    /// `including`), and returns how many it served.
    @discardableResult
    nonisolated func waitForSVIDs(count: Int = 1, including: [String] = [], agent: AgentHandle, timeout: Duration = .seconds(120)) async throws -> Int {
        let address = try WorkloadAPIAddress(agent.socket)
        return try await eventually("\(count) X509-SVIDs from \(agent.name)", timeout: timeout, interval: .milliseconds(20)) {
            let set = try await WorkloadAPIClient.withClient(address: address, configuration: .init(maxReceiveMessageSize: 64 << 20)) { client in
                try await client.fetchX509Context()
            }
            let served = Set(set.svids.map(\.spiffeID))
            return set.svids.count >= count && including.allSatisfy(served.contains) ? set.svids.count : nil
        }
    }

    // MARK: Processes

    /// Runs the binary with `arguments` to completion and returns its stdout; fails on a non-zero exit.
    func cli(_ arguments: [String], timeout: Duration = .seconds(60)) async throws -> String {
        commandCount += 1
        let process = try ChildProcess(
            name: String(format: "cmd-%03d", commandCount), executable: binary, arguments: arguments,
            environment: childEnvironment, logDirectory: logDirectory)
        let exit = try await process.waitForExit(timeout: timeout)
        guard exit == "status 0" else { throw LoadError.commandFailed(command: process.commandLine, output: process.tail()) }
        return process.stdout
    }

    /// Starts a long-running process that ``tearDown()`` stops.
    func launch(_ label: String, _ arguments: [String], executable: String? = nil, environment: [String: String] = [:]) throws -> ChildProcess {
        var name = label
        var suffix = 1
        while processes.contains(where: { $0.name == name }) {
            suffix += 1
            name = "\(label)-\(suffix)"
        }
        let process = try ChildProcess(
            name: name, executable: executable ?? binary, arguments: arguments,
            environment: childEnvironment.merging(environment) { $1 }, logDirectory: logDirectory)
        processes.append(process)
        return process
    }

    /// This process's environment without what would point the children at another server or
    /// agent, and with a private MATRYOSHKA_HOME.
    var childEnvironment: [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["SPIFFE_ENDPOINT_SOCKET"] = nil
        environment["MATRYOSHKA_ADMIN_SOCKET"] = nil
        environment["MATRYOSHKA_SERVER"] = nil
        environment["MATRYOSHKA_HOME"] = directory.file("home")
        return environment
    }

    // MARK: Teardown

    func tearDown() async {
        let running = processes.filter(\.isRunning)
        processes.removeAll()
        server = nil
        await withTaskGroup(of: Void.self) { group in
            for process in running { group.addTask { await process.terminate(grace: .seconds(5)) } }
        }
        directory.remove()
    }

    func logSummary() -> String {
        processes.map { $0.tail(30) }.joined(separator: "\n")
    }

    /// `key=value` from a log line.
    static func value(of key: String, in line: String) -> String? {
        guard let range = line.range(of: "\(key)=") else { return nil }
        return String(line[range.upperBound...].prefix { $0 != " " })
    }
}
