import Foundation
import SPIFFE
import Testing
import WorkloadAPI
import X509

/// Short TTLs: the agent renews SVIDs at half-life and pushes them down open streams; the CA
/// rotates and the new one reaches workloads through the bundle before it signs anything.
@Suite("Rotation", .timeLimit(.minutes(2)))
struct RotationTests {
    struct StreamReport: Decodable {
        struct Update: Decodable {
            let spiffe_id: String
            let serial: String
            let not_before: Int
            let not_after: Int
            let received_at: Double
        }
        let updates: [Update]
        let errors: [String]
    }

    @Test("a 6 s X509-SVID is renewed at half-life and pushed to open streams (py-spiffe and Swift watchers)")
    func x509SVIDRotation() async throws {
        try await Deployment.with { deployment in
            let agent = try await deployment.startServerAndAgent(["--x509-ttl", "10s", "--ca-ttl", "2m", "--agent-ttl", "30s", "--jwt-ttl", "10s"])
            let workloadID = deployment.id("/rotating")
            let entry = try await deployment.createEntry(spiffeID: workloadID, ["--x509-ttl", "6s"])
            #expect(entry.x509SVIDTTL == 6)
            try await deployment.waitForSVIDs([workloadID], agent: agent)

            let bundlePEM = try await deployment.writeBundle()
            let bundle = X509Bundle(trustDomain: try TrustDomain("example.org"), authorities: try Certificates.read(bundlePEM))
            async let python: CommandResult? = Python.hasPySpiffe
                ? deployment.python("workload_api.py", ["stream", agent.socketURI, "3", "40"]) : nil

            // Swift watcher: three different SVIDs in one stream, each valid and about 6 s long.
            let address = try WorkloadAPIAddress(agent.socket)
            let started = ContinuousClock.now
            let seen = try await WorkloadAPIClient.withClient(address: address) { client in
                var serials: [String] = []
                var leaves: [Certificate] = []
                for try await set in client.watchX509Context() {
                    let svid = try #require(set.svids.first)
                    #expect(svid.spiffeID == workloadID)
                    let chain = try svid.certificateChain.map { try Certificate(derEncoded: $0) }
                    let serial = Certificates.serial(chain[0])
                    if serials.last != serial {
                        serials.append(serial)
                        leaves.append(chain[0])
                        _ = try await X509SVIDVerifier(bundles: bundle).verify(chain)
                    }
                    if serials.count >= 3 || ContinuousClock.now - started > .seconds(40) { break }
                }
                return leaves
            }
            #expect(seen.count >= 3, "expected three SVIDs within 40 s, saw \(seen.count)")
            #expect(Set(seen.map(Certificates.serial)).count == seen.count)
            for leaf in seen {
                // 6 s TTL, plus the 10 s the CA backdates notBefore by.
                #expect(leaf.notValidAfter.timeIntervalSince(leaf.notValidBefore) <= 17, "\(leaf.notValidBefore) – \(leaf.notValidAfter)")
            }
            // Renewed at half-life (about 3 s apart), not over and over: notBefore is backdated 10 s,
            // and counting the half-life from it would renew a 6 s SVID as soon as it is issued.
            // (No upper bound: on a loaded machine a renewal may come late.)
            let gaps = zip(seen, seen.dropFirst()).map { $1.notValidAfter.timeIntervalSince($0.notValidAfter) }
            #expect(gaps.allSatisfy { $0 >= 2 }, "renewals \(gaps) s apart")

            if let result = try await python {
                try #require(result.succeeded, "\(result)")
                let report = try result.json(StreamReport.self)
                #expect(report.errors.isEmpty, "\(report.errors)")
                #expect(Set(report.updates.map(\.serial)).count >= 3, "py-spiffe saw \(report.updates.count) updates")
                #expect(report.updates.allSatisfy { $0.spiffe_id == workloadID })
            }
        }
    }

