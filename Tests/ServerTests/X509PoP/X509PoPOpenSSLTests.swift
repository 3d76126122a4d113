import Attestation
import Authority
import Foundation
import SPIFFE
import Server
import Testing
import X509

/// x509pop against certificates and keys made by `openssl`, an implementation independent of
/// ours: the agent side reads them as an operator would provide them (SEC1 EC keys with their
/// parameters block, PKCS#1 RSA keys, PKCS#8), and the server verifies the chain and the proof.
@Suite("x509pop with openssl-made PKI", .enabled(if: OpenSSL.path != nil, "openssl is not installed"))
struct X509PoPOpenSSLTests {
    static let keyCommands: [String: [String]] = [
        "ec-sec1": ["ecparam", "-genkey", "-name", "prime256v1", "-out", "node-key.pem"],
        "ec-p384-pkcs8": ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:secp384r1", "-out", "node-key.pem"],
        "rsa-pkcs1": ["genrsa", "-traditional", "-out", "node-key.pem", "2048"],
        "rsa-pkcs8": ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "node-key.pem"],
    ]

    @Test(arguments: ["ec-sec1", "ec-p384-pkcs8", "rsa-pkcs1", "rsa-pkcs8"])
    func attestsWithAnOpenSSLNodeCertificateAndKey(_ keyKind: String) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("x509pop-openssl-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        func openssl(_ arguments: [String]) async throws {
            let result = try await OpenSSL.run(arguments, in: directory)
            try #require(result.succeeded, "\(result)")
        }
        try "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n".write(
            to: directory.appendingPathComponent("ca.ext"), atomically: true, encoding: .utf8)
        try "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nsubjectAltName=DNS:node-7.example.org,URI:urn:rack:7\n".write(
            to: directory.appendingPathComponent("node.ext"), atomically: true, encoding: .utf8)
        try await openssl([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "root-key.pem", "-out", "root.pem", "-days", "2",
            "-subj", "/CN=Provisioning Root", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        ])
        try await openssl(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                           "-keyout", "issuing-key.pem", "-out", "issuing.csr", "-subj", "/CN=Provisioning Issuing CA"])
        try await openssl(["x509", "-req", "-in", "issuing.csr", "-CA", "root.pem", "-CAkey", "root-key.pem", "-CAcreateserial",
                           "-out", "issuing.pem", "-days", "2", "-extfile", "ca.ext"])
        try await openssl(try #require(Self.keyCommands[keyKind]))
        try await openssl(["req", "-new", "-key", "node-key.pem", "-out", "node.csr", "-subj", "/CN=node-7.example.org"])
        try await openssl(["x509", "-req", "-in", "node.csr", "-CA", "issuing.pem", "-CAkey", "issuing-key.pem", "-CAcreateserial",
                           "-out", "node.pem", "-days", "1", "-extfile", "node.ext"])
        let path = { (name: String) in directory.appendingPathComponent(name).path }
        let chain = try String(contentsOfFile: path("node.pem"), encoding: .utf8) + String(contentsOfFile: path("issuing.pem"), encoding: .utf8)
        try chain.write(toFile: path("node-chain.pem"), atomically: true, encoding: .utf8)

        // The agent side reads the operator's files; the server side its bundle file.
        let credentials = try X509PoPCredentials.load(certificatePath: path("node-chain.pem"), keyPath: path("node-key.pem"))
        let attestor = try X509PoPAttestor(settings: X509PoPSettings(caBundlePath: path("root.pem")))
        let node = PoPNode(chain: credentials.chainDER, key: credentials.key)
        let agentKey = try SigningKey(generating: .ecP256).publicKey
        let result = try await attestor.attest(
            payload: node.payload(), agentKey: agentKey, trustDomain: try TrustDomain("example.org"), challenger: node.honest(agentKey: agentKey))

        // openssl's own SHA-256 fingerprint of the node certificate is the agent's ID.
        let printed = try await OpenSSL.run(["x509", "-in", "node.pem", "-noout", "-fingerprint", "-sha256"], in: directory)
        let fingerprint = String(printed.stdout.split(separator: "=").last ?? "")
            .trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: ":", with: "").lowercased()
        #expect(result.agentID.description == "spiffe://example.org/agent/x509pop/\(fingerprint)")
        let selectors = Set(result.selectors.map(\.description))
        #expect(selectors.isSuperset(of: ["x509pop:subject:cn:node-7.example.org", "x509pop:san:dns:node-7.example.org", "x509pop:san:uri:urn:rack:7"]))
        #expect(selectors.filter { $0.hasPrefix("x509pop:ca:fingerprint:") }.count == 2)
    }
}
