import Foundation
import Testing

/// Certificates made by the `openssl` command line (an implementation independent of ours):
/// roots, a valid leaf and one leaf for each malformed kind. Built once per suite that uses the
/// `.openSSLFixture` trait, in a directory removed afterwards.
struct OpenSSLFixture: Sendable {
    let directory: URL

    @TaskLocal static var current: OpenSSLFixture?

    static func get() throws -> OpenSSLFixture {
        try #require(current, "the suite needs the .openSSLFixture trait")
    }

    func path(_ name: String) -> String { directory.path(name) }

    static let spiffeID = "spiffe://example.org/workload"

    /// Extension sections, each breaking (or keeping) one X509-SVID rule.
    static let config = """
        [ req ]
        distinguished_name = dn
        prompt = no
        [ dn ]
        CN = placeholder

        [ ca ]
        default_ca = test_ca
        [ test_ca ]
        database = DIR/index.txt
        new_certs_dir = DIR/newcerts
        serial = DIR/serial
        default_md = sha256
        policy = policy_any
        unique_subject = no
        copy_extensions = none
        email_in_dn = no
        [ policy_any ]
        commonName = supplied

        [ root ]
        basicConstraints = critical, CA:TRUE
        keyUsage = critical, keyCertSign, cRLSign
        subjectKeyIdentifier = hash
        subjectAltName = URI:spiffe://example.org

        [ intermediate ]
        basicConstraints = critical, CA:TRUE
        keyUsage = critical, keyCertSign, cRLSign
        subjectKeyIdentifier = hash
        authorityKeyIdentifier = keyid
        subjectAltName = URI:spiffe://example.org

        [ intermediate_not_ca ]
        basicConstraints = critical, CA:FALSE
        keyUsage = critical, digitalSignature, keyCertSign
        subjectKeyIdentifier = hash
        authorityKeyIdentifier = keyid

        [ leaf ]
        basicConstraints = critical, CA:FALSE
        keyUsage = critical, digitalSignature, keyAgreement
        extendedKeyUsage = serverAuth, clientAuth
        subjectKeyIdentifier = hash
        authorityKeyIdentifier = keyid
        subjectAltName = URI:spiffe://example.org/workload, DNS:workload.example.org

        [ leaf_rsa ]
        basicConstraints = critical, CA:FALSE
        keyUsage = critical, digitalSignature, keyEncipherment
        extendedKeyUsage = serverAuth, clientAuth
        subjectAltName = URI:spiffe://example.org/workload

        [ leaf_ca_true ]
        basicConstraints = critical, CA:TRUE
        keyUsage = critical, digitalSignature
        subjectAltName = URI:spiffe://example.org/workload

        [ leaf_key_cert_sign ]
        basicConstraints = critical, CA:FALSE
        keyUsage = critical, digitalSignature, keyCertSign
        subjectAltName = URI:spiffe://example.org/workload

        [ leaf_crl_sign ]
        basicConstraints = critical, CA:FALSE
        keyUsage = critical, digitalSignature, cRLSign
        subjectAltName = URI:spiffe://example.org/workload

        [ leaf_no_digital_signature ]
        basicConstraints = critical, CA:FALSE
        keyUsage = critical, keyAgreement
        subjectAltName = URI:spiffe://example.org/workload

        [ leaf_no_key_usage ]
        basicConstraints = critical, CA:FALSE
        subjectAltName = URI:spiffe://example.org/workload

        [ leaf_no_uri ]
        basicConstraints = critical, CA:FALSE
        keyUsage = critical, digitalSignature
        subjectAltName = DNS:workload.example.org

        [ leaf_two_uris ]
        basicConstraints = critical, CA:FALSE
        keyUsage = critical, digitalSignature
        subjectAltName = URI:spiffe://example.org/workload, URI:spiffe://example.org/other

        [ leaf_https_uri ]
        basicConstraints = critical, CA:FALSE
        keyUsage = critical, digitalSignature
        subjectAltName = URI:https://example.org/workload

        [ leaf_other_domain ]
        basicConstraints = critical, CA:FALSE
        keyUsage = critical, digitalSignature
        subjectAltName = URI:spiffe://other.org/workload
        """

