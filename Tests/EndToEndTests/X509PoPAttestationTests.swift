import Authority
import Foundation
import SPIFFE
import Testing
import X509

/// x509pop node attestation with real processes: the provisioning PKI is made with `openssl` (an
/// implementation independent of ours), the server trusts its CA (`--x509pop-ca-bundle`), and an
/// agent proves it holds its node certificate's key (`--x509pop-cert`/`--x509pop-key`), becomes
/// `spiffe://TD/agent/x509pop/<sha256 of the certificate>` and serves a workload. A node with a
/// certificate from another CA is refused; a node whose CA leaves the bundle fails re-attestation
/// and is evicted.
@Suite("x509pop node attestation", .serialized, .timeLimit(.minutes(5)), .enabled(if: Tools.openssl != nil, "needs openssl"))
struct X509PoPAttestationTests {
    /// A provisioning PKI on disk, made with openssl.
    struct PKI {
        let caCertificate: String
        let nodeChain: String
        let nodeKey: String
        /// `openssl x509 -fingerprint -sha256` of the node certificate, lowercase without colons.
        let fingerprint: String
    }

    /// A CA (`name`), an intermediate under it, and a node certificate (RSA or EC key) under the
    /// intermediate; the node's PEM file holds the node certificate and the intermediate.
    static func makePKI(_ deployment: Deployment, name: String, nodeKey: String = "rsa") async throws -> PKI {
        let file = { (suffix: String) in deployment.directory.file("\(name)-\(suffix)") }
        func openssl(_ arguments: [String]) async throws -> CommandResult {
            let result = try await deployment.run("openssl", arguments)
            try #require(result.succeeded, "\(result)")
            return result
        }
        _ = try await openssl([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", file("ca-key.pem"), "-out", file("ca.pem"), "-days", "2", "-subj", "/CN=\(name) provisioning root",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        ])
        try "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n".write(toFile: file("ca.ext"), atomically: true, encoding: .utf8)
        _ = try await openssl([
            "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:secp384r1", "-nodes",
            "-keyout", file("issuing-key.pem"), "-out", file("issuing.csr"), "-subj", "/CN=\(name) issuing CA",
        ])
        _ = try await openssl([
            "x509", "-req", "-in", file("issuing.csr"), "-CA", file("ca.pem"), "-CAkey", file("ca-key.pem"), "-CAcreateserial",
            "-out", file("issuing.pem"), "-days", "2", "-extfile", file("ca.ext"),
        ])
        let keySpec = nodeKey == "rsa" ? ["-newkey", "rsa:2048"] : ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
        _ = try await openssl(["req", "-new"] + keySpec + [
            "-nodes", "-keyout", file("node-key.pem"), "-out", file("node.csr"), "-subj", "/CN=node-1.\(name).example",
        ])
        try "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nsubjectAltName=DNS:node-1.\(name).example\n"
            .write(toFile: file("node.ext"), atomically: true, encoding: .utf8)
        _ = try await openssl([
            "x509", "-req", "-in", file("node.csr"), "-CA", file("issuing.pem"), "-CAkey", file("issuing-key.pem"), "-CAcreateserial",
            "-out", file("node.pem"), "-days", "1", "-extfile", file("node.ext"),
        ])
        let chain = try String(contentsOfFile: file("node.pem"), encoding: .utf8) + String(contentsOfFile: file("issuing.pem"), encoding: .utf8)
        try chain.write(toFile: file("node-chain.pem"), atomically: true, encoding: .utf8)
        let printed = try await openssl(["x509", "-in", file("node.pem"), "-noout", "-fingerprint", "-sha256"])
        let fingerprint = String(printed.stdout.split(separator: "=").last ?? "")
            .trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: ":", with: "").lowercased()
        try #require(fingerprint.count == 64, "\(printed)")
        return PKI(caCertificate: file("ca.pem"), nodeChain: file("node-chain.pem"), nodeKey: file("node-key.pem"), fingerprint: fingerprint)
    }

    @Test("a node with a provisioned certificate attests with x509pop, re-attests and serves workloads; the audit log has its evidence")
    func attestAndServe() async throws {
        try await Deployment.with { deployment in
            let pki = try await Self.makePKI(deployment, name: "acme")
            try await deployment.startServer(["--x509pop-ca-bundle", pki.caCertificate])
            try await deployment.writeBundle()
            let agent = try await deployment.startAgent(
                "node", joinToken: nil, trustBundle: deployment.bundlePath,
                ["--x509pop-cert", pki.nodeChain, "--x509pop-key", pki.nodeKey, "--reattest-interval", "1"])
            #expect(agent.agentID == deployment.id("/agent/x509pop/\(pki.fingerprint)"))

            // The first lineage link names the attestation and carries the evidence.
            let lineage = try await deployment.cli(["lineage", "show", agent.dataDirectory + "/agent-svid.pem", "--json"])
            try #require(expectSuccess(lineage))
            #expect(lineage.stdout.contains("x509pop:subject:cn:node-1.acme.example"), "\(lineage)")
            #expect(lineage.stdout.contains("x509pop:san:dns:node-1.acme.example"), "\(lineage)")
            #expect(lineage.stdout.contains("\"evidence\""), "\(lineage)")

            let web = deployment.id("/web")
            try await deployment.createEntry(spiffeID: web, parentID: agent.agentID)
            try await deployment.waitForSVIDs([web], agent: agent)
            let fetched = try await deployment.workload(["svid", "fetch", "--json"], agent: agent)
            #expect(expectSuccess(fetched) && fetched.stdout.contains(web), "\(fetched)")

            // A node group by what the certificate proved: a workload registered under the group
            // is served by this node.
            let group = deployment.id("/dc/acme")
            try #require(expectSuccess(try await deployment.admin([
                "entry", "create", "--node", "--spiffe-id", group, "--selector", "x509pop:subject:cn:node-1.acme.example",
            ])))
            let batch = deployment.id("/batch")
            try await deployment.createEntry(spiffeID: batch, parentID: group)
            try await deployment.waitForSVIDs([web, batch], agent: agent)

            // Continuous attestation: fresh proofs bound to the current SVID key.
            _ = try await agent.process.waitFor(line: "node re-attested", timeout: .seconds(30))

            // The server's view and the audit log.
            let shown = try await deployment.admin(["agent", "show", agent.agentID])
            #expect(shown.stdout.contains("x509pop") && shown.stdout.contains("trusted"), "\(shown)")
            let audit = try await deployment.admin(["audit", "show", "--spiffe-id", agent.agentID, "--json"])
            try #require(expectSuccess(audit))
            let attested = audit.stdout.split(separator: "\n").first { $0.contains("\"node.attest\"") }
            #expect(attested?.contains("\"type\":\"x509pop\"") == true || attested?.contains("\"type\" : \"x509pop\"") == true, "\(audit)")
            #expect(attested?.contains("evidence_sha256") == true, "\(audit)")
            #expect(audit.stdout.contains("\"node.reattest\""), "\(audit)")
        }
    }

    /// Waits for the agent to say it was evicted, with the server's reason. The server revokes the
    /// node's SVIDs, which its sync stream pushes, and then refuses the re-attestation call:
    /// whichever the agent reads first ends its connection, so it names the eviction either as
    /// the refusal or as its own SVID revoked for the failed re-attestation.
    static func waitForEviction(of agent: TestProcess, reason: String, timeout: Duration) async throws -> String {
        try await agent.waitFor(
            lineWhere: { line in
                line.contains(reason)
                    && (line.contains("refused this node's re-attestation")
                        || (line.contains("the server refuses this layer's SVID") && line.contains("re-attestation failed")))
            },
            described: "saying the node was evicted (\(reason))", timeout: timeout)
    }

    @Test("a node certificate from another CA is refused with a clear error; a node whose CA leaves the bundle is evicted at re-attestation")
    func strangerRefusedAndDroppedCAEvicted() async throws {
        try await Deployment.with { deployment in
            let trusted = try await Self.makePKI(deployment, name: "acme", nodeKey: "ec")
            let stranger = try await Self.makePKI(deployment, name: "evil")
            try await deployment.startServer(["--x509pop-ca-bundle", trusted.caCertificate])
            try await deployment.writeBundle()

            let refused = try await deployment.runFailingAgent(
                "intruder", joinToken: nil, trustBundle: deployment.bundlePath,
                ["--x509pop-cert", stranger.nodeChain, "--x509pop-key", stranger.nodeKey])
            expectError(refused, "node attestation refused", "not trusted by the x509pop CA bundle", logs: true)

            let agent = try await deployment.startAgent(
                "node", joinToken: nil, trustBundle: deployment.bundlePath,
                ["--x509pop-cert", trusted.nodeChain, "--x509pop-key", trusted.nodeKey, "--reattest-interval", "1"])
            let web = deployment.id("/web")
            try await deployment.createEntry(spiffeID: web, parentID: agent.agentID)
            try await deployment.waitForSVIDs([web], agent: agent)

            // The operator replaces the provisioning CA: the server restarts trusting only the other one.
            await deployment.stopServer()
            try await deployment.startServer(["--x509pop-ca-bundle", stranger.caCertificate])
            _ = try await Self.waitForEviction(of: agent.process, reason: "not trusted by the x509pop CA bundle", timeout: .seconds(60))
            let shown = try await deployment.admin(["agent", "show", agent.agentID, "--json"])
            #expect(shown.stdout.contains("untrusted") && shown.stdout.contains("not trusted by the x509pop CA bundle"), "\(shown)")
        }
    }

    @Test("a node whose certificate expires fails its next re-attestation and is evicted")
    func expiredCertificateEvicted() async throws {
        try await Deployment.with { deployment in
            // openssl 3.0 cannot issue a certificate for seconds; swift-certificates can.
            let caKey = try SigningKey(generating: .ecP256)
            let caName = try DistinguishedName { CommonName("Short-lived provisioning CA") }
            let ca = try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: caKey.publicKey,
                notValidBefore: Date().addingTimeInterval(-60), notValidAfter: Date().addingTimeInterval(3600),
                issuer: caName, subject: caName, signatureAlgorithm: caKey.signatureAlgorithm,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                    Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                },
                issuerPrivateKey: caKey.certificatePrivateKey)
            let nodeKey = try SigningKey(generating: .ecP256)
            let expiry = Date().addingTimeInterval(15)
            let node = try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: nodeKey.publicKey,
                notValidBefore: Date().addingTimeInterval(-60), notValidAfter: expiry,
                issuer: caName, subject: try DistinguishedName { CommonName("ephemeral-node") }, signatureAlgorithm: caKey.signatureAlgorithm,
                extensions: try Certificate.Extensions { Critical(KeyUsage(digitalSignature: true)) },
                issuerPrivateKey: caKey.certificatePrivateKey)
            let caPath = try deployment.directory.write("short-ca.pem", try ca.serializeAsPEM().pemString + "\n")
            let nodePath = try deployment.directory.write("short-node.pem", try node.serializeAsPEM().pemString + "\n")
            let keyPath = try deployment.directory.write("short-node-key.pem", nodeKey.pkcs8PEM, mode: 0o600)

            try await deployment.startServer(["--x509pop-ca-bundle", caPath])
            try await deployment.writeBundle()
            let agent = try await deployment.startAgent(
                "node", joinToken: nil, trustBundle: deployment.bundlePath,
                ["--x509pop-cert", nodePath, "--x509pop-key", keyPath, "--reattest-interval", "1"])
            #expect(Date() < expiry, "the node attested before its certificate expired")
            _ = try await Self.waitForEviction(of: agent.process, reason: "expired at", timeout: .seconds(30))
            #expect(Date() >= node.notValidAfter, "refused once the certificate (valid to the second) expired")
            let shown = try await deployment.admin(["agent", "show", agent.agentID, "--json"])
            #expect(shown.stdout.contains("untrusted") && shown.stdout.contains("expired at"), "\(shown)")

            // The same certificate cannot bring the node back.
            await agent.process.terminate()
            try FileManager.default.removeItem(atPath: agent.dataDirectory)
            let again = try await deployment.runFailingAgent(
                "node-again", joinToken: nil, trustBundle: deployment.bundlePath, ["--x509pop-cert", nodePath, "--x509pop-key", keyPath])
            expectError(again, "node attestation refused", "expired at", logs: true)
        }
    }
}
