import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Testing
import WorkloadAPI

/// Bad input is refused with one clear line and exit status 1, and nothing else is affected:
/// the server and agent keep working afterwards.
@Suite("Bad input", .timeLimit(.minutes(2)))
struct BadInputTests {
    struct Case: Sendable, CustomStringConvertible {
        let description: String
        let arguments: [String]
        let fragments: [String]
    }

    @Test("entry create refuses invalid SPIFFE IDs, selectors, trust domains, duplicates and unknown parents")
    func invalidEntries() async throws {
        try await Deployment.with { deployment in
            let agent = try await deployment.startServerAndAgent()
            let existing = try await deployment.createEntry(spiffeID: deployment.id("/existing"))
            let before = try await deployment.entries()
            let parent = deployment.nodeAlias
            let uid = "unix:uid:\(deployment.uid)"
            let cases: [Case] = [
                Case(description: "no scheme", arguments: ["--spiffe-id", "example.org/web", "--parent-id", parent, "--selector", uid],
                     fragments: ["--spiffe-id 'example.org/web'", "spiffe://"]),
                Case(description: "upper-case trust domain", arguments: ["--spiffe-id", "spiffe://Example.org/web", "--parent-id", parent, "--selector", uid],
                     fragments: ["--spiffe-id 'spiffe://Example.org/web'", "trust domain", "'E'"]),
                Case(description: "'..' segment", arguments: ["--spiffe-id", "spiffe://example.org/a/../b", "--parent-id", parent, "--selector", uid],
                     fragments: ["'..'"]),
                Case(description: "empty segment", arguments: ["--spiffe-id", "spiffe://example.org//web", "--parent-id", parent, "--selector", uid],
                     fragments: ["empty segments"]),
                Case(description: "trailing slash", arguments: ["--spiffe-id", "spiffe://example.org/web/", "--parent-id", parent, "--selector", uid],
                     fragments: ["must not end with '/'"]),
                Case(description: "invalid parent ID", arguments: ["--spiffe-id", "spiffe://example.org/web", "--parent-id", "node", "--selector", uid],
                     fragments: ["--parent-id 'node'"]),
                Case(description: "selector without colon", arguments: ["--spiffe-id", "spiffe://example.org/web", "--parent-id", parent, "--selector", "unixuid"],
                     fragments: ["--selector", "'unixuid'", "type:value"]),
                Case(description: "selector with empty value", arguments: ["--spiffe-id", "spiffe://example.org/web", "--parent-id", parent, "--selector", "unix:"],
                     fragments: ["--selector", "empty value"]),
                Case(description: "no selector", arguments: ["--spiffe-id", "spiffe://example.org/web", "--parent-id", parent],
                     fragments: ["at least one --selector"]),
                Case(description: "bad TTL", arguments: ["--spiffe-id", "spiffe://example.org/web", "--parent-id", parent, "--selector", uid, "--x509-ttl", "soon"],
                     fragments: ["--x509-ttl", "'soon' is not a duration"]),
                Case(description: "invalid DNS name", arguments: ["--spiffe-id", "spiffe://example.org/web", "--parent-id", parent, "--selector", uid, "--dns", "bad name"],
                     fragments: ["invalid DNS name 'bad name'"]),
                Case(description: "another trust domain", arguments: ["--spiffe-id", "spiffe://other.org/web", "--parent-id", parent, "--selector", uid],
                     fragments: ["spiffe://other.org/web is not in trust domain example.org"]),
                Case(description: "parent in another trust domain", arguments: ["--spiffe-id", "spiffe://example.org/web", "--parent-id", "spiffe://other.org/node", "--selector", uid],
                     fragments: ["parent ID spiffe://other.org/node is not in trust domain example.org"]),
                Case(description: "duplicate", arguments: ["--spiffe-id", existing.spiffeID, "--parent-id", parent, "--selector", uid],
                     fragments: ["already exists", existing.id]),
                Case(description: "unknown parent", arguments: ["--spiffe-id", "spiffe://example.org/web", "--parent-id", "spiffe://example.org/nobody", "--selector", uid],
                     fragments: ["unknown parent spiffe://example.org/nobody"]),
                Case(description: "own parent", arguments: ["--spiffe-id", parent, "--parent-id", parent, "--selector", uid],
                     fragments: ["cannot be its own parent"]),
                Case(description: "no parent", arguments: ["--spiffe-id", "spiffe://example.org/web", "--selector", uid],
                     fragments: ["--parent-id is required", "--node"]),
                Case(description: "node entry with a parent", arguments: ["--node", "--spiffe-id", "spiffe://example.org/eu", "--parent-id", parent, "--selector", "region:eu"],
                     fragments: ["--node and --parent-id exclude each other"]),
                Case(description: "nested node entry", arguments: ["--node", "--spiffe-id", "spiffe://example.org/eu", "--selector", "region:eu", "--nested"],
                     fragments: ["--node names a group of nodes and is never issued"]),
                Case(description: "wildcard node entry", arguments: ["--node", "--spiffe-id", "spiffe://example.org/eu/*", "--selector", "region:eu"],
                     fragments: ["--node names a group of nodes"]),
            ]
            for bad in cases {
                let result = try await deployment.admin(["entry", "create"] + bad.arguments)
                expectError(result, bad.fragments)
            }
            // Nothing was stored, and the server and agent work as before.
            #expect(try await deployment.entries() == before)
            let web = try await deployment.createEntry(spiffeID: deployment.id("/web"))
            try await deployment.waitForSVIDs([existing.spiffeID, web.spiffeID], agent: agent)
        }
    }