    @Test("CA rotation: the next CA is published in the bundle stream before it signs; the agent renews its own SVID")
    func caRotation() async throws {
        try await Deployment.with { deployment in
            // CA TTL 48 s, notBefore backdated 10 s: the next CA is published about 19 s after the
            // start and signs from about 38 s.
            let agent = try await deployment.startServerAndAgent(["--ca-ttl", "48s", "--x509-ttl", "8s", "--agent-ttl", "16s", "--jwt-ttl", "8s"])
            let workloadID = deployment.id("/ca-rotation")
            try await deployment.createEntry(spiffeID: workloadID)
            let initial = try await deployment.waitForSVIDs([workloadID], agent: agent)
            let firstLeaf = try Certificate(derEncoded: initial.svids[0].certificateChain[0])
            let firstCA = try #require(try initial.svids[0].bundle.map { try Certificate(derEncoded: $0) }
                .first { $0.publicKey.isValidSignature(firstLeaf.signature, for: firstLeaf) })

            let address = try WorkloadAPIAddress(agent.socket)
            let started = ContinuousClock.now
            let (published, signed) = try await WorkloadAPIClient.withClient(address: address) { client in
                var update = 0
                var published: Int?
                var signed: Int?
                for try await set in client.watchX509Context() {
                    update += 1
                    let svid = try #require(set.svids.first)
                    let bundle = try svid.bundle.map { try Certificate(derEncoded: $0) }
                    if published == nil, bundle.contains(where: { $0 != firstCA }) { published = update }
                    let chain = try svid.certificateChain.map { try Certificate(derEncoded: $0) }
                    if !firstCA.publicKey.isValidSignature(chain[0].signature, for: chain[0]) {
                        // Signed by the new CA: the bundle that came with it must hold it.
                        let given = X509Bundle(trustDomain: try TrustDomain("example.org"), authorities: bundle)
                        _ = try await X509SVIDVerifier(bundles: given).verify(chain)
                        signed = update
                    }
                    if signed != nil || ContinuousClock.now - started > .seconds(75) { break }
                }
                return (published, signed)
            }
            let publishedAt = try #require(published, "the next CA never appeared in the bundle")
            let signedAt = try #require(signed, "no SVID signed by the new CA within 75 s")
            #expect(publishedAt < signedAt, "the new CA reached the workload in update \(publishedAt), its first SVID in \(signedAt)")

            // The agent renews its own SVID (16 s TTL) and still serves, under the new CA.
            try await agent.process.waitFor(line: "agent SVID renewed", timeout: .seconds(30))
            let out = deployment.directory.file("after")
            expectSuccess(try await deployment.workload(["svid", "fetch", "--write", out], agent: agent))
            expectSuccess(try await deployment.cli(["svid", "verify", "--bundle", out + "/bundle.pem", out + "/svid.pem"]))
        }
    }

    @Test("the server renews its own TLS certificate: agents attest and reconnect after the first one expired")
    func serverCertificateRenewal() async throws {
        try await Deployment.with { deployment in
            // The server's TLS SVID lives as long as agent SVIDs: 6 s here.
            try await deployment.startServer(["--agent-ttl", "6s"])
            try await deployment.writeBundle()
            let token = try await deployment.token(alias: deployment.nodeAlias)
            // Let the server's first certificate expire (time passing is the point here).
            try await Task.sleep(for: .seconds(8))
            let agent = try await deployment.startAgent(joinToken: token)
            let web = try await deployment.createEntry(spiffeID: deployment.id("/web"))
            try await deployment.waitForSVIDs([web.spiffeID], agent: agent)

            // The agent's own 6 s SVID is renewed, and its connection re-established, again and again.
            try await eventually("three agent SVID renewals", timeout: .seconds(60)) {
                agent.process.lines().filter { $0.contains("agent SVID renewed") }.count >= 3 ? true : nil
            }
            let mark = agent.process.mark()
            try await agent.process.waitFor(line: "connected to server", after: mark, timeout: .seconds(30))
            // Issuance goes on through the renewed connections.
            let api = try await deployment.createEntry(spiffeID: deployment.id("/api"))
            try await deployment.waitForSVIDs([web.spiffeID, api.spiffeID], agent: agent)
            #expect(!agent.process.lines().contains { $0.contains("certificate expired") }, "\(agent.process.tail())")
        }
    }

    @Test("JWT-SVIDs are served while the agent renews its own SVID")
    func jwtDuringAgentRenewal() async throws {
        try await Deployment.with { deployment in
            // A 6 s agent SVID: renewed about every 3 s, each time on a new connection. (Workload
            // SVIDs never outlive the agent's, so much shorter would starve issuance.)
            let agent = try await deployment.startServerAndAgent(["--agent-ttl", "6s"])
            let web = try await deployment.createEntry(spiffeID: deployment.id("/web"))
            try await deployment.waitForSVIDs([web.spiffeID], agent: agent)

            // A JWT-SVID for a new audience (so the agent must ask the server) over and over.
            let mark = agent.process.mark()
            let deadline = ContinuousClock.now + .seconds(12)
            var attempts = 0
            var failures: [String] = []
            while ContinuousClock.now < deadline {
                attempts += 1
                let result = try await deployment.workload(["jwt", "fetch", "--audience", "renewal-\(attempts)"], agent: agent)
                if !result.succeeded { failures.append(result.errorLines.first ?? result.stderr) }
            }
            let renewals = agent.process.lines(after: mark).filter { $0.contains("agent SVID renewed") }.count
            #expect(renewals >= 1, "the agent renewed its SVID \(renewals) times")
            // Calls on the old connection are honoured (the replaced SVID stays valid until it
            // expires) and calls between connections wait for the new one.
            #expect(failures.isEmpty, "\(failures.count) of \(attempts) fetches failed: \(Set(failures))\nAGENT:\n\(agent.process.lines(after: mark).suffix(80).joined(separator: "\n"))")
        }
    }
}
