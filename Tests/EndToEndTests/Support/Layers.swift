import Authority
import Foundation
import SPIFFE
import X509

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Nested layers and what the tests ask of their credentials: nested agents, lineage reports,
/// serial numbers and the server's CRLs.
extension Deployment {
    /// Starts a nested agent (`agent run --parent-socket`) taking its identity from `parent`'s
    /// Workload API, and waits for "agent ready".
    ///
    /// - Parameters:
    ///   - spiffeID: which of the SVIDs the parent serves this process is the layer's (`--spiffe-id`;
    ///     default: the first).
    ///   - allowNonDescendants: also serve processes the agent did not start (the test's CLI
    ///     commands); off, it serves only its descendants.
    func startNestedAgent(
        _ name: String, parent: AgentHandle, spiffeID: String? = nil, allowNonDescendants: Bool = true, _ extra: [String] = []
    ) async throws -> AgentHandle {
        let process = try launch(name, nestedAgentArguments(name, parent: parent, spiffeID: spiffeID, allowNonDescendants: allowNonDescendants) + extra)
        let ready = try await process.waitFor(line: "agent ready", timeout: .seconds(60))
        let agentID = Self.value(of: "agent_id", in: ready) ?? ""
        return AgentHandle(name: name, process: process, socket: directory.file("\(name).sock"), dataDirectory: directory.file(name), agentID: agentID)
    }

    /// The arguments of ``startNestedAgent(_:parent:spiffeID:allowNonDescendants:_:)``.
    func nestedAgentArguments(_ name: String, parent: AgentHandle, spiffeID: String? = nil, allowNonDescendants: Bool = true) -> [String] {
        var arguments = [
            "agent", "run", "--parent-socket", parent.socketURI, "--socket", directory.file("\(name).sock"), "--server", serverAddress,
            "--data-dir", directory.file(name),
        ]
        if let spiffeID { arguments += ["--spiffe-id", spiffeID] }
        if allowNonDescendants { arguments.append("--allow-non-descendants") }
        return arguments
    }

    /// GET `path` on the server's HTTP endpoint.
    func httpGet(_ path: String) async throws -> [UInt8] {
        try await HTTP.get(httpBaseURL + path)
    }

    /// Writes the server's current CRLs (`GET /crl?format=pem`) to `name` and returns the path.
    func writeCRL(_ name: String = "crl.pem") async throws -> String {
        try directory.write(name, String(decoding: try await httpGet("/crl?format=pem"), as: UTF8.self))
    }
}

enum HTTP {
    /// GET `url`; the body, or an error for any status but 200.
    static func get(_ url: String) async throws -> [UInt8] {
        guard let target = URL(string: url) else { throw TestProcessError(description: "bad URL \(url)") }
        let (data, response) = try await URLSession.shared.data(from: target)
        guard let http = response as? HTTPURLResponse, http.statusCode == 200 else {
            throw TestProcessError(description: "GET \(url): \(response)")
        }
        return Array(data)
    }

    /// The CRLs at `GET <base>/crl?format=pem`.
    static func crls(_ base: String) async throws -> [CertificateRevocationList] {
        try CertificateRevocationList.parseAll(try await get(base + "/crl?format=pem"))
    }
}

extension Certificates {
    /// The leaf's serial number in the form the CLI and the CRL tools print (`hexString`).
    static func leafSerial(_ pemPath: String) throws -> String {
        guard let leaf = try read(pemPath).first else { throw TestProcessError(description: "no certificate in \(pemPath)") }
        return leaf.serialNumber.hexString
    }

    /// The leaf certificate of a PEM file.
    static func leaf(_ pemPath: String) throws -> Certificate {
        guard let leaf = try read(pemPath).first else { throw TestProcessError(description: "no certificate in \(pemPath)") }
        return leaf
    }
}

/// What `lineage show|verify --json` prints.
struct LineageReportJSON: Decodable, Sendable {
    struct Link: Decodable, Sendable {
        let spiffe_id: String
        let attestor: String
        let selectors: [String]
        let issued_at: Date
        let expires_at: Date
        let public_key: String?
        let previous_hash: String?
        let signature: String
    }

    let credential: String
    let spiffe_id: String
    let verified: Bool
    let links: [Link]

    var spiffeIDs: [String] { links.map(\.spiffe_id) }
}

/// A five-layer stack: the node agent, three nested agents (pod → runner → job) each taking its
/// identity from the one around it, and under the job a workload entry (`app`) and a wildcard
/// entry for exec'd tasks (`task/*`). Every entry is for this test's uid.
struct FiveLayerStack: Sendable {
    let node: AgentHandle
    let pod: AgentHandle
    let runner: AgentHandle
    let job: AgentHandle

    let podID: String
    let runnerID: String
    let jobID: String
    let appID: String
    /// The wildcard's prefix: tasks are `<taskPrefix>/<name>`.
    let taskPrefix: String

    /// The layers' SPIFFE IDs, outermost first, as an SVID issued to `leaf` lists them.
    func lineage(to leaf: String) -> [String] { [node.agentID, podID, runnerID, jobID, leaf] }

    /// Starts a server (with HTTP), the node agent and the three nested agents, with the entries.
    /// `extra` adds flags to the entry of a layer (`"pod"`, `"runner"`, `"job"`, `"app"`, `"task"`).
    static func start(_ deployment: Deployment, extra: [String: [String]] = [:]) async throws -> FiveLayerStack {
        let node = try await deployment.startServerAndAgent(http: true)
        let podID = deployment.id("/pod"), runnerID = deployment.id("/pod/runner"), jobID = deployment.id("/pod/runner/job")
        let appID = deployment.id("/pod/runner/job/app"), taskPrefix = deployment.id("/pod/runner/job/task")
        try await deployment.createEntry(spiffeID: podID, ["--nested"] + (extra["pod"] ?? []))
        try await deployment.createEntry(spiffeID: runnerID, parentID: podID, ["--nested"] + (extra["runner"] ?? []))
        try await deployment.createEntry(spiffeID: jobID, parentID: runnerID, ["--nested"] + (extra["job"] ?? []))
        try await deployment.createEntry(spiffeID: appID, parentID: jobID, extra["app"] ?? [])
        try await deployment.createEntry(spiffeID: taskPrefix + "/*", parentID: jobID, extra["task"] ?? [])
        try await deployment.waitForSVIDs([podID], agent: node)
        let pod = try await deployment.startNestedAgent("pod", parent: node)
        try await deployment.waitForSVIDs([runnerID], agent: pod)
        let runner = try await deployment.startNestedAgent("runner", parent: pod)
        try await deployment.waitForSVIDs([jobID], agent: runner)
        let job = try await deployment.startNestedAgent("job", parent: runner)
        try await deployment.waitForSVIDs([appID], agent: job)
        return FiveLayerStack(
            node: node, pod: pod, runner: runner, job: job, podID: podID, runnerID: runnerID, jobID: jobID, appID: appID, taskPrefix: taskPrefix)
    }
}
