import Foundation
import Testing

/// The audit trail of a 4-layer run — node agent, pod (nested agent), CI runner (a workload of
/// the pod that execs), the runner's tasks — read back with `audit show` and checked with `audit verify`, through the server
/// and offline on the database file.
@Suite("Audit trail", .timeLimit(.minutes(4)))
struct AuditTests {
    /// One line of `audit show --json`.
    struct Line: Decodable {
        let sequence: Int64
        let time: String
        let kind: String
        let actor: String
        let subject: String
        let details: [String: String]
        let previous_hash: String
        let hash: String
    }

    /// `audit verify --json`.
    struct Verification: Decodable {
        struct Problem: Decodable { let sequence: Int64; let message: String }
        let records: Int
        let lastSequence: Int64
        let lastSignedSequence: Int64
        let unsignedRecords: Int
        let anchored: Bool
        let problem: Problem?

        enum CodingKeys: String, CodingKey {
            case records, lastSequence = "last_sequence", lastSignedSequence = "last_signed_sequence"
            case unsignedRecords = "unsigned_records", anchored, problem
        }
    }

    static func lines(_ result: CommandResult) throws -> [Line] {
        try result.stdout.split(separator: "\n").map { try JSONDecoder().decode(Line.self, from: Data($0.utf8)) }
    }

    /// A nested agent taking its identity from `parent`, serving processes it did not start.
    static func nestedAgent(_ name: String, parent: AgentHandle, _ deployment: Deployment) async throws -> AgentHandle {
        let directory = deployment.directory
        let process = try await deployment.launch(name, [
            "agent", "run", "--parent-socket", parent.socketURI, "--socket", directory.file("\(name).sock"),
            "--server", await deployment.serverAddress, "--data-dir", directory.file(name), "--allow-non-descendants",
        ])
        let ready = try await process.waitFor(line: "agent ready", timeout: .seconds(60))
        return AgentHandle(
            name: name, process: process, socket: directory.file("\(name).sock"), dataDirectory: directory.file(name),
            agentID: Deployment.value(of: "agent_id", in: ready) ?? "")
    }

    @Test("audit show reconstructs each sub-task's chain through four layers; audit verify passes online and offline, and names an edited record")
    func fourLayers() async throws {
        try await Deployment.with { deployment in
            let node = try await deployment.startServerAndAgent(["--audit-sign-interval", "1h"])
            let pod = deployment.id("/pod"), runner = deployment.id("/ci/runner")
            try await deployment.createEntry(spiffeID: pod, ["--nested"])
            try await deployment.createEntry(spiffeID: runner, parentID: pod, ["--nested"])
            try await deployment.createEntry(spiffeID: deployment.id("/ci/runner/task/*"), parentID: runner)
            try await deployment.waitForSVIDs([pod], agent: node)
            let podAgent = try await Self.nestedAgent("pod", parent: node, deployment)
            // The runner is the layer this test's CLI takes on from the pod's agent: its `exec`
            // vouches for each sub-task.
            try await deployment.waitForSVIDs([runner], agent: podAgent)
            let server = await deployment.serverAddress

            // Two sub-tasks, each with its own identity for the life of its process.
            var taskSerials: [String: String] = [:]
            for number in 1...2 {
                let task = deployment.id("/ci/runner/task/\(number)")
                let out = deployment.directory.file("task\(number)")
                expectSuccess(try await deployment.cli([
                    "exec", "--spiffe-id", task, "--socket", podAgent.socket, "--server", server,
                    "--", deployment.binary, "svid", "fetch", "--write", out,
                ]))
                taskSerials[task] = try Certificates.leafSerial(out + "/svid.pem")
            }

            // The runner's subtree: each task's issuance, with its chain, TTL and who asked.
            let show = try await deployment.admin(["audit", "show", "--spiffe-id", runner, "--subtree", "--json"])
            try #require(expectSuccess(show))
            let lines = try Self.lines(show)
            for (task, serial) in taskSerials {
                let issue = try #require(lines.first { $0.kind == "svid.issue" && $0.subject == task }, "no issuance of \(task) in \(show.stdout)")
                #expect(issue.details["serial"] == serial)
                #expect(issue.actor == runner, "requested by the runner layer")
                #expect(issue.details["requested_by"] == runner)
                let chain = issue.details["lineage"]?.components(separatedBy: " > ") ?? []
                #expect(chain == [node.agentID, pod, runner, task], "\(chain)")
                #expect(Int(issue.details["ttl_seconds"] ?? "") ?? 0 > 0)
                #expect(issue.details["lineage_layers"]?.contains("\"attestor\"") == true)
                // The exec'd task's credential was revoked when it exited.
                #expect(lines.contains { $0.kind == "revoke" && ($0.details["serials"] ?? "").contains(serial) }, "no revocation of \(serial)")
            }
            #expect(!lines.contains { $0.subject == deployment.id("/elsewhere") })
            // Records are in order and chained.
            #expect(zip(lines, lines.dropFirst()).allSatisfy { $0.sequence < $1.sequence })

            // Readable form.
            let text = try await deployment.admin(["audit", "show", "--spiffe-id", deployment.id("/ci/runner/task/1")])
            expectSuccess(text)
            #expect(text.stdout.contains("svid.issue") && text.stdout.contains("lineage:") && text.stdout.contains("└ \(runner)"), "\(text.stdout)")
            // Not a subtree member: only its own records.
            let only = try Self.lines(try await deployment.admin(["audit", "show", "--spiffe-id", pod, "--json"]))
            #expect(!only.contains { $0.subject == deployment.id("/ci/runner/task/1") })

            // Verify through the server; then stop it (it signs the head on the way out) and verify
            // the file offline, anchored in the trust bundle.
            let online = try await deployment.admin(["audit", "verify", "--json"])
            try #require(expectSuccess(online))
            let report = try online.json(Verification.self)
            #expect(report.problem == nil)
            #expect(report.anchored)

            let database = deployment.serverDataDirectory + "/datastore.sqlite3"
            #expect(await deployment.stopServer() == .success)
            let offline = try await deployment.cli(["audit", "verify", "--database", database, "--bundle", deployment.bundlePath, "--json"])
            try #require(expectSuccess(offline))
            let sealed = try offline.json(Verification.self)
            #expect(sealed.problem == nil)
            #expect(sealed.unsignedRecords == 0, "the shutdown signing covers every record")
            #expect(sealed.lastSignedSequence == sealed.lastSequence)

            // An edit with sqlite3: named, exit 1.
            let victim = try #require(lines.first { $0.kind == "svid.issue" }).sequence
            let edit = try await deployment.run("sqlite3", [database, "UPDATE audit_log SET subject = 'spiffe://example.org/innocent' WHERE sequence = \(victim)"])
            try #require(expectSuccess(edit))
            let tampered = try await deployment.cli(["audit", "verify", "--database", database, "--bundle", deployment.bundlePath])
            #expect(tampered.exit != .success)
            #expect(tampered.stdout.contains("first bad record \(victim)"), "\(tampered)")

            // Truncation of the newest records: caught by the signed head.
            let truncate = try await deployment.run("sqlite3", [database, "DELETE FROM audit_log WHERE sequence > \(sealed.lastSequence - 2)"])
            try #require(expectSuccess(truncate))
            let truncated = try await deployment.cli(["audit", "verify", "--database", database, "--json"])
            #expect(truncated.exit != .success)
            let truncatedReport = try truncated.json(Verification.self)
            #expect(truncatedReport.problem?.sequence == victim, "the edit is still the first bad record")
        }
    }
}
