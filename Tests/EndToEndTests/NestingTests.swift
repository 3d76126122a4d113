import Foundation
import Testing
import X509

/// Recursive identity with real processes: a node agent and three nested agents, each taking its
/// identity from the Workload API of the layer around it, so a workload or an exec'd task five
/// layers down holds an SVID whose lineage names every layer, in order, each vouched for by the
/// one around it — and that plain SPIFFE verifiers still accept. Children never get more lifetime
/// or audiences than the layers above them.
@Suite("Nesting", .timeLimit(.minutes(3)))
struct NestingTests {
    /// The lineage extension's OID (not DESIGN.md's `2.25.…` form, which Go's and swift-asn1's
    /// parsers cannot read: see docs/decisions.md).
    static let lineageOID = "1.2.840.113556.1.8000.2554.8768.25982.23187.19540.42859.10827560.3949345.1"

    @Test("five layers: the innermost X509-SVID and JWT-SVID carry every layer in order, lineage verify checks each hop, openssl accepts the SVID, and no layer outlives the one around it")
    func fiveLayers() async throws {
        try await Deployment.with { deployment in
            // Entries ask for more than their parents have: the pod and runner for 2 h under a
            // node agent whose SVID lives 1 h, the app for 2 h under a job that lives 20 min.
            let stack = try await FiveLayerStack.start(deployment, extra: [
                "pod": ["--x509-ttl", "2h"], "runner": ["--x509-ttl", "2h"], "job": ["--x509-ttl", "20m"], "app": ["--x509-ttl", "2h"],
            ])
            // Each layer's own SVID, from the Workload API of the layer around it.
            var written: [String: String] = [:]
            for (name, agent) in [("pod", stack.node), ("runner", stack.pod), ("job", stack.runner), ("app", stack.job)] {
                let directory = deployment.directory.file("svid-" + name)
                expectSuccess(try await deployment.workload(["svid", "fetch", "--write", directory], agent: agent))
                written[name] = directory + "/svid.pem"
            }
            let app = try #require(written["app"])

            // The lineage, outermost first: the node agent (attested by join token), then each
            // nested layer attested by the one around it with the entry's selectors.
            let shown = try await deployment.cli(["lineage", "show", "--json", app])
            expectSuccess(shown)
            let lineage = try shown.json(LineageReportJSON.self)
            #expect(lineage.spiffeIDs == stack.lineage(to: stack.appID), "\(lineage.spiffeIDs)")
            #expect(!lineage.verified && lineage.credential == "x509-svid")
            #expect(lineage.links.first?.attestor == "join_token" && lineage.links.first?.previous_hash == nil)
            for link in lineage.links.dropFirst() {
                #expect(link.attestor == "unix" && link.selectors.contains("unix:uid:\(deployment.uid)"), "\(link)")
                #expect(link.previous_hash != nil && link.public_key != nil)
            }
            // Each layer's own lineage is the start of the app's: the same signed links.
            for (depth, name) in ["pod", "runner", "job"].enumerated() {
                let own = try await deployment.cli(["lineage", "show", "--json", try #require(written[name])])
                let links = try own.json(LineageReportJSON.self).links
                #expect(links.map(\.signature) == lineage.links.prefix(depth + 2).map(\.signature), "\(name)'s lineage is not a prefix of the app's")
            }

            // Offline, every hop; and plain SPIFFE verifiers accept the SVID (the extension is
            // not critical).
            let verified = try await deployment.cli(["lineage", "verify", "--bundle", deployment.bundlePath, app])
            expectSuccess(verified)
            #expect(verified.stdoutLines.first == "lineage verified: 5 hops", "\(verified)")
            let verifiedJSON = try await deployment.cli(["lineage", "verify", "--json", "--bundle", deployment.bundlePath, app])
            #expect(try verifiedJSON.json(LineageReportJSON.self).verified)
            expectSuccess(try await deployment.cli(["svid", "verify", "--bundle", deployment.bundlePath, app]))
            if let openssl = Tools.openssl {
                let accepted = try await deployment.run(openssl, ["verify", "-CAfile", deployment.bundlePath, app])
                expectSuccess(accepted)
                #expect(accepted.output == "\(app): OK")
                let text = try await deployment.run(openssl, ["x509", "-in", app, "-noout", "-text"])
                let extensionLine = text.stdoutLines.first { $0.contains(Self.lineageOID) }
                #expect(extensionLine != nil && extensionLine?.contains("critical") == false, "\(text)")
            } else {
                Issue.record("openssl is not installed; the independent X.509 check did not run")
            }

            // Scope-down: no certificate outlives the one around it (the node agent's SVID is the
            // first link), whatever the entries asked for.
            let certificates = try ["pod", "runner", "job", "app"].map { try Certificates.leaf(written[$0] ?? "") }
            let nodeExpiry = try #require(lineage.links.first?.expires_at)
            var outer = nodeExpiry
            for (name, certificate) in zip(["pod", "runner", "job", "app"], certificates) {
                #expect(certificate.notValidAfter <= outer, "\(name)'s SVID (until \(certificate.notValidAfter)) outlives its parent (until \(outer))")
                outer = certificate.notValidAfter
            }
            #expect(Certificates.lifetime(certificates[0]) <= 3600 + 60, "the pod asked for 2 h under a 1 h node agent")
            #expect(Certificates.lifetime(certificates[3]) <= 20 * 60 + 60, "the app asked for 2 h under a 20 min job")
            for (link, next) in zip(lineage.links, lineage.links.dropFirst()) {
                #expect(next.expires_at <= link.expires_at && next.issued_at >= link.issued_at.addingTimeInterval(-60))
            }

            // The JWT-SVID of the same workload: `lineage` claim and RFC 8693 `act`, verified offline.
            // (The wildcard entry beside the app's matches it too, but is no identity of its own:
            // it neither shows up in its X.509 set nor spoils its JWT-SVIDs.)
            let listed = try await deployment.workload(["svid", "fetch"], agent: stack.job)
            expectSuccess(listed)
            #expect(listed.stdout.contains(stack.appID) && !listed.stdout.contains(stack.taskPrefix), "\(listed)")
            let audience = deployment.id("/db")
            let jwt = try await deployment.workload(["jwt", "fetch", "--audience", audience], agent: stack.job)
            expectSuccess(jwt)
            let spiffeBundle = try await deployment.writeBundle(format: "spiffe", to: "bundle.json")
            let jwtVerified = try await deployment.cli(["lineage", "verify", "--bundle", spiffeBundle, "--audience", audience, jwt.output])
            expectSuccess(jwtVerified)
            #expect(jwtVerified.stdoutLines.first == "lineage verified: 5 hops", "\(jwtVerified)")
            let jwtLineage = try (try await deployment.cli(["lineage", "show", "--json", jwt.output])).json(LineageReportJSON.self)
            #expect(jwtLineage.spiffeIDs == stack.lineage(to: stack.appID) && jwtLineage.credential == "jwt-svid")
            #expect(jwtLineage.links.last?.public_key == nil, "a JWT-SVID's own link has no key")
            let claims = try Self.jwtClaims(jwt.output)
            #expect(Self.actChain(claims) == [stack.jobID, stack.runnerID, stack.podID, stack.node.agentID], "\(claims)")
            expectSuccess(try await deployment.cli(["jwt", "verify", "--bundle", spiffeBundle, "--audience", audience, jwt.output]))
        }
    }

    @Test("exec five layers down: the wildcard entry lets the parent name each task, the child gets SPIFFE_ENDPOINT_SOCKET and its SVID, exec exits with the child's status, and the child's SVID is revoked afterwards")
    func execAtDepthFive() async throws {
        try await Deployment.with { deployment in
            let stack = try await FiveLayerStack.start(deployment)
            let server = await deployment.serverAddress
            let work = try deployment.directory.subdirectory("work")
            // The child records its socket and fetches its SVID, then exits with the status given.
            let script = #""$0" svid fetch --write "$1/$2" > "$1/$2.out" 2>&1 || exit 90; echo "$SPIFFE_ENDPOINT_SOCKET" > "$1/$2.socket"; exit "$3""#
            // The job layer runs exec: its own SVID comes from the runner's Workload API.
            func exec(_ task: String, status: Int, _ extra: [String] = []) async throws -> CommandResult {
                try await deployment.cli([
                    "exec", "--spiffe-id", stack.taskPrefix + "/" + task, "--socket", stack.runner.socket, "--server", server,
                ] + extra + ["--", "/bin/sh", "-c", script, deployment.binary, work, task, String(status)])
            }

            let first = try await exec("build-1234", status: 7)
            #expect(first.status == 7, "exec exits with the child's status: \(first)")
            let socket = TestProcess.read(work + "/build-1234.socket").trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(socket.hasPrefix("unix:///") && socket != stack.runner.socketURI && socket != stack.job.socketURI, "\(socket)")
            #expect(!FileManager.default.fileExists(atPath: String(socket.dropFirst("unix://".count))), "the private socket is removed")
            #expect(TestProcess.read(work + "/build-1234.out").hasPrefix(stack.taskPrefix + "/build-1234\n"))
            let svid = work + "/build-1234/svid.pem"

            // The task is the fifth layer, vouched for by the job through exec.
            let verified = try await deployment.cli(["lineage", "verify", "--json", "--bundle", deployment.bundlePath, svid])
            expectSuccess(verified)
            let lineage = try verified.json(LineageReportJSON.self)
            #expect(lineage.verified && lineage.spiffeIDs == stack.lineage(to: stack.taskPrefix + "/build-1234"), "\(lineage.spiffeIDs)")
            #expect(lineage.links.last?.attestor == "exec" && lineage.links.last?.selectors.contains(where: { $0.hasPrefix("exec:path:/") }) == true,
                    "\(String(describing: lineage.links.last))")
            let jobSVID = deployment.directory.file("job-svid")
            expectSuccess(try await deployment.workload(["svid", "fetch", "--write", jobSVID], agent: stack.runner))
            #expect(try Certificates.leaf(svid).notValidAfter <= (try Certificates.leaf(jobSVID + "/svid.pem")).notValidAfter, "the task outlives the job")

            // A second task under the same registration, with the name the parent chose; and
            // other exit statuses, a signal included, come back as exec's own.
            let second = try await exec("lint-1", status: 0)
            expectSuccess(second)
            #expect(!second.stderr.contains("the child's SVID was revoked"), "exec revokes its child's SVID on exit without warning about its own revocation: \(second)")
            #expect(TestProcess.read(work + "/lint-1.out").hasPrefix(stack.taskPrefix + "/lint-1\n"))
            #expect(try await deployment.entries().filter { $0.spiffeID.hasPrefix(stack.taskPrefix) }.count == 1, "one registration for every task")
            let killed = try await deployment.cli([
                "exec", "--spiffe-id", stack.taskPrefix + "/killed", "--socket", stack.runner.socket, "--server", server,
                "--", "/bin/sh", "-c", "kill -KILL $$",
            ])
            #expect(killed.status == 128 + SIGKILL, "\(killed)")

            // Names the wildcard does not grant are refused before anything runs.
            for name in [stack.taskPrefix + "/a/b", stack.jobID + "/other", stack.taskPrefix] {
                let refused = try await deployment.cli([
                    "exec", "--spiffe-id", name, "--socket", stack.runner.socket, "--server", server, "--", "/usr/bin/touch", work + "/ran",
                ])
                expectError(refused, "no entry with parent \(stack.jobID) grants \(name)")
            }
            #expect(!FileManager.default.fileExists(atPath: work + "/ran"))

            // Once the child has exited its SVID is revoked: the server's CRL lists it, and
            // openssl and svid verify refuse it.
            let serial = try Certificates.leafSerial(svid)
            try await eventually("the exec'd task's serial in the CRL", timeout: .seconds(10)) {
                try await HTTP.crls(await deployment.httpBaseURL).contains { $0.entries.contains { $0.serialNumber.hexString == serial } } ? true : nil
            }
            let crl = try await deployment.writeCRL()
            if let openssl = Tools.openssl {
                let refused = try await deployment.run(openssl, ["verify", "-crl_check", "-CRLfile", crl, "-CAfile", deployment.bundlePath, svid])
                #expect(!refused.succeeded && (refused.stdout + refused.stderr).contains("certificate revoked"), "\(refused)")
            }
            expectError(try await deployment.cli(["svid", "verify", "--bundle", deployment.bundlePath, "--crl", crl, svid]), "was revoked at")
        }
    }

    @Test("scope-down of audiences: a child gets no JWT audience outside its parent's, nor outside any layer's above it")
    func audiencesNarrowDown() async throws {
        try await Deployment.with { deployment in
            let node = try await deployment.startServerAndAgent()
            let pod = deployment.id("/pod"), runner = deployment.id("/pod/runner"), step = deployment.id("/pod/runner/step")
            let allowed = deployment.id("/db"), other = deployment.id("/payments")
            // The pod may use one audience; the runner's own entry sets none.
            try await deployment.createEntry(spiffeID: pod, ["--nested", "--audience", allowed])
            try await deployment.createEntry(spiffeID: runner, parentID: pod, ["--nested"])
            try await deployment.createEntry(spiffeID: step, parentID: runner)
            try await deployment.waitForSVIDs([pod], agent: node)
            let podAgent = try await deployment.startNestedAgent("pod", parent: node)
            try await deployment.waitForSVIDs([runner], agent: podAgent)
            let runnerAgent = try await deployment.startNestedAgent("runner", parent: podAgent)
            try await deployment.waitForSVIDs([step], agent: runnerAgent)

            // The runner (the pod's child) and the step (its grandchild) get the pod's audience.
            for agent in [podAgent, runnerAgent] {
                let jwt = try await deployment.workload(["jwt", "fetch", "--audience", allowed], agent: agent)
                expectSuccess(jwt)
            }
            // A wider one is refused for both, naming the layer whose limit it crosses.
            let child = try await deployment.workload(["jwt", "fetch", "--audience", other], agent: podAgent)
            expectError(child, "audience \(other) is wider than the parent \(pod) allows (\(allowed))")
            let grandchild = try await deployment.workload(["jwt", "fetch", "--audience", allowed, "--audience", other], agent: runnerAgent)
            expectError(grandchild, "audience \(other) is wider than the ancestor layer \(pod) allows (\(allowed))")
            let server = try #require(await deployment.server)
            try await server.waitFor(line: "reason=audience \(other) is wider than the ancestor layer \(pod)", timeout: .seconds(10))
            #expect(server.lines().contains { $0.contains("warning") && $0.contains("refused SVID request") && $0.contains("caller=\(runner)") })
        }
    }

    // MARK: Helpers

    /// The claims of a JWT (not verified).
    static func jwtClaims(_ token: String) throws -> [String: Any] {
        let parts = token.split(separator: ".")
        guard parts.count == 3 else { throw TestProcessError(description: "not a JWT: \(token)") }
        var payload = parts[1].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        payload += String(repeating: "=", count: (4 - payload.count % 4) % 4)
        guard let data = Data(base64Encoded: payload),
              let claims = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { throw TestProcessError(description: "unreadable JWT payload: \(token)") }
        return claims
    }

    /// The `act.sub`, `act.act.sub`, … chain of a JWT's claims, nearest first.
    static func actChain(_ claims: [String: Any]) -> [String] {
        var chain: [String] = []
        var current = claims["act"] as? [String: Any]
        while let act = current, let sub = act["sub"] as? String {
            chain.append(sub)
            current = act["act"] as? [String: Any]
        }
        return chain
    }
}
