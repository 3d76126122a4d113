import Foundation
import SPIFFE
import Testing
import TestSupport
import WorkloadAPI
import X509

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// TPM 2.0 node attestation with real processes and a software TPM: the node is enrolled by its
/// EK hash, its agent attests with `--tpm` and serves a workload; then a PCR changes
/// (`tpm2_pcrextend`), the next continuous-attestation quote fails, and the node's and its
/// workload's SVIDs are revoked within a bounded wait (seen on a Workload API stream, in the CRL
/// and by `svid verify --crl`); the node may not attest again until it is re-enrolled.
@Suite(
    "TPM node attestation", .serialized, .timeLimit(.minutes(5)),
    .enabled(if: SoftwareTPM.isAvailable && SoftwareTPM.toolsAvailable, "swtpm and tpm2-tools are not installed"))
struct TPMAttestationTests {
    /// What `agent tpm-info --json` prints.
    struct TPMInfoReport: Decodable {
        let ek_hash: String
        let pcrs: [String: String]
    }

    @Test("a TPM-attested node serves workloads; a PCR change revokes the node and its workloads at once")
    func attestServeAndRevokeOnPCRChange() async throws {
        try await SoftwareTPM.with { tpm in
            try await Deployment.with { deployment in
                let info = try await deployment.cli(["agent", "tpm-info", "--tpm", tpm.tcti, "--json"])
                try #require(expectSuccess(info))
                let ekHash = try info.json(TPMInfoReport.self).ek_hash
                #expect(ekHash.count == 64)

                // PCR 16 is quoted (from the config; it is changed below); the node is enrolled over
                // the admin API with a label.
                let config = try deployment.directory.write("server.yaml", """
                    tpm:
                      pcrs: [0, 16]
                    """)
                try await deployment.startServer(["--config", config], http: true)
                let allow = try await deployment.admin(["server", "tpm", "allow", "--ek-hash", ekHash, "--label", "region:eu"])
                try #require(expectSuccess(allow))
                try await deployment.writeBundle()
                let agent = try await deployment.startAgent(
                    "node", joinToken: nil, trustBundle: deployment.bundlePath, ["--tpm", tpm.tcti, "--reattest-interval", "1"])
                #expect(agent.agentID == deployment.id("/agent/tpm/\(ekHash)"))

                // The hardware link: the agent SVID's first lineage link carries the TPM evidence.
                let lineage = try await deployment.cli(["lineage", "show", agent.dataDirectory + "/agent-svid.pem", "--json"])
                try #require(expectSuccess(lineage))
                #expect(lineage.stdout.contains("tpm:ek-hash:\(ekHash)") && lineage.stdout.contains("region:eu"), "\(lineage)")
                #expect(lineage.stdout.contains("\"evidence\""), "\(lineage)")

                let web = deployment.id("/web")
                try await deployment.createEntry(spiffeID: web, parentID: agent.agentID)
                try await deployment.waitForSVIDs([web], agent: agent)
                let svidDirectory = deployment.directory.file("web")
                try #require(expectSuccess(try await deployment.workload(["svid", "fetch", "--write", svidDirectory], agent: agent)))
                let workloadSerial = try Certificates.leaf(svidDirectory + "/svid.pem").serialNumber.hexString
                let nodeSerial = try Certificates.leaf(agent.dataDirectory + "/agent-svid.pem").serialNumber.hexString

                // Continuous attestation succeeds while nothing changes.
                _ = try await agent.process.waitFor(line: "node re-attested", timeout: .seconds(30))

                // A pod (nested agent) on this node.
                let pod = deployment.id("/pod")
                try await deployment.createEntry(spiffeID: pod, parentID: agent.agentID, ["--nested"])
                try await deployment.waitForSVIDs([pod], agent: agent)
                let podAgent = try await deployment.startNestedAgent("pod", parent: agent, spiffeID: pod)

                let watch = SVIDWatch(socket: agent.socket)
                await watch.start()
                try await eventually("the Workload API stream's first message", timeout: .seconds(10)) {
                    await watch.latest?.contains(workloadSerial) == true ? true : nil
                }

                try await tpm.tool("tpm2_pcrextend", ["16:sha256=" + String(repeating: "ab", count: 32)])
                let base = await deployment.httpBaseURL
                try await eventually("node and workload SVIDs in the CRL", timeout: .seconds(30), interval: .milliseconds(200)) {
                    let pem = String(decoding: try await HTTP.get(base + "/crl?format=pem"), as: UTF8.self)
                    let revoked = try Self.revokedSerials(pem)
                    return revoked.isSuperset(of: [workloadSerial, nodeSerial]) ? true : nil
                }
                // The pod, calling the server through the now untrusted node's lineage, is told why.
                let refused = try await podAgent.process.waitFor(line: "pod moved to an untrusted node", timeout: .seconds(30))
                #expect(refused.contains(agent.agentID), "\(refused)")

                // The stream no longer serves the revoked SVID (or ends: no identity is left).
                try await eventually("the stream dropping the revoked SVID", timeout: .seconds(30)) {
                    await watch.servesNoLonger(workloadSerial) ? true : nil
                }
                await watch.stop()

                // Offline: svid verify with the server's CRL refuses the workload SVID.
                let crl = try deployment.directory.write("crl.pem", String(decoding: try await HTTP.get(base + "/crl?format=pem"), as: UTF8.self))
                let verify = try await deployment.cli(["svid", "verify", "--bundle", deployment.bundlePath, "--crl", crl, svidDirectory + "/svid.pem"])
                #expect(!verify.succeeded && verify.stderr.contains("revoked"), "\(verify)")

                // The server's view: untrusted, and why.
                let shown = try await deployment.admin(["agent", "show", agent.agentID, "--json"])
                try #require(expectSuccess(shown))
                #expect(shown.stdout.contains("\"trust\" : \"untrusted\"") || shown.stdout.contains("\"trust\":\"untrusted\""), "\(shown)")
                #expect(shown.stdout.contains("PCR 16 mismatch"), "\(shown)")
                let listed = try await deployment.admin(["agent", "list"])
                #expect(listed.stdout.contains(agent.agentID) && listed.stdout.contains("tpm") && listed.stdout.contains("untrusted"), "\(listed)")

                // The agent says why; the node stays untrusted: attesting again is refused.
                _ = try await agent.process.waitFor(line: "re-attestation", timeout: .seconds(10))
                await agent.process.terminate()
                try FileManager.default.removeItem(atPath: agent.dataDirectory)
                let again = try await deployment.runFailingAgent(
                    "node-again", joinToken: nil, trustBundle: deployment.bundlePath, ["--tpm", tpm.tcti])
                #expect(!again.succeeded && again.stderr.contains("untrusted"), "\(again)")

                // Re-enrolled (the operator accepts the new state): it attests again and is trusted.
                try #require(expectSuccess(try await deployment.admin(["server", "tpm", "allow", "--ek-hash", ekHash])))
                let back = try await deployment.startAgent(
                    "node-back", joinToken: nil, trustBundle: deployment.bundlePath, ["--tpm", tpm.tcti, "--reattest-interval", "0"])
                #expect(back.agentID == agent.agentID)
                let trusted = try await deployment.admin(["agent", "show", agent.agentID])
                #expect(trusted.stdout.contains("Trust:             trusted"), "\(trusted)")
            }
        }
    }

