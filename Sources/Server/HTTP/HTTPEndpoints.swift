import Foundation
import Hummingbird
import Logging
import NIOCore
import OperationsHTTP
import Prometheus
import SPIFFE

/// The server's HTTP endpoint: `/health` (the process is up), `/ready` (it can issue),
/// `/metrics` (Prometheus text format), `/bundle` (the trust bundle, SPIFFE bundle format) and
/// `/crl` (the active CA's CRL as DER; `?format=pem` for every CA's CRL as PEM blocks).
enum HTTPEndpoints {
    static func application(
        address: HostAndPort,
        authorities: AuthorityManager,
        revocation: Revocation,
        readiness: @escaping @Sendable () async -> String?,
        metrics: PrometheusCollectorRegistry,
        logger: Logger
    ) -> some ApplicationProtocol {
        let router = Router()
        OperationalRoutes.add(to: router, readiness: readiness, metrics: metrics)
        router.get("/bundle") { _, _ -> Response in
            do {
                let json = try await authorities.bundle.json()
                return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: json)))
            } catch {
                return OperationalRoutes.text(status: .internalServerError, "cannot encode bundle: \(error)\n")
            }
        }
        router.get("/crl") { request, _ -> Response in
            let snapshot = await revocation.snapshot
            switch request.uri.queryParameters["format"].map(String.init) ?? "der" {
            case "der":
                guard let crl = snapshot.activeCRL else {
                    return OperationalRoutes.text(status: .serviceUnavailable, "no CRL has been signed yet\n")
                }
                return Response(
                    status: .ok, headers: [.contentType: "application/pkix-crl"], body: .init(byteBuffer: ByteBuffer(bytes: crl.derEncoded)))
            case "pem":
                return Response(
                    status: .ok, headers: [.contentType: "application/x-pem-file"], body: .init(byteBuffer: ByteBuffer(string: snapshot.pem)))
            case let other:
                return OperationalRoutes.text(status: .badRequest, "unknown format '\(other)': use der or pem\n")
            }
        }
        return Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname(address.host, port: address.port), serverName: "matryoshka"),
            logger: logger)
    }
}
