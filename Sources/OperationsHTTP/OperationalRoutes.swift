import Hummingbird
import NIOCore
import Prometheus

/// The HTTP routes every long-running component serves for operators: `/health` (the process is
/// up), `/ready` (it does its job; otherwise 503 with the reason) and `/metrics` (Prometheus text
/// format).
public enum OperationalRoutes {
    /// Adds the three routes to `router`; `readiness` returns why the component is not ready, or nil.
    public static func add(
        to router: Router<BasicRequestContext>,
        readiness: @escaping @Sendable () async -> String?,
        metrics: PrometheusCollectorRegistry
    ) {
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
    }

    /// A plain-text response.
    public static func text(status: HTTPResponse.Status, _ body: String) -> Response {
        Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
