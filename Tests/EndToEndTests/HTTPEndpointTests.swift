import Foundation
import Testing

/// The server's HTTP endpoint, read by an independent client (Python's urllib and cryptography).
@Suite("HTTP endpoint", .timeLimit(.minutes(2)))
struct HTTPEndpointTests {
    struct Report: Decodable {
        struct Page: Decodable { let status: Int; let body: String }
        struct Authority: Decodable { let ca: Bool; let uris: [String] }
        struct Key: Decodable { let kid: String; let kty: String }
        struct Bundle: Decodable {
            let status: Int
            let content_type: String
            let sequence: Int?
            let x509_authorities: [Authority]?
            let jwt_keys: [Key]?
            let matches_bundle_show: Bool?
        }
        struct Metrics: Decodable {
            let status: Int
            let content_type: String
            let families: [String]?
            let samples: Int?
            let invalid_lines: [String]?
        }
        struct Status: Decodable { let status: Int }

        let health: Page
        let ready: Page
        let bundle: Bundle
        let metrics: Metrics
        let unknown: Status
    }

    @Test("/health, /ready, /bundle (SPIFFE bundle format) and /metrics (Prometheus text)", .enabled(if: Python.hasCryptography, "needs python3 with cryptography"))
    func endpoints() async throws {
        try await Deployment.with { deployment in
            let agent = try await deployment.startServerAndAgent(http: true)
            let workloadID = deployment.id("/http")
            try await deployment.createEntry(spiffeID: workloadID)
            try await deployment.waitForSVIDs([workloadID], agent: agent)

            let saved = deployment.directory.file("http-bundle.json")
            let base = await deployment.httpBaseURL
            let result = try await deployment.python("http_endpoints.py", [base, deployment.bundlePath, saved])
            try #require(result.succeeded, "\(result)")
            let report = try result.json(Report.self)

            #expect(report.health.status == 200)
            #expect(report.health.body == "ok\n")
            #expect(report.ready.status == 200)
            #expect(report.ready.body == "ready\n")

            #expect(report.bundle.status == 200)
            #expect(report.bundle.content_type.hasPrefix("application/json"))
            #expect(report.bundle.x509_authorities?.count == 1)
            #expect(report.bundle.x509_authorities?.allSatisfy { $0.ca && $0.uris == ["spiffe://example.org"] } == true)
            #expect(report.bundle.jwt_keys?.isEmpty == false)
            #expect(report.bundle.matches_bundle_show == true, "/bundle and `server bundle show` disagree")
            #expect((report.bundle.sequence ?? 0) >= 1)

            #expect(report.metrics.status == 200)
            #expect(report.metrics.content_type.hasPrefix("text/plain"))
            #expect(report.metrics.invalid_lines?.isEmpty == true, "not Prometheus text: \(report.metrics.invalid_lines ?? [])")
            let families = Set(report.metrics.families ?? [])
            for family in ["matryoshka_server_svids_issued_total", "matryoshka_server_svid_issuance_duration_seconds",
                           "matryoshka_server_connected_agents", "matryoshka_server_entries",
                           "matryoshka_server_node_attestation_failures_total", "matryoshka_server_revoked_credentials_total"] {
                #expect(families.contains(family), "/metrics lacks \(family): \(families.sorted())")
            }
            #expect((report.metrics.samples ?? 0) > 0)
            #expect(report.unknown.status == 404)

            // What /bundle serves verifies SVIDs and JWT-SVIDs offline.
            let out = deployment.directory.file("svid")
            expectSuccess(try await deployment.workload(["svid", "fetch", "--write", out], agent: agent))
            expectSuccess(try await deployment.cli(["svid", "verify", "--bundle", saved, out + "/svid.pem"]))
            let jwt = try await deployment.workload(["jwt", "fetch", "--audience", "http"], agent: agent)
            expectSuccess(jwt)
            expectSuccess(try await deployment.cli(["jwt", "verify", "--bundle", saved, "--audience", "http", jwt.output]))
        }
    }
}
