import Foundation
import Testing
import X509

/// Attacks on the chain of custody with real processes, each refused with one clear error line
/// and, where a component refuses it, a warning in that component's log: a task asking for a
/// sibling's identity, a layer asking for identities registered under another parent, a
/// workload that is not `--nested` acting as an agent, a process that is not the exec'd child on
/// its private socket, children asking for more lifetime or audiences than their parent, tampered
/// lineages, and the SVIDs of a revoked layer's descendants five layers down.
///
/// The server-side checks of a single forged, replayed or stale lineage link (which the CLI never
/// sends) are in ServerTests/ChildRequestAttackTests; whole-lineage forgeries in LineageTests.
@Suite("Attacks", .timeLimit(.minutes(3)))
struct AttackTests {
    @Test("a task asking for a sibling's ID is refused: by its exec socket, by the server, and by the agent for a sibling workload")
    func siblingIdentity() async throws {
        try await Deployment.with { deployment in
            let node = try await deployment.startServerAndAgent()
            let runner = deployment.id("/ci/runner"), web = deployment.id("/web"), db = deployment.id("/db")
            try await deployment.createEntry(spiffeID: runner, ["--nested"])
            try await deployment.createEntry(spiffeID: runner + "/task/*", parentID: runner)
            try await deployment.createEntry(spiffeID: web)
            try await deployment.createEntry(spiffeID: db, selectors: ["unix:uid:65534"])
            try await deployment.waitForSVIDs([runner, web], agent: node)
            let server = await deployment.serverAddress

            // Task 1 asks its exec socket for task 2's JWT-SVID, and tries to exec task 2 itself.
            let work = try deployment.directory.subdirectory("work")
            let script = """
                "$0" jwt fetch --spiffe-id "$2" --audience a > "$1/jwt.out" 2> "$1/jwt.err"; echo $? > "$1/jwt.status"
                "$0" exec --spiffe-id "$2" --server "$3" -- /bin/sh -c 'touch "$0/ran"' "$1" > "$1/exec.out" 2> "$1/exec.err"; echo $? > "$1/exec.status"
                """
            let exec = try await deployment.cli([
                "exec", "--spiffe-id", runner + "/task/1", "--socket", node.socket, "--server", server,
                "--", "/bin/sh", "-c", script, deployment.binary, work, runner + "/task/2", server,
            ])
            expectSuccess(exec)
            func child(_ name: String) -> CommandResult {
                CommandResult(
                    command: "child: \(name)", exit: ProcessExit(status: Int32(TestProcess.read("\(work)/\(name).status").trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1, signaled: false),
                    stdout: TestProcess.read("\(work)/\(name).out"), stderr: TestProcess.read("\(work)/\(name).err"))
            }
            expectError(child("jwt"), "this child holds \(runner)/task/1, not \(runner)/task/2")
            #expect(exec.stderr.contains("refused the exec'd child a JWT-SVID for another identity"), "\(exec)")
            expectError(child("exec"), "the server refused \(runner)/task/1", "is neither an attested agent nor a nested layer (its entry must be created with --nested)")
            #expect(!FileManager.default.fileExists(atPath: work + "/ran"))

            // A sibling workload's identity (another uid's) is not served to this one.
            let listed = try await deployment.workload(["svid", "fetch"], agent: node)
            expectSuccess(listed)
            #expect(listed.stdout.contains(web) && !listed.stdout.contains(db))
            expectError(try await deployment.workload(["jwt", "fetch", "--spiffe-id", db, "--audience", "a"], agent: node), "this workload is not entitled to \(db)")
            try await node.process.waitFor(line: "refused a JWT-SVID for an identity the workload is not entitled to", timeout: .seconds(10))
        }
    }

    @Test("a layer asking for an identity registered under another parent is refused")
    func identityOfAnotherParent() async throws {
        try await Deployment.with { deployment in
            let node = try await deployment.startServerAndAgent()
            let pod = deployment.id("/pod"), runner = deployment.id("/ci/runner"), app = deployment.id("/pod/app")
            try await deployment.createEntry(spiffeID: pod, ["--nested"])
            try await deployment.createEntry(spiffeID: runner, ["--nested"])
            try await deployment.createEntry(spiffeID: app, parentID: pod)
            try await deployment.waitForSVIDs([pod, runner], agent: node)
            let server = await deployment.serverAddress

            // A nested agent cannot take as its own identity one its parent layer does not serve it.
            let agent = try await deployment.cli(await deployment.nestedAgentArguments("stolen", parent: node, spiffeID: app), timeout: .seconds(60))
            expectError(agent, "does not serve \(app) to this process (it serves ", logs: true)

            // The runner cannot obtain the pod's child, whichever identity it names as the parent.
            let viaRunner = try await deployment.cli([
                "exec", "--spiffe-id", app, "--parent-id", runner, "--socket", node.socket, "--server", server, "--", "/usr/bin/true",
            ])
            expectError(viaRunner, "no entry with parent \(runner) grants \(app)")
            let viaUnheld = try await deployment.cli([
                "exec", "--spiffe-id", runner + "/x", "--parent-id", deployment.id("/other"), "--socket", node.socket, "--server", server, "--", "/usr/bin/true",
            ])
            expectError(viaUnheld, "does not serve \(deployment.id("/other"))")
        }
    }

    @Test("a workload whose entry is not --nested cannot act as a nested agent or exec children")
    func nonNestedWorkload() async throws {
        try await Deployment.with { deployment in
            let node = try await deployment.startServerAndAgent()
            let web = deployment.id("/web")
            try await deployment.createEntry(spiffeID: web)
            try await deployment.createEntry(spiffeID: web + "/child", parentID: web)
            try await deployment.createEntry(spiffeID: web + "/task/*", parentID: web)
            try await deployment.waitForSVIDs([web], agent: node)
            let reason = "\(web) is neither an attested agent nor a nested layer (its entry must be created with --nested)"

            // As a nested agent: the server refuses its SVID on every attempt, and it serves nothing.
            let agent = try await deployment.launch("web-agent", await deployment.nestedAgentArguments("web-agent", parent: node))
            let refused = try await agent.waitFor(line: "the server refuses this layer's SVID", timeout: .seconds(30))
            #expect(refused.contains("error") && refused.contains(reason), "\(refused)")
            // Said once; the retries that follow are quiet.
            _ = try await agent.waitFor(line: "the server still refuses this layer's SVID", timeout: .seconds(30))
            #expect(agent.lines().filter { $0.contains("the server refuses this layer's SVID") }.count == 1)
            let socket = deployment.directory.file("web-agent.sock")
            expectError(try await deployment.cli(["svid", "fetch", "--socket", socket]), "no registration entry matches this workload")
            await agent.terminate()

            // Through exec.
            let exec = try await deployment.cli([
                "exec", "--spiffe-id", web + "/task/1", "--socket", node.socket, "--server", await deployment.serverAddress, "--", "/usr/bin/true",
            ])
            expectError(exec, "the server refused \(web): \(reason)")
        }
    }

    @Test("a process that is not the exec'd child is refused on its private socket")
    func strangerOnTheExecSocket() async throws {
        try await Deployment.with { deployment in
            let node = try await deployment.startServerAndAgent()
            let runner = deployment.id("/ci/runner")
            try await deployment.createEntry(spiffeID: runner, ["--nested"])
            try await deployment.createEntry(spiffeID: runner + "/task/*", parentID: runner)
            try await deployment.waitForSVIDs([runner], agent: node)
            let work = try deployment.directory.subdirectory("work")
            let script = """
                echo "$SPIFFE_ENDPOINT_SOCKET" > "$1/socket.tmp" && mv "$1/socket.tmp" "$1/socket"
                while [ ! -e "$1/go" ]; do sleep 0.05; done
                "$0" svid fetch > "$1/child.out" 2>&1
                """
            let exec = try await deployment.launch("exec", [
                "exec", "--spiffe-id", runner + "/task/1", "--socket", node.socket, "--server", await deployment.serverAddress,
                "--", "/bin/sh", "-c", script, deployment.binary, work,
            ])
            try await exec.waitFor(file: work + "/socket", timeout: .seconds(30))
            let socket = TestProcess.read(work + "/socket").trimmingCharacters(in: .whitespacesAndNewlines)

            // The same user, but not the child or its descendant.
            let stranger = try await deployment.cli(["svid", "fetch", "--socket", socket])
            expectError(stranger, "is not the exec'd child (pid")
            try await exec.waitFor(line: "refused a process on the exec socket", timeout: .seconds(10))
            // Another user cannot even connect.
            if Tools.canSwitchUser {
                let otherUser = try await deployment.cli(["svid", "fetch", "--socket", socket], asUser: 65534)
                #expect(otherUser.status == 1 && otherUser.errorLines.count == 1 && !otherUser.stdout.contains(runner), "\(otherUser)")
            }

            // The child itself is served.
            _ = try deployment.directory.write("work/go", "")
            #expect(try await exec.waitForExit(timeout: .seconds(30)) == .success, "\(exec.tail())")
            #expect(TestProcess.read(work + "/child.out").hasPrefix(runner + "/task/1\n"), "\(TestProcess.read(work + "/child.out"))")
        }
    }

    @Test("a child asking for a longer lifetime or a wider audience than its parent and entry allow is refused")
    func longerLifetimeOrWiderAudience() async throws {
        try await Deployment.with { deployment in
            let node = try await deployment.startServerAndAgent()
            let runner = deployment.id("/ci/runner"), task = deployment.id("/ci/runner/task")
            try await deployment.createEntry(spiffeID: runner, ["--nested", "--x509-ttl", "30m", "--audience", "a"])
            try await deployment.createEntry(spiffeID: task + "/*", parentID: runner, ["--x509-ttl", "5m"])
            try await deployment.waitForSVIDs([runner], agent: node)
            let server = await deployment.serverAddress
            let work = try deployment.directory.subdirectory("work")
            func exec(_ name: String, _ extra: [String], _ command: [String]) async throws -> CommandResult {
                try await deployment.cli(["exec", "--spiffe-id", task + "/" + name, "--socket", node.socket, "--server", server] + extra + ["--"] + command)
            }

            // Longer than the parent has left: refused before anything is asked of the server.
            let outliving = try await exec("1", ["--ttl", "2h"], ["/usr/bin/touch", work + "/ran"])
            expectError(outliving, "--ttl 2h exceeds the caller's remaining lifetime (\(runner) expires at", "a child never outlives its parent")
            // Within the parent's lifetime but longer than the entry allows: the server refuses it.
            let beyondEntry = try await exec("2", ["--ttl", "10m"], ["/usr/bin/touch", work + "/ran"])
            expectError(beyondEntry, "the server refused \(task)/2", "exceeds the entry's X509-SVID TTL of 5m")
            #expect(!FileManager.default.fileExists(atPath: work + "/ran"))
            let serverProcess = try #require(await deployment.server)
            try await serverProcess.waitFor(line: "exceeds the entry's X509-SVID TTL", timeout: .seconds(10))
            #expect(serverProcess.lines().contains { $0.contains("warning") && $0.contains("refused SVID request") && $0.contains("subject=\(task)/2") })

            // An audience the parent may not use: refused; one it may: served.
            let script = """
                "$0" jwt fetch --audience b > "$1/wide.out" 2> "$1/wide.err"; echo $? > "$1/wide.status"
                "$0" jwt fetch --audience a > "$1/narrow.out" 2> "$1/narrow.err"; echo $? > "$1/narrow.status"
                "$0" svid fetch --write "$1/svid" > /dev/null
                """
            expectSuccess(try await exec("3", [], ["/bin/sh", "-c", script, deployment.binary, work]))
            #expect(TestProcess.read(work + "/wide.status").hasPrefix("1"))
            #expect(TestProcess.read(work + "/wide.err").contains("audience b is wider than the parent \(runner) allows (a)"), "\(TestProcess.read(work + "/wide.err"))")
            #expect(TestProcess.read(work + "/narrow.status").hasPrefix("0"), "\(TestProcess.read(work + "/narrow.err"))")
            #expect(TestProcess.read(work + "/narrow.out").split(separator: ".").count == 3)
            try await serverProcess.waitFor(line: "audience b is wider than the parent \(runner)", timeout: .seconds(10))
            // Without --ttl the child gets its entry's lifetime, no more.
            #expect(Certificates.lifetime(try Certificates.leaf(work + "/svid/svid.pem")) <= 5 * 60 + 60)
        }
    }

    @Test("tampered lineages in real SVIDs — replayed under another key, truncated, reordered — are refused by lineage verify, naming the hop")
    func tamperedLineage() async throws {
        guard let openssl = Tools.openssl else {
            Issue.record("openssl is not installed; the tampered certificates cannot be made")
            return
        }
        try await Deployment.with { deployment in
            let node = try await deployment.startServerAndAgent()
            let runner = deployment.id("/ci/runner"), task = deployment.id("/ci/runner/task/1")
            try await deployment.createEntry(spiffeID: runner, ["--nested"])
            try await deployment.createEntry(spiffeID: runner + "/task/*", parentID: runner)
            try await deployment.waitForSVIDs([runner], agent: node)
            let work = try deployment.directory.subdirectory("work")
            expectSuccess(try await deployment.cli([
                "exec", "--spiffe-id", task, "--socket", node.socket, "--server", await deployment.serverAddress,
                "--", deployment.binary, "svid", "fetch", "--write", work + "/task",
            ]))
            let genuine = work + "/task/svid.pem"
            expectSuccess(try await deployment.cli(["lineage", "verify", "--bundle", deployment.bundlePath, genuine]))
            let lineage = try Self.lineageExtension(of: try Certificates.leaf(genuine))
            let links = try DERElements.children(of: lineage)
            #expect(links.count == 3)

            // An attacker CA the verifier also trusts (say, a federated or compromised one) signs
            // certificates for the task's ID carrying edited copies of the task's real lineage.
            let attacker = try await Self.makeCA(openssl, in: work, deployment)
            let bundle = try deployment.directory.write("bundle-and-attacker.pem", TestProcess.read(deployment.bundlePath) + TestProcess.read(attacker.certificate))
            func forged(_ name: String, lineage: [UInt8], key: String) async throws -> CommandResult {
                let certificate = try await Self.issue(openssl, name: name, spiffeID: task, lineage: lineage, key: key, ca: attacker, in: work, deployment)
                let plain = try await deployment.cli(["svid", "verify", "--bundle", bundle, certificate])
                expectSuccess(plain)  // a valid SVID: only its lineage is wrong
                return try await deployment.cli(["lineage", "verify", "--bundle", bundle, certificate])
            }
            let otherKey = work + "/other-key.pem"
            expectSuccess(try await deployment.run(openssl, ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", otherKey]))

            // Replayed: the real lineage, under a key it does not name.
            expectError(try await forged("replayed", lineage: lineage, key: otherKey), "the last link's key is not the credential's key")
            // Truncated: the task's own link dropped (the chain ends at the runner).
            expectError(try await forged("truncated", lineage: DERElements.sequence(Array(links.prefix(2))), key: work + "/task/svid_key.pem"),
                        "the last link is \(runner), the credential is \(task)")
            // Reordered: the runner's and the task's links swapped.
            expectError(try await forged("reordered", lineage: DERElements.sequence([links[0], links[2], links[1]]), key: work + "/task/svid_key.pem"),
                        "previous-link hash mismatch")
            // The genuine lineage in a certificate for its own key verifies: the refusals above
            // are about the edits, not the attacker's CA.
            let copied = try await forged("copied", lineage: lineage, key: work + "/task/svid_key.pem")
            expectSuccess(copied)
        }
    }

    @Test("a revoked layer's descendants five layers down: their SVIDs are on the CRL and openssl -crl_check refuses them")
    func revokedParentsDescendants() async throws {
        try await Deployment.with { deployment in
            let stack = try await FiveLayerStack.start(deployment)
            // The app (five layers down) and an exec'd task of the job, holding their SVIDs.
            let app = deployment.directory.file("app")
            expectSuccess(try await deployment.workload(["svid", "fetch", "--write", app], agent: stack.job))
            let job = deployment.directory.file("job")
            expectSuccess(try await deployment.workload(["svid", "fetch", "--write", job], agent: stack.runner))
            let serials = [try Certificates.leafSerial(app + "/svid.pem"), try Certificates.leafSerial(job + "/svid.pem")]

            // The runner (layer three) is compromised: revoke it with everything inside it.
            let revoked = try await deployment.admin(["revoke", "--spiffe-id", stack.runnerID, "--subtree", "--json"])
            expectSuccess(revoked)
            let report = try revoked.json(RevocationTests.RevokeReport.self)
            #expect(Set(report.credentials.map(\.spiffe_id)).isSuperset(of: [stack.runnerID, stack.jobID, stack.appID]), "\(report.credentials.map(\.spiffe_id))")
            #expect(!report.credentials.contains { $0.spiffe_id == stack.podID }, "the layer around it is not revoked")

            let crl = try await deployment.writeCRL()
            for (name, svid) in [("app", app), ("job", job)] {
                if let openssl = Tools.openssl {
                    let refused = try await deployment.run(openssl, ["verify", "-crl_check", "-CRLfile", crl, "-CAfile", deployment.bundlePath, svid + "/svid.pem"])
                    #expect(!refused.succeeded && (refused.stdout + refused.stderr).contains("certificate revoked"), "\(name): \(refused)")
                } else {
                    Issue.record("openssl is not installed; the independent CRL check did not run")
                }
                expectError(try await deployment.cli(["svid", "verify", "--bundle", deployment.bundlePath, "--crl", crl, svid + "/svid.pem"]), "was revoked at")
            }
            #expect(Set(try await HTTP.crls(await deployment.httpBaseURL).flatMap { $0.entries.map(\.serialNumber.hexString) }).isSuperset(of: serials))
        }
    }

    // MARK: Helpers

    /// The DER value of the lineage extension of a certificate.
    static func lineageExtension(of certificate: Certificate) throws -> [UInt8] {
        guard let value = certificate.extensions.first(where: { $0.oid.description == NestingTests.lineageOID })?.value else {
            throw TestProcessError(description: "no lineage extension")
        }
        return Array(value)
    }

    struct TestCA {
        let certificate: String
        let key: String
    }

    static func makeCA(_ openssl: String, in directory: String, _ deployment: Deployment) async throws -> TestCA {
        let ca = TestCA(certificate: directory + "/attacker-ca.pem", key: directory + "/attacker-ca-key.pem")
        let made = try await deployment.run(openssl, [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", ca.key, "-out", ca.certificate,
            "-days", "1", "-subj", "/CN=attacker", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            "-addext", "subjectAltName=URI:spiffe://\(deployment.trustDomain)",
        ])
        guard made.succeeded else { throw TestProcessError(description: "cannot make the attacker CA: \(made)") }
        return ca
    }

    /// An X509-SVID for `spiffeID` and `key`, signed by `ca`, with `lineage` as its lineage extension.
    static func issue(
        _ openssl: String, name: String, spiffeID: String, lineage: [UInt8], key: String, ca: TestCA, in directory: String, _ deployment: Deployment
    ) async throws -> String {
        let csr = "\(directory)/\(name).csr", certificate = "\(directory)/\(name).pem"
        let hex = lineage.map { String(format: "%02X", $0) }.joined()
        let extensions = try deployment.directory.write("work/\(name).ext", """
            basicConstraints = critical,CA:FALSE
            keyUsage = critical,digitalSignature
            subjectAltName = URI:\(spiffeID)
            \(NestingTests.lineageOID) = DER:\(hex)

            """)
        let request = try await deployment.run(openssl, ["req", "-new", "-key", key, "-subj", "/O=SPIFFE", "-out", csr])
        guard request.succeeded else { throw TestProcessError(description: "\(request)") }
        let signed = try await deployment.run(openssl, [
            "x509", "-req", "-in", csr, "-CA", ca.certificate, "-CAkey", ca.key, "-CAcreateserial", "-days", "1", "-extfile", extensions, "-out", certificate,
        ])
        guard signed.succeeded else { throw TestProcessError(description: "\(signed)") }
        return certificate
    }
}

/// Just enough DER to take a SEQUENCE apart and put it back together.
enum DERElements {
    /// The complete elements (tag, length, value) inside the SEQUENCE `der`.
    static func children(of der: [UInt8]) throws -> [[UInt8]] {
        let (start, end) = try header(der, at: 0)
        guard der[0] == 0x30, end == der.count else { throw TestProcessError(description: "not one DER SEQUENCE") }
        var elements: [[UInt8]] = []
        var offset = start
        while offset < end {
            let (_, elementEnd) = try header(der, at: offset)
            elements.append(Array(der[offset..<elementEnd]))
            offset = elementEnd
        }
        return elements
    }

    /// A SEQUENCE of `elements`.
    static func sequence(_ elements: [[UInt8]]) -> [UInt8] {
        let body = elements.flatMap { $0 }
        var length: [UInt8]
        if body.count < 0x80 {
            length = [UInt8(body.count)]
        } else {
            var bytes: [UInt8] = []
            var remaining = body.count
            while remaining > 0 {
                bytes.insert(UInt8(remaining & 0xff), at: 0)
                remaining >>= 8
            }
            length = [0x80 | UInt8(bytes.count)] + bytes
        }
        return [0x30] + length + body
    }

    /// Where the value of the element at `offset` starts and where the element ends.
    private static func header(_ der: [UInt8], at offset: Int) throws -> (valueStart: Int, end: Int) {
        guard offset + 1 < der.count else { throw TestProcessError(description: "truncated DER") }
        let first = Int(der[offset + 1])
        var length = first, start = offset + 2
        if first & 0x80 != 0 {
            let count = first & 0x7f
            guard count > 0, count <= 4, start + count <= der.count else { throw TestProcessError(description: "bad DER length") }
            length = der[start..<(start + count)].reduce(0) { $0 << 8 | Int($1) }
            start += count
        }
        guard start + length <= der.count else { throw TestProcessError(description: "truncated DER") }
        return (start, start + length)
    }
}