    @Test("a reused join token and an expired one are refused; the agent that redeemed it is unaffected")
    func joinTokens() async throws {
        try await Deployment.with { deployment in
            try await deployment.startServer()
            try await deployment.writeBundle()
            let token = try await deployment.token(alias: deployment.nodeAlias)
            let expiring = try await deployment.admin(["server", "token", "generate", "--ttl", "1s", "--json"])
            expectSuccess(expiring)
            struct Token: Decodable { let token: String; let expires_at: Date }
            let short = try expiring.json(Token.self)
            let agent = try await deployment.startAgent(joinToken: token)

            let reused = try await deployment.runFailingAgent("second", joinToken: token)
            expectError(reused, "join token was already used", logs: true)

            // Wait out the short token's lifetime (the clock is the condition here).
            let wait = short.expires_at.timeIntervalSinceNow + 1.1
            if wait > 0 { try await Task.sleep(for: .seconds(wait)) }
            let expired = try await deployment.runFailingAgent("third", joinToken: short.token)
            expectError(expired, "join token expired", logs: true)

            let garbage = try await deployment.runFailingAgent("fourth", joinToken: "not-a-token")
            expectError(garbage, "node attestation refused", logs: true)

            // The first agent still serves.
            #expect(agent.process.isRunning)
            let web = try await deployment.createEntry(spiffeID: deployment.id("/web"))
            try await deployment.waitForSVIDs([web.spiffeID], agent: agent)
        }
    }