    static func make() async throws -> OpenSSLFixture {
        let directory = try makeTemporaryDirectory()
        let fixture = OpenSSLFixture(directory: directory)
        do {
            try await fixture.build()
        } catch {
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
        return fixture
    }

    func remove() { try? FileManager.default.removeItem(at: directory) }

    private func openssl(_ arguments: [String]) async throws {
        try await Subprocess.check("openssl", arguments, in: directory)
    }

    private func key(_ name: String, rsa: Bool = false) async throws {
        let options = rsa ? ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"] : ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]
        try await openssl(["genpkey"] + options + ["-out", name + ".key"])
    }

    private func root(_ name: String, subject: String, rsa: Bool = false) async throws {
        try await key(name, rsa: rsa)
        try await openssl(["req", "-new", "-x509", "-config", "openssl.cnf", "-key", name + ".key", "-subj", subject,
                           "-days", "2", "-extensions", "root", "-out", name + ".pem"])
    }

    private func csr(_ name: String, subject: String) async throws {
        try await openssl(["req", "-new", "-config", "openssl.cnf", "-key", name + ".key", "-subj", subject, "-out", name + ".csr"])
    }

    /// Signs `csr` with `issuer`, for a day from now.
    private func sign(_ csr: String, issuer: String, extensions: String, out: String) async throws {
        let bytes = [UInt8.random(in: 1...0x7F)] + (0..<15).map { _ in UInt8.random(in: 0...255) }
        let serial = "0x" + bytes.map { String(format: "%02x", $0) }.joined()
        try await openssl(["x509", "-req", "-in", csr + ".csr", "-CA", issuer + ".pem", "-CAkey", issuer + ".key",
                           "-set_serial", serial, "-days", "1", "-sha256", "-extfile", "openssl.cnf",
                           "-extensions", extensions, "-out", out + ".pem"])
    }

    /// Signs with explicit dates through `openssl ca` (OpenSSL 3.0's `x509` cannot set them).
    private func signDated(_ csr: String, issuer: String?, extensions: String, start: String, end: String, out: String) async throws {
        var arguments = ["ca", "-config", "openssl.cnf", "-batch", "-notext", "-in", csr + ".csr",
                         "-startdate", start, "-enddate", end, "-extfile", "openssl.cnf", "-extensions", extensions,
                         "-out", out + ".pem"]
        if let issuer {
            arguments += ["-cert", issuer + ".pem", "-keyfile", issuer + ".key"]
        } else {
            arguments += ["-selfsign", "-keyfile", csr + ".key"]
        }
        try await openssl(arguments)
    }

    private func build() async throws {
        try directory.write("openssl.cnf", Self.config.replacingOccurrences(of: "DIR", with: directory.path))
        try directory.write("index.txt", "")
        try directory.write("serial", "1000\n")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("newcerts"), withIntermediateDirectories: true)

        try await root("root", subject: "/O=OpenSSL Interop/CN=Test Root")
        try await root("root-rsa", subject: "/CN=Test Root RSA", rsa: true)
        try await root("other-root", subject: "/CN=Other Root")
        try await openssl(["x509", "-in", "root.pem", "-outform", "DER", "-out", "root.der"])
        try directory.write("both-roots.pem", try Data(contentsOf: directory.appendingPathComponent("root-rsa.pem"))
            + (try Data(contentsOf: directory.appendingPathComponent("root.pem"))))

        // A root that expired in 2021.
        try await key("expired-root")
        try await csr("expired-root", subject: "/CN=Expired Root")
        try await signDated("expired-root", issuer: nil, extensions: "root", start: "20200101000000Z", end: "20210101000000Z", out: "expired-root")

        // Intermediates: a proper one and one that is not a CA.
        for (name, extensions) in [("intermediate", "intermediate"), ("intermediate-not-ca", "intermediate_not_ca")] {
            try await key(name)
            try await csr(name, subject: "/CN=\(name)")
            try await sign(name, issuer: "root", extensions: extensions, out: name)
        }

        // One workload key and CSR, signed many ways.
        try await key("leaf")
        try await csr("leaf", subject: "/CN=workload")
        try await key("leaf-rsa", rsa: true)
        try await csr("leaf-rsa", subject: "/CN=workload")
        try await sign("leaf", issuer: "root", extensions: "leaf", out: "valid")
        try await openssl(["x509", "-in", "valid.pem", "-outform", "DER", "-out", "valid.der"])
        try await sign("leaf-rsa", issuer: "root-rsa", extensions: "leaf_rsa", out: "valid-rsa")
        for section in ["leaf_ca_true", "leaf_key_cert_sign", "leaf_crl_sign", "leaf_no_digital_signature", "leaf_no_key_usage",
                        "leaf_no_uri", "leaf_two_uris", "leaf_https_uri", "leaf_other_domain"] {
            try await sign("leaf", issuer: "root", extensions: section, out: section)
        }
        try await sign("leaf", issuer: "other-root", extensions: "leaf", out: "wrong-ca")
        try await sign("leaf", issuer: "expired-root", extensions: "leaf", out: "under-expired-root")
        try await signDated("leaf", issuer: "root", extensions: "leaf", start: "20200101000000Z", end: "20200102000000Z", out: "expired")
        try await signDated("leaf", issuer: "root", extensions: "leaf", start: "20990101000000Z", end: "20991231000000Z", out: "not-yet-valid")

        // The root as a SPIFFE bundle, written by Python (x509-svid entries with x5c).
        let bundle = try await Matryoshka.python(["spiffe-bundle", path("root.pem"), path("root-spiffe-bundle.json")])
        guard bundle.succeeded else { throw SubprocessError(description: "python could not write the SPIFFE bundle: \(bundle)") }

        // Chains: leaf first, then the intermediate.
        try await sign("leaf", issuer: "intermediate", extensions: "leaf", out: "via-intermediate")
        try await sign("leaf", issuer: "intermediate-not-ca", extensions: "leaf", out: "via-not-ca")
        for (leaf, intermediate) in [("via-intermediate", "intermediate"), ("via-not-ca", "intermediate-not-ca")] {
            try directory.write(leaf + "-chain.pem", try Data(contentsOf: directory.appendingPathComponent(leaf + ".pem"))
                + (try Data(contentsOf: directory.appendingPathComponent(intermediate + ".pem"))))
        }
    }
}

/// Builds the OpenSSL fixture once for the suite it is attached to and removes it afterwards.
struct OpenSSLFixtureTrait: SuiteTrait, TestScoping {
    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        let fixture = try await OpenSSLFixture.make()
        defer { fixture.remove() }
        try await OpenSSLFixture.$current.withValue(fixture) { try await function() }
    }
}

extension Trait where Self == OpenSSLFixtureTrait {
    static var openSSLFixture: Self { Self() }
}
