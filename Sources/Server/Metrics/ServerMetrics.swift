import Prometheus

/// The server's Prometheus metrics, registered in one `PrometheusCollectorRegistry` (the one
/// `/metrics` emits). Every family is created up front, so a scrape shows it (at zero) before
/// anything happened.
///
/// | metric | type | labels |
/// |---|---|---|
/// | `matryoshka_server_svids_issued_total` | counter | `kind`: `x509`, `jwt`, `agent` |
/// | `matryoshka_server_svid_issuance_duration_seconds` | histogram | `kind` |
/// | `matryoshka_server_svid_refusals_total` | counter | |
/// | `matryoshka_server_node_attestation_failures_total` | counter | |
/// | `matryoshka_server_revoked_credentials_total` | counter | |
/// | `matryoshka_server_connected_agents` | gauge | |
/// | `matryoshka_server_entries` | gauge | |
/// | `matryoshka_server_audit_head_sequence` | gauge | |
public struct ServerMetrics: Sendable {
    /// What an issuance was for.
    public enum IssuanceKind: String, Sendable, CaseIterable {
        /// An X509-SVID for a workload or a nested layer.
        case x509
        /// A JWT-SVID.
        case jwt
        /// A node agent's SVID (attestation or renewal) or the server's own.
        case agent
    }

    /// The registry the metrics live in.
    public let registry: PrometheusCollectorRegistry
    private let issued: [IssuanceKind: Counter]
    private let latency: [IssuanceKind: DurationHistogram]
    let refusals: Counter
    let attestationFailures: Counter
    let revokedCredentials: Counter
    let connectedAgents: Gauge
    let entries: Gauge
    let auditHeadSequence: Gauge

    /// Issuance latency buckets: 1 ms to 5 s.
    static let latencyBuckets: [Duration] = [
        .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(5),
    ]

    /// Registers the server's metrics in `registry` (or finds them there, if already registered).
    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        func name(_ metric: String, _ help: String) -> MetricNameDescriptor {
            MetricNameDescriptor(namespace: "matryoshka", subsystem: "server", metricName: metric, unitName: "", helpText: help)
        }
        let issuedName = name("svids_issued_total", "SVIDs signed, by kind (x509, jwt, agent).")
        let latencyName = name("svid_issuance_duration_seconds", "Time to authorize, sign and record one SVID, by kind.")
        var issued: [IssuanceKind: Counter] = [:]
        var latency: [IssuanceKind: DurationHistogram] = [:]
        for kind in IssuanceKind.allCases {
            issued[kind] = registry.makeCounter(descriptor: issuedName, labels: [("kind", kind.rawValue)])
            latency[kind] = registry.makeDurationHistogram(descriptor: latencyName, labels: [("kind", kind.rawValue)], buckets: Self.latencyBuckets)
        }
        self.issued = issued
        self.latency = latency
        refusals = registry.makeCounter(descriptor: name("svid_refusals_total", "SVID requests refused (not entitled, widened scope, bad lineage)."))
        attestationFailures = registry.makeCounter(descriptor: name("node_attestation_failures_total", "Node attestations that failed."))
        revokedCredentials = registry.makeCounter(descriptor: name("revoked_credentials_total", "Credentials revoked (descendants included)."))
        connectedAgents = registry.makeGauge(descriptor: name("connected_agents", "Agents (node and nested) with an open sync stream."))
        entries = registry.makeGauge(descriptor: name("entries", "Registration entries."))
        auditHeadSequence = registry.makeGauge(descriptor: name("audit_head_sequence", "Sequence number of the newest signed audit chain head."))
    }

    /// Counts one issuance of `kind` that took `duration`.
    func issued(_ kind: IssuanceKind, duration: Duration) {
        issued[kind]?.increment()
        latency[kind]?.record(duration)
    }
}