    @Test("an agent given the wrong trust bundle refuses the server's certificate and says so", .enabled(if: Tools.openssl != nil, "needs openssl"))
    func wrongTrustBundle() async throws {
        try await Deployment.with { deployment in
            try await deployment.startServer()
            try await deployment.writeBundle()
            let token = try await deployment.token(alias: deployment.nodeAlias)
            // A CA for the same trust domain that is not the server's.
            let wrong = deployment.directory.file("wrong-bundle.pem")
            let made = try await deployment.run("openssl", [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", deployment.directory.file("wrong-key.pem"), "-out", wrong, "-days", "1", "-subj", "/CN=not the server CA",
                "-addext", "subjectAltName=URI:spiffe://example.org", "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            ])
            try #require(made.succeeded, "\(made)")

            let started = ContinuousClock.now
            let refused = try await deployment.runFailingAgent("misled", joinToken: token, trustBundle: wrong)
            expectError(refused, "cannot reach the server at \(await deployment.serverAddress)", "peer certificate refused", "does not chain", logs: true)
            #expect(ContinuousClock.now - started < .seconds(30), "a certificate problem is not retried like an outage")

            // The token was not spent on the refused server: the right bundle works with it.
            let agent = try await deployment.startAgent(joinToken: token)
            let web = try await deployment.createEntry(spiffeID: deployment.id("/web"))
            try await deployment.waitForSVIDs([web.spiffeID], agent: agent)
        }
    }

    @Test("agent run with missing, unreadable or mismatched x509pop files exits 1 saying which, before contacting the server", .enabled(if: Tools.openssl != nil, "needs openssl"))
    func badX509PoPFiles() async throws {
        try await Deployment.with { deployment in
            let agent = try await deployment.startServerAndAgent()
            let missing = deployment.directory.file("missing.pem")
            let key = deployment.directory.file("node-key.pem")
            let otherKey = deployment.directory.file("other-key.pem")
            let certificate = deployment.directory.file("node.pem")
            for (path, spec) in [(key, "rsa:2048"), (otherKey, "rsa:2048")] {
                let made = try await deployment.run("openssl", [
                    "req", "-x509", "-newkey", spec, "-nodes", "-keyout", path, "-out", path == key ? certificate : path + ".crt",
                    "-days", "1", "-subj", "/CN=node", "-addext", "keyUsage=critical,digitalSignature",
                ])
                try #require(made.succeeded, "\(made)")
            }
            let notPEM = try deployment.directory.write("garbage.pem", "not a certificate\n")
            let cases: [(String, [String], [String])] = [
                ("missing certificate", ["--x509pop-cert", missing, "--x509pop-key", key], ["--x509pop-cert \(missing): no such file"]),
                ("missing key", ["--x509pop-cert", certificate, "--x509pop-key", missing], ["--x509pop-key \(missing): no such file"]),
                ("certificate without key", ["--x509pop-cert", certificate], ["--x509pop-cert needs --x509pop-key"]),
                ("not PEM", ["--x509pop-cert", notPEM, "--x509pop-key", key], ["--x509pop-cert \(notPEM)", "no PEM CERTIFICATE"]),
                ("key of another certificate", ["--x509pop-cert", certificate, "--x509pop-key", otherKey],
                 ["--x509pop-key \(otherKey) does not match the certificate in --x509pop-cert \(certificate)"]),
                ("with a join token too", ["--x509pop-cert", certificate, "--x509pop-key", key, "--join-token", "t"], ["give one"]),
            ]
            for (index, bad) in cases.enumerated() {
                let result = try await deployment.runFailingAgent("bad-x509pop-\(index)", joinToken: nil, trustBundle: deployment.bundlePath, bad.1)
                expectError(result, bad.2)
                #expect(!result.stderr.contains("node attestation") && !result.stderr.contains("server not reachable"), "\(bad.0): nothing was sent to the server: \(result)")
            }
            // No harm: the server and the agent keep serving.
            #expect(agent.process.isRunning)
            let web = try await deployment.createEntry(spiffeID: deployment.id("/web"))
            try await deployment.waitForSVIDs([web.spiffeID], agent: agent)
        }
    }

    @Test("a second server on a node API address already in use exits 1 saying so; the first keeps serving")
    func nodeAddressInUse() async throws {
        try await Deployment.with { deployment in
            try await deployment.startServer()
            let second = try await deployment.cli([
                "server", "run", "--data-dir", deployment.directory.file("second-server"),
                "--trust-domain", deployment.trustDomain, "--bind", deployment.serverAddress,
            ])
            expectError(second, "Address already in use", logs: true)
            expectSuccess(try await deployment.admin(["entry", "list"]))
        }
    }

    @Test("a caller matching no entry gets PermissionDenied with a clear message, and the refusal is audited on the server")
    func noMatchingEntry() async throws {
        try await Deployment.with { deployment in
            let agent = try await deployment.startServerAndAgent()
            let otherUID = deployment.uid == 4242 ? 4243 : 4242
            try await deployment.createEntry(spiffeID: deployment.id("/someone-else"), selectors: ["unix:uid:\(otherUID)"])

            let denied = try await deployment.workload(["svid", "fetch"], agent: agent)
            expectError(denied, "permission denied", "no registration entry matches this workload (uid \(deployment.uid)")
            let deniedJWT = try await deployment.workload(["jwt", "fetch", "--audience", "a"], agent: agent)
            expectError(deniedJWT, "permission denied", "no registration entry matches this workload")

            // Now this uid has an entry; another user still does not get it.
            let mine = try await deployment.createEntry(spiffeID: deployment.id("/mine"))
            try await deployment.waitForSVIDs([mine.spiffeID], agent: agent)
            if Tools.canSwitchUser {
                let nobody = try await deployment.workload(["svid", "fetch"], agent: agent, asUser: 65534)
                expectError(nobody, "permission denied", "(uid 65534")
                let nobodyJWT = try await deployment.workload(["jwt", "fetch", "--audience", "a"], agent: agent, asUser: 65534)
                expectError(nobodyJWT, "permission denied", "(uid 65534")
            }
            let allowed = try await deployment.workload(["svid", "fetch"], agent: agent)
            expectSuccess(allowed)
            #expect(allowed.stdoutLines.first == mine.spiffeID)

            // The agent reports both decisions to the server's audit log, as their actor: the
            // refusal with the caller's uid and pid, the served fetch with the identity.
            let uid = "\(deployment.uid)"
            try await eventually("workload attestation records in the audit log", timeout: .seconds(15), interval: .milliseconds(300)) {
                let lines = try AuditTests.lines(try await deployment.admin(["audit", "show", "--json"]))
                let refused = lines.contains {
                    $0.kind == "workload.attest.failed" && $0.actor == agent.agentID && $0.details["uid"] == uid
                        && $0.details["outcome"] == "no_match" && $0.details["evidence_sha256"]?.count == 64 && $0.details["pid"] != nil
                }
                let served = lines.contains {
                    $0.kind == "workload.attest" && $0.actor == agent.agentID && $0.subject == mine.spiffeID && $0.details["call"] == "x509"
                        && ($0.details["executable"] ?? "").hasSuffix("matryoshka")
                }
                return refused && served ? true : nil
            }
        }
    }

    @Test("an oversized Workload API request gets ResourceExhausted with a message; the agent keeps serving")
    func oversizedMessage() async throws {
        try await Deployment.with { deployment in
            let agent = try await deployment.startServerAndAgent()
            let web = try await deployment.createEntry(spiffeID: deployment.id("/web"))
            try await deployment.waitForSVIDs([web.spiffeID], agent: agent)

            let transport = try HTTP2ClientTransport.Posix(target: .unixDomainSocket(path: agent.socket), transportSecurity: .plaintext)
            try await withGRPCClient(transport: transport) { client in
                let api = Workload_SpiffeWorkloadAPI.Client(wrapping: client)
                var request = Workload_JWTSVIDRequest()
                request.audience = [String(repeating: "a", count: 5 * 1024 * 1024)]
                let error = await #expect(throws: RPCError.self) {
                    try await api.fetchJWTSVID(request, metadata: ["workload.spiffe.io": "true"])
                }
                #expect(error?.code == .resourceExhausted, "\(String(describing: error))")
                #expect(error?.message.contains("exceeds the Workload API limit") == true, "\(String(describing: error))")

                // The same connection still serves normal requests.
                var normal = Workload_JWTSVIDRequest()
                normal.audience = ["after"]
                let response = try await api.fetchJWTSVID(normal, metadata: ["workload.spiffe.io": "true"])
                #expect(response.svids.first?.spiffeID == web.spiffeID)
            }
            #expect(agent.process.isRunning)
            expectSuccess(try await deployment.workload(["svid", "fetch"], agent: agent))
        }
    }

    @Test("a JWT audience the entry does not allow is refused; other identities and allowed audiences are served")
    func disallowedAudience() async throws {
        try await Deployment.with { deployment in
            let agent = try await deployment.startServerAndAgent()
            let restricted = try await deployment.createEntry(spiffeID: deployment.id("/restricted"), ["--audience", "spiffe://example.org/db"])
            #expect(restricted.audiences == ["spiffe://example.org/db"])
            try await deployment.waitForSVIDs([restricted.spiffeID], agent: agent)

            let refused = try await deployment.workload(["jwt", "fetch", "--audience", "spiffe://example.org/other"], agent: agent)
            // The message names the audience, the entry and what it allows.
            expectError(refused, "permission denied", "audience spiffe://example.org/other", restricted.spiffeID, "(spiffe://example.org/db)")
            let allowed = try await deployment.workload(["jwt", "fetch", "--audience", "spiffe://example.org/db", "--json"], agent: agent)
            expectSuccess(allowed)

            // With a second, unrestricted identity the caller gets the JWT-SVIDs it may have; asking
            // for the restricted one by name is still refused.
            let open = try await deployment.createEntry(spiffeID: deployment.id("/open"))
            try await deployment.waitForSVIDs([restricted.spiffeID, open.spiffeID], agent: agent)
            let other = try await deployment.workload(["jwt", "fetch", "--audience", "spiffe://example.org/other", "--json"], agent: agent)
            expectSuccess(other)
            #expect(other.stdout.contains("\"spiffe_id\":\"\(open.spiffeID)\""), "\(other)")
            let named = try await deployment.workload(
                ["jwt", "fetch", "--audience", "spiffe://example.org/other", "--spiffe-id", restricted.spiffeID], agent: agent)
            expectError(named, "audience spiffe://example.org/other", restricted.spiffeID)
        }
    }
}
