import Foundation
import Prometheus
import TestSupport
import Testing

@testable import Server

/// The server's metrics, emitted in the Prometheus text format and parsed back.
@Suite("Server metrics")
struct ServerMetricsTests {
    @Test func everyFamilyIsEmittedAndParses() throws {
        let metrics = ServerMetrics(registry: PrometheusCollectorRegistry())
        metrics.issued(.x509, duration: .milliseconds(3))
        metrics.issued(.x509, duration: .milliseconds(30))
        metrics.issued(.jwt, duration: .milliseconds(1))
        metrics.revokedCredentials.increment(by: Int64(3))
        metrics.connectedAgents.increment()
        metrics.entries.set(to: 7)
        let exposition = try PrometheusText.parse(metrics.registry.emitToString())

        #expect(exposition.types["matryoshka_server_svids_issued_total"] == "counter")
        #expect(exposition.types["matryoshka_server_svid_issuance_duration_seconds"] == "histogram")
        #expect(exposition.types["matryoshka_server_connected_agents"] == "gauge")
        for family in ["matryoshka_server_svid_refusals_total", "matryoshka_server_node_attestation_failures_total",
                       "matryoshka_server_revoked_credentials_total", "matryoshka_server_entries", "matryoshka_server_audit_head_sequence"] {
            #expect(exposition.types[family] != nil, "\(family) missing")
        }
        #expect(exposition.value("matryoshka_server_svids_issued_total", ["kind": "x509"]) == 2)
        #expect(exposition.value("matryoshka_server_svids_issued_total", ["kind": "jwt"]) == 1)
        #expect(exposition.value("matryoshka_server_svids_issued_total", ["kind": "agent"]) == 0)
        #expect(exposition.value("matryoshka_server_svid_issuance_duration_seconds_count", ["kind": "x509"]) == 2)
        #expect(exposition.value("matryoshka_server_svid_issuance_duration_seconds_bucket", ["kind": "x509", "le": "0.005"]) == 1)
        #expect(exposition.value("matryoshka_server_revoked_credentials_total", [:]) == 3)
        #expect(exposition.value("matryoshka_server_connected_agents", [:]) == 1)
        #expect(exposition.value("matryoshka_server_entries", [:]) == 7)
    }

    @Test func theParserRefusesWhatIsNotPrometheusText() {
        #expect(throws: PrometheusText.ParseError.self) { try PrometheusText.parse("not a metric line\n") }
        #expect(throws: PrometheusText.ParseError.self) { try PrometheusText.parse("x{a=\"1\" 2\n") }
    }
}
