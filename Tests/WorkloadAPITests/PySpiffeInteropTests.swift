import Foundation
import Testing
import WorkloadAPI

/// An independent SPIFFE implementation (py-spiffe, on grpcio) against our server: proves the
/// wire format, the header and the status codes are the standard ones.
@Suite("Interop with py-spiffe", .enabled(if: PythonRunner.spiffeAvailable, "py-spiffe is not installed (pip install spiffe)"))
struct PySpiffeInteropTests {
    static let script = #"""
    import sys
    from spiffe import WorkloadApiClient

    # SPIFFE_ENDPOINT_SOCKET (unix:///…) comes from the environment, as for any SPIFFE workload.
    with WorkloadApiClient(default_timeout=20) as client:
        svid = client.fetch_x509_svid()
        print("SPIFFE_ID", svid.spiffe_id)
        print("CHAIN_LEN", len(svid.cert_chain))
        context = client.fetch_x509_context()
        print("X509_CONTEXT_TDS", ",".join(sorted(str(b.trust_domain) for b in context.x509_bundle_set.bundles)))
        bundles = client.fetch_x509_bundles()
        print("X509_BUNDLE_TDS", ",".join(sorted(str(b.trust_domain) for b in bundles.bundles)))
        jwt_bundles = client.fetch_jwt_bundles()
        for bundle in sorted(jwt_bundles.bundles, key=lambda b: str(b.trust_domain)):
            print("JWT_BUNDLE", bundle.trust_domain, ",".join(sorted(bundle.jwt_authorities.keys())))
        jwt = client.fetch_jwt_svid(audience={"test-audience"})
        print("JWT_SUB", jwt.spiffe_id)
        validated = client.validate_jwt_svid(jwt.token, "test-audience")
        print("VALIDATED", validated.spiffe_id)
        try:
            client.validate_jwt_svid("not-a-token", "test-audience")
            print("INVALID_TOKEN accepted")
        except Exception as error:
            print("INVALID_TOKEN rejected", type(error).__name__)
    print("DONE")
    """#

    @Test("py-spiffe fetches the X509-SVID, bundles and JWT material from our server")
    func pySpiffeClient() async throws {
        let pki = try TestPKI()
        let provider = try TestIdentityProvider.standard(pki: pki)
        await provider.setJWTIssuer(pki)
        let token = try pki.jwtSVID(spiffeID: "spiffe://example.org/workload", audience: ["test-audience"])
        await provider.setValidToken(token)
        await provider.setValidated(ValidatedJWT(spiffeID: "spiffe://example.org/workload", claims: ["sub": .string("spiffe://example.org/workload")]))

        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let scriptPath = directory.file("interop.py")
        try Data(Self.script.utf8).write(to: URL(fileURLWithPath: scriptPath))

        let output = try await withTestServer(provider: provider) { _, address in
            try await PythonRunner.run([scriptPath], environment: ["SPIFFE_ENDPOINT_SOCKET": address.uri], timeout: 90)
        }
        let lines = output.stdout.split(separator: "\n").map(String.init)
        #expect(output.status == 0, "stdout:\n\(output.stdout)\nstderr:\n\(output.stderr)")
        #expect(lines.contains("SPIFFE_ID spiffe://example.org/workload"), "\(output.stdout)\n\(output.stderr)")
        #expect(lines.contains("CHAIN_LEN 1"))
        #expect(lines.contains("X509_CONTEXT_TDS example.org,other.org"))
        #expect(lines.contains("X509_BUNDLE_TDS example.org"))
        #expect(lines.contains("JWT_BUNDLE example.org \(pki.jwtKeyID)"))
        #expect(lines.contains("JWT_SUB spiffe://example.org/workload"))
        #expect(lines.contains("VALIDATED spiffe://example.org/workload"))
        #expect(lines.contains { $0.hasPrefix("INVALID_TOKEN rejected") })
        #expect(lines.last == "DONE")
    }
}

/// A workload running as another user (nobody, 65534) reaches the 0777 socket and is identified
/// by its own uid/gid/pid, which the client cannot influence.
@Suite("Callers of another uid", .enabled(if: PythonRunner.canRunAsOtherUser, "needs root, setpriv and py-spiffe"))
struct OtherUserTests {
    static let script = #"""
    import os
    from spiffe import WorkloadApiClient
    with WorkloadApiClient(default_timeout=20) as client:
        bundles = client.fetch_jwt_bundles()
        print("PID", os.getpid())
        print("UID", os.getuid(), os.getgid())
        print("TDS", ",".join(sorted(str(b.trust_domain) for b in bundles.bundles)))
    """#

    @Test("uid 65534 connects and is identified as 65534 with its own pid")
    func nobodyIsIdentified() async throws {
        let provider = try TestIdentityProvider.standard(pki: TestPKI())
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let scriptPath = directory.file("nobody.py")
        try Data(Self.script.utf8).write(to: URL(fileURLWithPath: scriptPath))

        let output = try await withTestServer(provider: provider) { _, address in
            try await PythonRunner.run([scriptPath], environment: ["SPIFFE_ENDPOINT_SOCKET": address.uri], timeout: 90, uid: 65534)
        }
        #expect(output.status == 0, "stdout:\n\(output.stdout)\nstderr:\n\(output.stderr)")
        let lines = output.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains("UID 65534 65534"))
        #expect(lines.contains("TDS example.org"))
        let pid = try #require(lines.first { $0.hasPrefix("PID ") }.flatMap { Int32($0.dropFirst(4)) })
        #expect(await provider.callers == [CallerCredentials(pid: pid, uid: 65534, gid: 65534)])
    }
}
