import Prometheus

/// The agent's Prometheus metrics, in one `PrometheusCollectorRegistry` (the one the agent's
/// `/metrics` emits). Every family is created up front, so a scrape shows it before anything
/// happened.
///
/// | metric | type | labels |
/// |---|---|---|
/// | `matryoshka_agent_cached_svids` | gauge | |
/// | `matryoshka_agent_workload_api_requests_total` | counter | `method`: the Workload API RPC |
/// | `matryoshka_agent_workload_api_open_streams` | gauge | `method`: the streaming RPC |
/// | `matryoshka_agent_server_connected` | gauge | 1 while connected to the server, else 0 |
/// | `matryoshka_agent_svid_refusals_total` | counter | SVIDs the server refused to mint |
public struct AgentMetrics: Sendable {
    /// The Workload API's methods, as they are labelled.
    public enum Method: String, Sendable, CaseIterable {
        case fetchX509SVID = "FetchX509SVID"
        case fetchX509Bundles = "FetchX509Bundles"
        case fetchJWTSVID = "FetchJWTSVID"
        case fetchJWTBundles = "FetchJWTBundles"
        case validateJWTSVID = "ValidateJWTSVID"

        var isStream: Bool { self == .fetchX509SVID || self == .fetchX509Bundles || self == .fetchJWTBundles }
    }

    public let registry: PrometheusCollectorRegistry
    let cachedSVIDs: Gauge
    let serverConnected: Gauge
    let refusals: Counter
    private let requests: [Method: Counter]
    private let streams: [Method: Gauge]

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        func name(_ metric: String, _ help: String) -> MetricNameDescriptor {
            MetricNameDescriptor(namespace: "matryoshka", subsystem: "agent", metricName: metric, unitName: "", helpText: help)
        }
        cachedSVIDs = registry.makeGauge(descriptor: name("cached_svids", "X509-SVIDs the agent holds for its workloads."))
        serverConnected = registry.makeGauge(descriptor: name("server_connected", "1 while the agent is connected to the server, else 0."))
        refusals = registry.makeCounter(descriptor: name("svid_refusals_total", "SVIDs the server refused to mint for this agent."))
        let requestName = name("workload_api_requests_total", "Workload API calls, by method.")
        let streamName = name("workload_api_open_streams", "Open Workload API streams, by method.")
        var requests: [Method: Counter] = [:]
        var streams: [Method: Gauge] = [:]
        for method in Method.allCases {
            requests[method] = registry.makeCounter(descriptor: requestName, labels: [("method", method.rawValue)])
            if method.isStream {
                streams[method] = registry.makeGauge(descriptor: streamName, labels: [("method", method.rawValue)])
            }
        }
        self.requests = requests
        self.streams = streams
    }

    func requested(_ method: Method) {
        requests[method]?.increment()
    }

    func streamOpened(_ method: Method) {
        streams[method]?.increment()
    }

    func streamClosed(_ method: Method) {
        streams[method]?.decrement()
    }
}
