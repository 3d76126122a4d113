import Foundation
import SPIFFE
import Testing
import X509

/// `server run --config FILE`: the file's settings are used, flags override them, and mistakes in
/// the file stop the server before it starts, naming the problem.
@Suite("Config file", .timeLimit(.minutes(2)))
struct ConfigTests {
    @Test("trust_domain, bind and SVID TTLs come from the file; a flag overrides a file value")
    func fileAndFlags() async throws {
        try await Deployment.with(trustDomain: "config.example") { deployment in
            let filePort = try FreePort.allocate()
            try await deployment.reservePorts()
            let flagAddress = await deployment.serverAddress
            let config = try deployment.directory.write("server.yaml", """
                # Matryoshka server settings for the end-to-end test.
                trust_domain: config.example
                bind: 127.0.0.1:\(filePort)
                svid:
                  x509_ttl: 7m
                  jwt_ttl: 3m
                """)
            // The file gives the trust domain and the TTLs; flags override bind and jwt_ttl.
            let server = try await deployment.startServer(
                ["--config", config, "--bind", flagAddress, "--jwt-ttl", "2m"], standardFlags: false)
            let ready = try await server.waitFor(line: "server ready")
            #expect(Deployment.value(of: "node_api", in: ready) == flagAddress, "\(ready)")
            try await server.waitFor(line: "trust_domain=config.example")

            let bundle = try Certificates.read(try await deployment.writeBundle())
            #expect(try bundle.map { try X509SVID.spiffeID(of: $0).description } == ["spiffe://config.example"])
            let agent = try await deployment.startAgent(joinToken: try await deployment.token(alias: deployment.nodeAlias))
            #expect(agent.agentID.hasPrefix("spiffe://config.example/agent/join_token/"))
            let workloadID = deployment.id("/configured")
            try await deployment.createEntry(spiffeID: workloadID)
            let set = try await deployment.waitForSVIDs([workloadID], agent: agent)
            let leaf = try Certificate(derEncoded: set.svids[0].certificateChain[0])
            #expect(abs(leaf.notValidAfter.timeIntervalSinceNow - 420) < 30, "X509-SVID TTL should be the file's 7m: \(leaf.notValidAfter)")

            let jwt = try await deployment.workload(["jwt", "fetch", "--audience", "a"], agent: agent)
            expectSuccess(jwt)
            let claims = try JWTSVID(parsing: jwt.output)
            #expect(abs(claims.expiry.timeIntervalSinceNow - 120) < 30, "JWT-SVID TTL should be the flag's 2m, not the file's 3m")
        }
    }

    @Test("unknown keys, bad values and a missing file are refused with a message naming the problem")
    func invalidFiles() async throws {
        try await Deployment.with { deployment in
            let port = try FreePort.allocate()
            // Problems found while reading the file name the file; each names the key or value.
            let cases: [(yaml: String?, fragments: [String], namesFile: Bool)] = [
                ("trust_domian: example.org\nbind: 127.0.0.1:\(port)\n", ["unknown key 'trust_domian'", "trust_domain"], true),
                ("trust_domain: example.org\nsvid:\n  x509ttl: 1h\n", ["unknown key 'x509ttl' under 'svid'", "x509_ttl"], true),
                ("trust_domain: example.org\nbind: [1, 2\n", ["not valid YAML", "line 3, column 1"], true),
                (nil, ["cannot read config file"], true),
                ("trust_domain: example.org\nsvid:\n  x509_ttl: forever\n", ["X509-SVID TTL", "'forever' is not a duration"], false),
                ("trust_domain: Example.org\n", ["trust domain 'Example.org'", "lower case"], false),
                ("trust_domain: example.org\nx509pop:\n  ca_bundles: /x.pem\n", ["unknown key 'ca_bundles' under 'x509pop'", "ca_bundle"], true),
                ("trust_domain: example.org\nx509pop:\n  ca_bundle: \(deployment.directory.file("no-such-ca.pem"))\n",
                 ["x509pop CA bundle \(deployment.directory.file("no-such-ca.pem")): no such file"], false),
                ("trust_domain: example.org\nx509pop:\n  ca_bundle: \(deployment.directory.file("bad-0.yaml"))\n",
                 ["x509pop CA bundle \(deployment.directory.file("bad-0.yaml")): no PEM CERTIFICATE in it"], false),
            ]
            for (index, bad) in cases.enumerated() {
                let path = deployment.directory.file("bad-\(index).yaml")
                if let yaml = bad.yaml { try deployment.directory.write("bad-\(index).yaml", yaml) }
                let result = try await deployment.cli(
                    ["server", "run", "--config", path, "--data-dir", deployment.directory.file("refused-\(index)")], timeout: .seconds(30))
                expectError(result, bad.fragments + (bad.namesFile ? [path] : []))
                #expect(!FileManager.default.fileExists(atPath: deployment.directory.file("refused-\(index)/admin.sock")))
            }
            // The flag: a bundle that is not PEM certificates stops the server before it starts.
            let notPEM = try deployment.directory.write("not-a-bundle.pem", "hello\n")
            let refused = try await deployment.cli(
                ["server", "run", "--trust-domain", "example.org", "--bind", "127.0.0.1:\(port)", "--x509pop-ca-bundle", notPEM,
                 "--data-dir", deployment.directory.file("refused-flag")], timeout: .seconds(30))
            expectError(refused, "x509pop CA bundle \(notPEM): no PEM CERTIFICATE in it")
            #expect(!FileManager.default.fileExists(atPath: deployment.directory.file("refused-flag/admin.sock")))
        }
    }
}
