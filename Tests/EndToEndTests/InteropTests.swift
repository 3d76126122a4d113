import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Testing
import WorkloadAPI

/// Unmodified SPIFFE clients against a real agent: py-spiffe (an independent implementation on
/// grpcio) and a plain gRPC client that does not send the Workload API's security header.
@Suite("Interop", .timeLimit(.minutes(2)))
struct InteropTests {
    struct FetchReport: Decodable {
        struct X509: Decodable {
            let spiffe_id: String
            let trust_domain: String
            let chain_length: Int
            let serial: String
            let key_matches_leaf: Bool
        }
        struct JWT: Decodable {
            let spiffe_id: String
            let audience: [String]
            let expiry: Int
        }
        struct Validated: Decodable { let spiffe_id: String }

        let x509_svid: X509
        let x509_svids: [String]
        let x509_context_default: String
        let x509_bundles: [String: [String]]
        let x509_issuer_in_bundle: Bool
        let jwt_svid: JWT
        let jwt_bundles: [String: [String]]
        let validated: Validated
        let validated_offline: Validated
        let wrong_audience: String
    }

    @Test("py-spiffe fetches X509-SVIDs, bundles and a JWT-SVID, and validates the JWT", .enabled(if: Python.hasPySpiffe, "py-spiffe is not installed (pip install spiffe)"))
    func pySpiffe() async throws {
        try await Deployment.with { deployment in
            let agent = try await deployment.startServerAndAgent()
            let workloadID = deployment.id("/py/workload")
            try await deployment.createEntry(spiffeID: workloadID)
            try await deployment.waitForSVIDs([workloadID], agent: agent)

            let result = try await deployment.python("workload_api.py", ["fetch", agent.socketURI, "spiffe://example.org/api"])
            try #require(result.succeeded, "\(result)")
            let report = try result.json(FetchReport.self)
            #expect(report.x509_svid.spiffe_id == workloadID)
            #expect(report.x509_svid.trust_domain == "example.org")
            #expect(report.x509_svid.chain_length == 1)
            #expect(report.x509_svid.key_matches_leaf)
            #expect(report.x509_svids == [workloadID])
            #expect(report.x509_context_default == workloadID)
            #expect(report.x509_issuer_in_bundle)
            #expect(Array(report.x509_bundles.keys) == ["example.org"])
            #expect(report.x509_bundles["example.org"]?.isEmpty == false)
            #expect(report.jwt_svid.spiffe_id == workloadID)
            #expect(report.jwt_svid.audience == ["spiffe://example.org/api"])
            #expect(abs(Double(report.jwt_svid.expiry) - Date().timeIntervalSince1970 - 300) < 60, "default JWT TTL is 5 min")
            #expect(Array(report.jwt_bundles.keys) == ["example.org"])
            #expect(report.jwt_bundles["example.org"]?.isEmpty == false)
            #expect(report.validated.spiffe_id == workloadID)
            #expect(report.validated_offline.spiffe_id == workloadID)
            #expect(report.wrong_audience.hasPrefix("rejected"), "\(report.wrong_audience)")

            // The bundle py-spiffe got is the server's: same CA serials as `server bundle show`.
            let bundle = try await deployment.writeBundle()
            let serials = try Certificates.serials(pemFile: bundle)
            #expect(report.x509_bundles["example.org"].map(Set.init) == Set(serials))
        }
    }

    @Test("a plain gRPC call without the workload.spiffe.io header gets InvalidArgument (python and Swift)")
    func missingSecurityHeader() async throws {
        try await Deployment.with { deployment in
            let agent = try await deployment.startServerAndAgent()
            try await deployment.createEntry(spiffeID: deployment.id("/header"))
            try await deployment.waitForSVIDs([deployment.id("/header")], agent: agent)

            if Python.hasPySpiffe {
                struct Outcome: Decodable { let code: String; let details: String }
                let result = try await deployment.python("workload_api.py", ["header", agent.socketURI])
                try #require(result.succeeded, "\(result)")
                let outcomes = try result.json([String: Outcome].self)
                #expect(outcomes["without"]?.code == "INVALID_ARGUMENT")
                #expect(outcomes["without"]?.details.contains("workload.spiffe.io") == true, "\(result)")
                // The same call with the header is served: the header is the only difference.
                #expect(outcomes["with"]?.code == "OK", "\(result)")
            }

            // grpc-swift, generated client, no metadata.
            let transport = try HTTP2ClientTransport.Posix(target: .unixDomainSocket(path: agent.socket), transportSecurity: .plaintext)
            try await withGRPCClient(transport: transport) { client in
                let api = Workload_SpiffeWorkloadAPI.Client(wrapping: client)
                var request = Workload_JWTSVIDRequest()
                request.audience = ["x"]
                let error = await #expect(throws: RPCError.self) { try await api.fetchJWTSVID(request) }
                #expect(error?.code == .invalidArgument)
                #expect(error?.message.contains("security header missing") == true, "\(String(describing: error))")
                let stream = await #expect(throws: RPCError.self) {
                    try await api.fetchX509SVID(Workload_X509SVIDRequest()) { response in
                        for try await _ in response.messages {}
                    }
                }
                #expect(stream?.code == .invalidArgument)
            }
        }
    }
}
