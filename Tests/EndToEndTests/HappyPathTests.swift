import Foundation
import Testing

/// A server and an agent as separate processes; a workload of this test's uid gets its
/// X509-SVID and JWT-SVIDs, and independent verifiers accept them.
@Suite("Happy path", .timeLimit(.minutes(2)))
struct HappyPathTests {
    @Test("svid fetch writes an SVID that openssl and svid verify accept; JWT fetch, validate and offline verify")
    func fetchAndVerify() async throws {
        try await Deployment.with { deployment in
            let agent = try await deployment.startServerAndAgent()
            #expect(agent.agentID.hasPrefix("spiffe://example.org/agent/join_token/"))
            let workloadID = deployment.id("/web")
            let entry = try await deployment.createEntry(spiffeID: workloadID)
            #expect(entry.parentID == deployment.nodeAlias)
            #expect(entry.selectors == ["unix:uid:\(deployment.uid)"])
            try await deployment.waitForSVIDs([workloadID], agent: agent)

            // X509-SVID, written to files.
            let out = deployment.directory.file("svid")
            let fetched = try await deployment.workload(["svid", "fetch", "--write", out], agent: agent)
            expectSuccess(fetched)
            #expect(fetched.stdoutLines.first == workloadID)
            #expect(fetched.stdout.contains("wrote: \(out)/svid.pem, \(out)/svid_key.pem, \(out)/bundle.pem"))
            let keyMode = try FileManager.default.attributesOfItem(atPath: out + "/svid_key.pem")[.posixPermissions] as? Int
            #expect(keyMode == 0o600)

            if let openssl = Tools.openssl {
                let verified = try await deployment.run(openssl, ["verify", "-CAfile", out + "/bundle.pem", out + "/svid.pem"])
                expectSuccess(verified)
                #expect(verified.output == "\(out)/svid.pem: OK")
                // The key written beside it belongs to the certificate.
                let certificateKey = try await deployment.run(openssl, ["x509", "-in", out + "/svid.pem", "-noout", "-pubkey"])
                let privateKey = try await deployment.run(openssl, ["pkey", "-in", out + "/svid_key.pem", "-pubout"])
                #expect(certificateKey.succeeded && certificateKey.output == privateKey.output, "\(certificateKey)\n\(privateKey)")
            } else {
                Issue.record("openssl is not installed; the independent X.509 check did not run")
            }
            let verified = try await deployment.cli(["svid", "verify", "--bundle", out + "/bundle.pem", out + "/svid.pem"])
            expectSuccess(verified)
            #expect(verified.stdoutLines.first == workloadID)
            // The written bundle is the server's bundle.
            try await deployment.writeBundle()
            #expect(TestProcess.read(out + "/bundle.pem") == TestProcess.read(deployment.bundlePath))

            // JWT-SVID: fetch, ask the agent to validate, verify offline with the SPIFFE bundle.
            let jwt = try await deployment.workload(["jwt", "fetch", "--audience", "spiffe://example.org/db"], agent: agent)
            expectSuccess(jwt)
            let token = jwt.output
            #expect(token.split(separator: ".").count == 3 && jwt.stdoutLines.count == 1, "the token alone: \(jwt)")
            let validated = try await deployment.workload(["jwt", "validate", "--audience", "spiffe://example.org/db", token], agent: agent)
            expectSuccess(validated)
            #expect(validated.stdoutLines.first == workloadID)
            let spiffeBundle = try await deployment.writeBundle(format: "spiffe", to: "bundle.json")
            let offline = try await deployment.cli(["jwt", "verify", "--bundle", spiffeBundle, "--audience", "spiffe://example.org/db", token])
            expectSuccess(offline)
            #expect(offline.stdoutLines.first == workloadID)
            #expect(offline.stdout.contains("audience: spiffe://example.org/db"))

            // Nothing above is an error worth logging (e.g. a client closing its stream after the
            // first message is normal).
            let server = try #require(await deployment.server)
            for process in [server, agent.process] {
                let errors = process.lines().filter { $0.contains(" error matryoshka.") || $0.contains(" critical matryoshka.") }
                #expect(errors.isEmpty, "\(process.name) logged errors: \(errors)")
                // Without a TPM neither loads libtss2 (nor the libcrypto it depends on).
                let libraries = TestProcess.read("/proc/\(process.pid)/maps").split(separator: "\n").filter { $0.contains("libtss2") || $0.contains("libcrypto") }
                #expect(libraries.isEmpty, "\(process.name) mapped \(libraries)")
            }

            // And the wrong audience is refused, by the agent and offline.
            let wrongAudience = try await deployment.workload(["jwt", "validate", "--audience", "spiffe://example.org/other", token], agent: agent)
            expectError(wrongAudience, "audience")
            let wrongOffline = try await deployment.cli(["jwt", "verify", "--bundle", spiffeBundle, "--audience", "spiffe://example.org/other", token])
            expectError(wrongOffline, "audience")
        }
    }

    @Test("a caller matching several entries gets all of them, the oldest as default; JSON output")
    func severalIdentities() async throws {
        try await Deployment.with { deployment in
            let agent = try await deployment.startServerAndAgent()
            let first = try await deployment.createEntry(spiffeID: deployment.id("/first"))
            let second = try await deployment.createEntry(spiffeID: deployment.id("/second"), ["--dns", "second.example.org"])
            try await deployment.waitForSVIDs([first.spiffeID, second.spiffeID], agent: agent)

            let fetched = try await deployment.workload(["svid", "fetch", "--json"], agent: agent)
            expectSuccess(fetched)
            struct Report: Decodable {
                struct SVID: Decodable { let spiffe_id: String; let expires_at: Date }
                let svids: [SVID]
            }
            let report = try fetched.json(Report.self)
            #expect(report.svids.map(\.spiffe_id) == [first.spiffeID, second.spiffeID])
            for svid in report.svids {
                // The server's default X509-SVID TTL is 1 h.
                #expect(abs(svid.expires_at.timeIntervalSinceNow - 3600) < 120, "\(svid.expires_at)")
            }

            // A JWT for a chosen identity.
            let jwt = try await deployment.workload(
                ["jwt", "fetch", "--audience", "a", "--spiffe-id", second.spiffeID, "--json"], agent: agent)
            expectSuccess(jwt)
            struct JWTReport: Decodable { let spiffe_id: String; let audience: [String]; let token: String }
            let jwtReport = try jwt.json(JWTReport.self)
            #expect(jwtReport.spiffe_id == second.spiffeID)
            #expect(jwtReport.audience == ["a"])

            // entry show / list agree with what create returned; delete takes the identity away.
            let shown = try await deployment.admin(["entry", "show", second.id, "--json"])
            #expect(try shown.json(EntryRecord.self) == second)
            #expect(Set(try await deployment.entries().map(\.id)).isSuperset(of: [first.id, second.id]))
            let deleted = try await deployment.admin(["entry", "delete", second.id])
            expectSuccess(deleted)
            #expect(deleted.output == "deleted \(second.id)")
            try await eventually("the agent drops the deleted entry's SVID") {
                let result = try await deployment.workload(["svid", "fetch", "--json"], agent: agent)
                return try result.json(Report.self).svids.map(\.spiffe_id) == [first.spiffeID] ? true : nil
            }
            expectError(try await deployment.admin(["entry", "show", second.id]), "no entry with ID '\(second.id)'")
        }
    }
}
