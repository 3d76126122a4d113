import Hummingbird
import Logging
import NIOCore
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
        router.get("/health") { _, _ in
            "ok\n"
        }
        router.get("/ready") { _, _ -> Response in
            if let problem = await readiness() {
                return text(status: .serviceUnavailable, "not ready: \(problem)\n")
            }
            return text(status: .ok, "ready\n")
        }
        router.get("/metrics") { _, _ -> Response in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: metrics.emitToBuffer())))
        }
        return Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: "matryoshka-agent"),
            logger: logger)
    }

    static func text(status: HTTPResponse.Status, _ body: String) -> Response {
        Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
