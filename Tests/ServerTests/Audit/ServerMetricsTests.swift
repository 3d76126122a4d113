import Foundation
import Prometheus
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

/// A small parser for the Prometheus text exposition format (0.0.4): `# HELP`, `# TYPE` and
/// sample lines `name{label="value",…} number`.
struct PrometheusText {
    struct ParseError: Error, CustomStringConvertible {
        let line: String
        var description: String { "not Prometheus text: \(line)" }
    }

    struct Sample: Hashable {
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
        let name = #/[a-zA-Z_:][a-zA-Z0-9_:]*/#
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            if line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                guard parts.count == 4, (try? name.wholeMatch(in: parts[2])) != nil,
                      ["counter", "gauge", "histogram", "summary", "untyped"].contains(parts[3]) else { throw ParseError(line: String(line)) }
                result.types[String(parts[2])] = String(parts[3])
                continue
            }
            if line.hasPrefix("#") { continue }
            let sample = #/(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>[^}]*)\})? (?<value>[^ ]+)( [0-9]+)?/#
            guard let match = try sample.wholeMatch(in: line), let value = Double(match.value) ?? (match.value == "+Inf" ? .infinity : nil) else {
                throw ParseError(line: String(line))
            }
            var labels: [String: String] = [:]
            if let text = match.labels, !text.isEmpty {
                for pair in text.split(separator: ",") {
                    guard let match = try #/(?<key>[a-zA-Z_][a-zA-Z0-9_]*)="(?<value>[^"]*)"/#.wholeMatch(in: pair) else {
                        throw ParseError(line: String(line))
                    }
                    labels[String(match.key)] = String(match.value)
                }
            }
            result.samples.append(Sample(name: String(match.name), labels: labels, value: value))
        }
        return result
    }
}
