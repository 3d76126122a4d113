import Hummingbird
import Logging
import NIOCore
import OperationsHTTP
import Prometheus

/// The agent's optional HTTP endpoint (`agent run --http HOST:PORT`): `/health` (the process is
/// up), `/ready` (it has its identity and serves the Workload API) and `/metrics` (Prometheus
/// text format).
enum AgentHTTPEndpoint {
    static func application(
        host: String, port: Int,
        readiness: @escaping @Sendable () async -> String?,
        metrics: PrometheusCollectorRegistry,
        logger: Logger
    ) -> some ApplicationProtocol {
        let router = Router()
        OperationalRoutes.add(to: router, readiness: readiness, metrics: metrics)
        return Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: "matryoshka-agent"),
            logger: logger)
    }
}
