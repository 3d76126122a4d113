import Foundation
import TestSupport
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Prometheus metrics of a running server and agent, scraped over HTTP and parsed.
@Suite("Metrics", .timeLimit(.minutes(2)))
struct MetricsTests {
    @Test("server and agent /metrics count issuances, connections, cache and Workload API calls; agent /health and /ready")
    func scrape() async throws {
        try await Deployment.with { deployment in
            try await deployment.startServer([], http: true)
            let token = try await deployment.token(alias: deployment.nodeAlias)
            try await deployment.writeBundle()
            let agentPort = try FreePort.allocate()
            let agent = try await deployment.startAgent(joinToken: token, ["--http", "127.0.0.1:\(agentPort)"])
            let workload = deployment.id("/metrics")
            try await deployment.createEntry(spiffeID: workload)
            try await deployment.waitForSVIDs([workload], agent: agent)
            expectSuccess(try await deployment.workload(["jwt", "fetch", "--audience", "m"], agent: agent))
            let agentBase = "http://127.0.0.1:\(agentPort)"

            let server = try await eventually("the server's metrics", timeout: .seconds(10)) { () -> PrometheusText? in
                let text = try PrometheusText.parse(String(decoding: try await HTTP.get(await deployment.httpBaseURL + "/metrics"), as: UTF8.self))
                return (text.value("matryoshka_server_connected_agents", [:]) ?? 0) >= 1 ? text : nil
            }
            #expect(server.types["matryoshka_server_svids_issued_total"] == "counter")
            #expect(server.types["matryoshka_server_svid_issuance_duration_seconds"] == "histogram")
            #expect((server.value("matryoshka_server_svids_issued_total", ["kind": "agent"]) ?? 0) >= 1, "the agent's own SVID")
            #expect((server.value("matryoshka_server_svids_issued_total", ["kind": "x509"]) ?? 0) >= 1)
            #expect((server.value("matryoshka_server_svids_issued_total", ["kind": "jwt"]) ?? 0) >= 1)
            #expect((server.value("matryoshka_server_svid_issuance_duration_seconds_count", ["kind": "x509"]) ?? 0) >= 1)
            #expect(server.value("matryoshka_server_entries", [:]) == 2, "the node alias and the workload")
            #expect(server.value("matryoshka_server_node_attestation_failures_total", [:]) == 0)

            let health = String(decoding: try await HTTP.get(agentBase + "/health"), as: UTF8.self)
            #expect(health == "ok\n")
            #expect(String(decoding: try await HTTP.get(agentBase + "/ready"), as: UTF8.self) == "ready\n")
            let scraped = try PrometheusText.parse(String(decoding: try await HTTP.get(agentBase + "/metrics"), as: UTF8.self))
            #expect(scraped.value("matryoshka_agent_server_connected", [:]) == 1)
            #expect((scraped.value("matryoshka_agent_cached_svids", [:]) ?? 0) >= 1)
            #expect((scraped.value("matryoshka_agent_workload_api_requests_total", ["method": "FetchX509SVID"]) ?? 0) >= 1)
            #expect((scraped.value("matryoshka_agent_workload_api_requests_total", ["method": "FetchJWTSVID"]) ?? 0) >= 1)
            #expect(scraped.types["matryoshka_agent_workload_api_open_streams"] == "gauge")
        }
    }
}
