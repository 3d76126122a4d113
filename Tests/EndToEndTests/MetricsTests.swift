import Foundation
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Prometheus metrics of a running server and agent, scraped over HTTP and parsed.
@Suite("Metrics", .timeLimit(.minutes(2)))
struct MetricsTests {
    /// GET `url`; the body, or an error for any status but 200.
    static func get(_ url: String) async throws -> [UInt8] {
        guard let target = URL(string: url) else { throw TestProcessError(description: "bad URL \(url)") }
        let (data, response) = try await URLSession.shared.data(from: target)
        guard let http = response as? HTTPURLResponse, http.statusCode == 200 else {
            throw TestProcessError(description: "GET \(url): \(response)")
        }
        return Array(data)
    }

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
                let text = try PrometheusText.parse(String(decoding: try await MetricsTests.get(await deployment.httpBaseURL + "/metrics"), as: UTF8.self))
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

            let health = String(decoding: try await MetricsTests.get(agentBase + "/health"), as: UTF8.self)
            #expect(health == "ok\n")
            #expect(String(decoding: try await MetricsTests.get(agentBase + "/ready"), as: UTF8.self) == "ready\n")
            let scraped = try PrometheusText.parse(String(decoding: try await MetricsTests.get(agentBase + "/metrics"), as: UTF8.self))
            #expect(scraped.value("matryoshka_agent_server_connected", [:]) == 1)
            #expect((scraped.value("matryoshka_agent_cached_svids", [:]) ?? 0) >= 1)
            #expect((scraped.value("matryoshka_agent_workload_api_requests_total", ["method": "FetchX509SVID"]) ?? 0) >= 1)
            #expect((scraped.value("matryoshka_agent_workload_api_requests_total", ["method": "FetchJWTSVID"]) ?? 0) >= 1)
            #expect(scraped.types["matryoshka_agent_workload_api_open_streams"] == "gauge")
        }
    }
}

/// A small parser for the Prometheus text exposition format (0.0.4): `# HELP`, `# TYPE` and
/// sample lines `name{label="value",…} number`; anything else is an error.
struct PrometheusText: Sendable {
    struct ParseError: Error, CustomStringConvertible {
        let line: String
        var description: String { "not Prometheus text: \(line)" }
    }

    struct Sample: Hashable, Sendable {
        let name: String
        let labels: [String: String]
        let value: Double
    }

    var types: [String: String] = [:]
    var samples: [Sample] = []

    func value(_ name: String, _ labels: [String: String]) -> Double? {
        samples.first { $0.name == name && $0.labels == labels }?.value
    }

    static func parse(_ text: String) throws -> PrometheusText {
        var result = PrometheusText()
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            if line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                guard parts.count == 4, (try? #/[a-zA-Z_:][a-zA-Z0-9_:]*/#.wholeMatch(in: parts[2])) != nil,
                      ["counter", "gauge", "histogram", "summary", "untyped"].contains(parts[3]) else { throw ParseError(line: String(line)) }
                result.types[String(parts[2])] = String(parts[3])
                continue
            }
            if line.hasPrefix("# HELP ") { continue }
            guard let match = try #/(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>[^}]*)\})? (?<value>[^ ]+)( -?[0-9]+)?/#.wholeMatch(in: line),
                  let value = Double(match.value) ?? (match.value == "+Inf" ? .infinity : nil) else {
                throw ParseError(line: String(line))
            }
            var labels: [String: String] = [:]
            if let text = match.labels, !text.isEmpty {
                for pair in text.split(separator: ",") {
                    guard let label = try #/(?<key>[a-zA-Z_][a-zA-Z0-9_]*)="(?<value>[^"]*)"/#.wholeMatch(in: pair) else {
                        throw ParseError(line: String(line))
                    }
                    labels[String(label.key)] = String(label.value)
                }
            }
            result.samples.append(Sample(name: String(match.name), labels: labels, value: value))
        }
        return result
    }
}
