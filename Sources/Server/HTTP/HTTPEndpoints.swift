import Foundation
import Hummingbird
import Logging
import NIOCore
import Prometheus
import SPIFFE

/// The server's HTTP endpoint: `/health` (the process is up), `/ready` (it can issue),
/// `/metrics` (Prometheus text format) and `/bundle` (the trust bundle, SPIFFE bundle format).
enum HTTPEndpoints {
    static func application(
        address: HostAndPort,
        authorities: AuthorityManager,
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
            var buffer = ByteBuffer()
            buffer.writeBytes(metrics.emitToBuffer())
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"], body: .init(byteBuffer: buffer))
        }
        router.get("/bundle") { _, _ -> Response in
            do {
                let json = try await authorities.bundle.json()
                return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: json)))
            } catch {
                return text(status: .internalServerError, "cannot encode bundle: \(error)\n")
            }
        }
        return Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname(address.host, port: address.port), serverName: "matryoshka"),
            logger: logger)
    }

    static func text(status: HTTPResponse.Status, _ body: String) -> Response {
        Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