    @Test("node entries: a workload registered under the EU node group is served only by nodes labelled region:eu")
    func nodeGroupsByLabel() async throws {
        try await SoftwareTPM.with { tpm in
            try await Deployment.with { deployment in
                let info = try await deployment.cli(["agent", "tpm-info", "--tpm", tpm.tcti, "--json"])
                try #require(expectSuccess(info))
                let ekHash = try info.json(TPMInfoReport.self).ek_hash
                try await deployment.startServer()
                try #require(expectSuccess(try await deployment.admin(["server", "tpm", "allow", "--ek-hash", ekHash, "--label", "region:eu"])))
                let eu = deployment.id("/cluster/eu"), us = deployment.id("/cluster/us")
                try #require(expectSuccess(try await deployment.admin(["entry", "create", "--node", "--spiffe-id", eu, "--selector", "region:eu"])))
                try #require(expectSuccess(try await deployment.admin(["entry", "create", "--node", "--spiffe-id", us, "--selector", "region:us"])))
                let payments = deployment.id("/payments"), billing = deployment.id("/billing")
                try await deployment.createEntry(spiffeID: payments, parentID: eu)
                try await deployment.createEntry(spiffeID: billing, parentID: us)

                try await deployment.writeBundle()
                let agent = try await deployment.startAgent(
                    "node", joinToken: nil, trustBundle: deployment.bundlePath, ["--tpm", tpm.tcti, "--reattest-interval", "0"])
                // The node is in the EU group: it serves the EU workload, never the US one.
                let set = try await deployment.waitForSVIDs([payments], agent: agent)
                #expect(!set.svids.contains { $0.spiffeID == billing })
                let shown = try await deployment.admin(["agent", "show", agent.agentID])
                #expect(shown.stdout.contains("Node group:        \(eu)") && !shown.stdout.contains(us), "\(shown)")

                // A group created while the node is connected reaches it at once.
                let everywhere = deployment.id("/cluster/all-tpm")
                try #require(expectSuccess(try await deployment.admin(["entry", "create", "--node", "--spiffe-id", everywhere, "--selector", "tpm:ek-hash:\(ekHash)"])))
                let metrics = deployment.id("/metrics-exporter")
                try await deployment.createEntry(spiffeID: metrics, parentID: everywhere)
                try await deployment.waitForSVIDs([payments, metrics], agent: agent)

                // Node entries are refused what they cannot be: nested, issued with DNS names.
                let nested = try await deployment.admin(["entry", "create", "--node", "--spiffe-id", deployment.id("/cluster/x"), "--selector", "region:eu", "--nested"])
                expectError(nested, "--node names a group of nodes")
            }
        }
    }

