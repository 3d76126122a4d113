import Foundation
import Testing

/// Restarts and crashes lose nothing: the datastore keeps entries, agents and the CA; the agent
/// keeps its identity on disk and serves cached SVIDs while the server is away.
@Suite("Restarts", .timeLimit(.minutes(2)))
struct RestartTests {
    @Test("server stop and restart: same CA and entries, the agent serves cached SVIDs meanwhile and reconnects")
    func serverRestart() async throws {
        try await Deployment.with { deployment in
            let agent = try await deployment.startServerAndAgent()
            let web = try await deployment.createEntry(spiffeID: deployment.id("/web"))
            try await deployment.waitForSVIDs([web.spiffeID], agent: agent)
            let bundleBefore = TestProcess.read(try await deployment.writeBundle(to: "bundle-before.pem"))
            let entriesBefore = try await deployment.entries()
            let jwtBefore = try await deployment.workload(["jwt", "fetch", "--audience", "cached"], agent: agent)
            expectSuccess(jwtBefore)

            // Server down: the agent says so and keeps serving what it holds.
            let mark = agent.process.mark()
            let stopped = await deployment.stopServer()
            #expect(stopped == .success, "the server should exit 0 on SIGTERM")
            try await agent.process.waitFor(line: "server unreachable; serving cached identities", after: mark)
            let cached = try await deployment.workload(["svid", "fetch", "--json"], agent: agent)
            expectSuccess(cached)
            #expect(cached.stdout.contains(web.spiffeID))
            // A JWT-SVID already held is served; a new one cannot be minted, and the error says why.
            let cachedJWT = try await deployment.workload(["jwt", "fetch", "--audience", "cached"], agent: agent)
            #expect(cachedJWT.output == jwtBefore.output, "\(cachedJWT)")
            expectError(try await deployment.workload(["jwt", "fetch", "--audience", "new"], agent: agent), "server is unreachable")
            let admin = try await deployment.admin(["entry", "list"])
            expectError(admin, "cannot reach the server's admin socket")

            // Server back on the same data dir and address: nothing lost, the agent reconnects.
            try await deployment.restartServer()
            try await agent.process.waitFor(line: "connected to server", after: mark, timeout: .seconds(45))
            #expect(TestProcess.read(try await deployment.writeBundle(to: "bundle-after.pem")) == bundleBefore, "the CA changed on restart")
            #expect(try await deployment.entries() == entriesBefore)
            // It serves again with the server: a new entry reaches the agent, a new JWT is minted.
            let api = try await deployment.createEntry(spiffeID: deployment.id("/api"))
            try await deployment.waitForSVIDs([web.spiffeID, api.spiffeID], agent: agent)
            expectSuccess(try await deployment.workload(["jwt", "fetch", "--audience", "new"], agent: agent))
        }
    }

    @Test("agent restart on its data dir: no join token, same identity, serves again")
    func agentRestart() async throws {
        try await Deployment.with { deployment in
            let agent = try await deployment.startServerAndAgent()
            let web = try await deployment.createEntry(spiffeID: deployment.id("/web"))
            try await deployment.waitForSVIDs([web.spiffeID], agent: agent)
            let keyMode = try FileManager.default.attributesOfItem(atPath: agent.dataDirectory + "/agent-key.pem")[.posixPermissions] as? Int
            #expect(keyMode == 0o600)

            // No --join-token and no --trust-bundle: everything comes from the data dir.
            let restarted = try await deployment.restartAgent(agent)
            #expect(restarted.agentID == agent.agentID)
            try await restarted.process.waitFor(line: "using saved agent identity")
            #expect(restarted.process.lines().contains { $0.contains("node attested") } == false)
            try await restarted.process.waitFor(line: "connected to server")
            try await deployment.waitForSVIDs([web.spiffeID], agent: restarted)
            let api = try await deployment.createEntry(spiffeID: deployment.id("/api"))
            try await deployment.waitForSVIDs([web.spiffeID, api.spiffeID], agent: restarted)

            // Its data dir is its identity: without it, it needs a token again.
            await restarted.process.terminate()
            try FileManager.default.removeItem(atPath: agent.dataDirectory)
            let fresh = try await deployment.runFailingAgent(agent.name, joinToken: nil)
            expectError(fresh, "no agent identity", "--join-token", logs: true)
        }
    }

    @Test("kill -9 of the server during entry creation and issuance: every acknowledged entry survives")
    func killDuringWrites() async throws {
        try await Deployment.with { deployment in
            let agent = try await deployment.startServerAndAgent()
            let uid = deployment.uid
            // Create entries one after another (each also makes the agent mint an SVID) and kill the
            // server while that goes on.
            let creator = Task { () -> [String] in
                var acknowledged: [String] = []
                for index in 0..<200 {
                    let result = try await deployment.admin([
                        "entry", "create", "--spiffe-id", deployment.id("/load/\(index)"), "--parent-id", deployment.nodeAlias,
                        "--selector", "unix:uid:\(uid)", "--json",
                    ], timeout: .seconds(30))
                    guard result.succeeded else { break }
                    acknowledged.append(try result.json(EntryRecord.self).id)
                }
                return acknowledged
            }
            let server = try #require(await deployment.server)
            try await server.waitFor(line: "/load/7", timeout: .seconds(60))
            await deployment.killServer()
            let acknowledged = try await creator.value
            // The eighth was stored when the server was killed; its acknowledgement may not have arrived.
            #expect(acknowledged.count >= 7, "\(acknowledged.count) entries acknowledged before the kill")
            #expect(acknowledged.count < 200, "the server was killed after the loop ended")

            // The datastore is intact and holds every acknowledged entry.
            let database = deployment.serverDataDirectory + "/datastore.sqlite3"
            if let sqlite = Tools.find("sqlite3") {
                let check = try await deployment.run(sqlite, [database, "PRAGMA integrity_check;"])
                expectSuccess(check)
                #expect(check.output == "ok")
            }
            let restarted = try await deployment.restartServer()
            #expect(restarted.isRunning)
            let entries = try await deployment.entries()
            let stored = Set(entries.map(\.id))
            let lost = acknowledged.filter { !stored.contains($0) }
            #expect(lost.isEmpty, "entries acknowledged but lost: \(lost)")
            // Nothing half-written: every stored load entry is complete.
            for entry in entries where entry.spiffeID.contains("/load/") {
                #expect(entry.selectors == ["unix:uid:\(uid)"] && entry.parentID == deployment.nodeAlias, "\(entry)")
            }
            // And issuance goes on: the agent reconnects and gets SVIDs for all of them.
            let ids = entries.filter { $0.spiffeID.contains("/load/") }.map(\.spiffeID)
            try await deployment.waitForSVIDs(ids, agent: agent, timeout: .seconds(60))
        }
    }
}