    /// What `lineage verify --json` prints of the hardware link.
    struct VerifiedLineage: Decodable {
        struct Hardware: Decodable { let ek_hash: String; let pcrs: [String: String] }
        let verified: Bool
        let hardware: Hardware?
    }

    @Test("a TPM agent renews by attesting afresh: each SVID's hardware link is a quote binding its own key, which lineage verify checks")
    func renewalCarriesAFreshQuote() async throws {
        try await SoftwareTPM.with { tpm in
            try await Deployment.with { deployment in
                let info = try await deployment.cli(["agent", "tpm-info", "--tpm", tpm.tcti, "--json"])
                try #require(expectSuccess(info))
                let ekHash = try info.json(TPMInfoReport.self).ek_hash
                // Agent SVIDs live 20 s: renewed every 10 s.
                try await deployment.startServer(["--agent-ttl", "20s"])
                try #require(expectSuccess(try await deployment.admin(["server", "tpm", "allow", "--ek-hash", ekHash])))
                try await deployment.writeBundle()
                let agent = try await deployment.startAgent(
                    "node", joinToken: nil, trustBundle: deployment.bundlePath, ["--tpm", tpm.tcti, "--reattest-interval", "3"])
                let svid = agent.dataDirectory + "/agent-svid.pem"
                let firstSerial = try Certificates.leafSerial(svid)

                let verified = try await deployment.cli(["lineage", "verify", "--bundle", deployment.bundlePath, svid, "--json"])
                try #require(expectSuccess(verified))
                let report = try verified.json(VerifiedLineage.self)
                #expect(report.verified && report.hardware?.ek_hash == ekHash, "\(verified)")
                #expect(report.hardware?.pcrs.isEmpty == false)

                _ = try await agent.process.waitFor(line: "agent SVID renewed", timeout: .seconds(40))
                let renewedSerial = try await eventually("the renewed agent SVID on disk", timeout: .seconds(10)) {
                    let serial = try Certificates.leafSerial(svid)
                    return serial != firstSerial ? serial : nil
                }
                #expect(renewedSerial != firstSerial)
                let again = try await deployment.cli(["lineage", "verify", "--bundle", deployment.bundlePath, svid])
                #expect(again.succeeded && again.stdout.contains("hardware: TPM quote verified (EK \(ekHash)"), "\(again)")
                // Continuous attestation goes on with the new SVID (its evidence names the new AK).
                _ = try await agent.process.waitFor(line: "node re-attested", after: agent.process.mark(), timeout: .seconds(30))

                // A workload under the renewed agent: its lineage's hardware link verifies too.
                let web = deployment.id("/web")
                try await deployment.createEntry(spiffeID: web, parentID: agent.agentID)
                try await deployment.waitForSVIDs([web], agent: agent)
                let out = deployment.directory.file("web")
                try #require(expectSuccess(try await deployment.workload(["svid", "fetch", "--write", out], agent: agent)))
                let workload = try await deployment.cli(["lineage", "verify", "--bundle", deployment.bundlePath, out + "/svid.pem", "--json"])
                #expect(workload.succeeded && (try? workload.json(VerifiedLineage.self).hardware?.ek_hash) == ekHash, "\(workload)")
            }
        }
    }

    @Test("an agent that stops re-attesting is evicted after the server's max attestation age, its identities revoked")
    func silentAgentIsEvicted() async throws {
        try await SoftwareTPM.with { tpm in
            try await Deployment.with { deployment in
                let info = try await deployment.cli(["agent", "tpm-info", "--tpm", tpm.tcti, "--json"])
                try #require(expectSuccess(info))
                let ekHash = try info.json(TPMInfoReport.self).ek_hash
                let config = try deployment.directory.write("server.yaml", """
                    agents:
                      max_attestation_age: 4s
                    audit:
                      sign_interval: 1h
                    """)
                try await deployment.startServer(["--config", config], http: true)
                try #require(expectSuccess(try await deployment.admin(["server", "tpm", "allow", "--ek-hash", ekHash])))
                try await deployment.writeBundle()
                // This agent never re-attests.
                let agent = try await deployment.startAgent(
                    "node", joinToken: nil, trustBundle: deployment.bundlePath, ["--tpm", tpm.tcti, "--reattest-interval", "0"])
                let nodeSerial = try Certificates.leafSerial(agent.dataDirectory + "/agent-svid.pem")
                try await eventually("the silent agent evicted", timeout: .seconds(30), interval: .milliseconds(500)) {
                    let shown = try await deployment.admin(["agent", "show", agent.agentID])
                    return shown.stdout.contains("Trust:             evicted") ? true : nil
                }
                let base = await deployment.httpBaseURL
                try await eventually("the agent SVID on the CRL", timeout: .seconds(15), interval: .milliseconds(200)) {
                    let pem = String(decoding: try await HTTP.get(base + "/crl?format=pem"), as: UTF8.self)
                    return try Self.revokedSerials(pem).contains(nodeSerial) ? true : nil
                }
                let audit = try await deployment.admin(["audit", "show", "--spiffe-id", agent.agentID])
                #expect(audit.stdout.contains("agent.evict") && audit.stdout.contains("no successful attestation for"), "\(audit)")
            }
        }
    }

    @Test("an EK that is not enrolled is refused")
    func unknownEKIsRefused() async throws {
        try await SoftwareTPM.with { tpm in
            try await Deployment.with { deployment in
                try await deployment.startServer()
                try await deployment.writeBundle()
                let refused = try await deployment.runFailingAgent("stranger", joinToken: nil, trustBundle: deployment.bundlePath, ["--tpm", tpm.tcti])
                #expect(!refused.succeeded && refused.stderr.contains("unknown EK"), "\(refused)")
            }
        }
    }

    /// Serial numbers in PEM CRLs, as `hexString` prints them.
    static func revokedSerials(_ pem: String) throws -> Set<String> {
        var serials = Set<String>()
        for crl in try CertificateRevocationListPEM.parse(pem) {
            serials.formUnion(crl)
        }
        return serials
    }
}

/// Reads the serial numbers of PEM CRLs with `openssl crl -text` semantics, without openssl: DER
/// walking of `TBSCertList.revokedCertificates`.
enum CertificateRevocationListPEM {
    static func parse(_ pem: String) throws -> [Set<String>] {
        var result: [Set<String>] = []
        var inside = false
        var base64 = ""
        for line in pem.split(whereSeparator: \.isNewline) {
            if line.hasPrefix("-----BEGIN X509 CRL") { inside = true; base64 = ""; continue }
            if line.hasPrefix("-----END X509 CRL") {
                inside = false
                guard let der = Data(base64Encoded: base64) else { throw TestProcessError(description: "bad CRL PEM") }
                result.append(try serials(Array(der)))
                continue
            }
            if inside { base64 += line }
        }
        return result
    }

    /// CertificateList ::= SEQUENCE { tbsCertList SEQUENCE { version INTEGER OPTIONAL, signature,
    /// issuer, thisUpdate, nextUpdate OPTIONAL, revokedCertificates SEQUENCE OF SEQUENCE
    /// { userCertificate INTEGER, … } OPTIONAL, [0] extensions OPTIONAL }, … }
    static func serials(_ der: [UInt8]) throws -> Set<String> {
        var outer = DERCursor(der)
        var list = try outer.enter(tag: 0x30)
        var tbs = try list.enter(tag: 0x30)
        if tbs.peek == 0x02 { _ = try tbs.element() }  // version
        _ = try tbs.element()  // signature
        _ = try tbs.element()  // issuer
        _ = try tbs.element()  // thisUpdate
        if tbs.peek == 0x17 || tbs.peek == 0x18 { _ = try tbs.element() }  // nextUpdate
        guard tbs.peek == 0x30 else { return [] }
        var revoked = try tbs.enter(tag: 0x30)
        var serials = Set<String>()
        while !revoked.atEnd {
            var entry = try revoked.enter(tag: 0x30)
            let (tag, value) = try entry.element()
            guard tag == 0x02 else { throw TestProcessError(description: "CRL entry without a serial") }
            serials.insert(Certificate.SerialNumber(bytes: ArraySlice(value)).hexString)
        }
        return serials
    }

    struct DERCursor {
        let bytes: [UInt8]
        var index = 0
        init(_ bytes: [UInt8]) { self.bytes = bytes }
        var atEnd: Bool { index >= bytes.count }
        var peek: UInt8? { atEnd ? nil : bytes[index] }

        mutating func element() throws -> (UInt8, [UInt8]) {
            guard index + 2 <= bytes.count else { throw TestProcessError(description: "truncated DER") }
            let tag = bytes[index]
            var length = Int(bytes[index + 1])
            index += 2
            if length & 0x80 != 0 {
                let count = length & 0x7F
                guard count <= 4, index + count <= bytes.count else { throw TestProcessError(description: "bad DER length") }
                length = bytes[index..<index + count].reduce(0) { $0 << 8 | Int($1) }
                index += count
            }
            guard index + length <= bytes.count else { throw TestProcessError(description: "truncated DER") }
            defer { index += length }
            return (tag, Array(bytes[index..<index + length]))
        }

        mutating func enter(tag expected: UInt8) throws -> DERCursor {
            let (tag, value) = try element()
            guard tag == expected else { throw TestProcessError(description: "DER tag \(tag), expected \(expected)") }
            return DERCursor(value)
        }
    }
}

/// A Workload API X.509 stream read in the background: the serials of each message, and whether
/// the stream ended.
actor SVIDWatch {
    private let socket: String
    private var messages: [Set<String>] = []
    private var ended = false
    private var task: Task<Void, Never>?

    init(socket: String) { self.socket = socket }

    func start() {
        let socket = self.socket
        task = Task { [weak self] in
            do {
                let address = try WorkloadAPIAddress(socket)
                try await WorkloadAPIClient.withClient(address: address) { client in
                    for try await set in client.watchX509Context() {
                        let serials = Set(set.svids.compactMap { try? Certificate(derEncoded: $0.certificateChain[0]).serialNumber.hexString })
                        await self?.record(serials)
                    }
                }
            } catch {}
            await self?.finish()
        }
    }

    func stop() { task?.cancel() }

    private func record(_ serials: Set<String>) { messages.append(serials) }
    private func finish() { ended = true }

    var latest: Set<String>? { messages.last }

    /// The stream ended, or its last message lacks `serial`.
    func servesNoLonger(_ serial: String) -> Bool {
        ended || (messages.last.map { !$0.contains(serial) } ?? false)
    }
}
