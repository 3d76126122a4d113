import Attestation
import Authority
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import LocalSocket
import Logging
import Prometheus
import SPIFFE
import ServiceLifecycle
import X509

/// The Matryoshka server: the CA, the datastore, the node API for agents (gRPC over TLS), the
/// admin API (gRPC on a local Unix socket) and the HTTP endpoint, run until cancelled.
public actor MatryoshkaServer {
    public let config: ServerConfig
    private let logger: Logger
    private let metrics: PrometheusCollectorRegistry
    private var readyProblem: String? = "starting"
    private var listening: (node: HostAndPort?, http: HostAndPort?) = (nil, nil)
    private let readyGate = ReadinessGate()

    public init(config: ServerConfig, logger: Logger, metrics: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.config = config
        self.logger = logger
        self.metrics = metrics
    }

    /// The node API's bound address once listening (useful when the configured port is 0).
    public var nodeAddress: HostAndPort? { listening.node }

    /// Waits until the server serves all its endpoints.
    public func waitUntilReady() async throws {
        try await readyGate.wait()
    }

    /// Runs until the task is cancelled or a component fails.
    public func run() async throws {
        try await readyGate.guarding { try await self.runComponents() }
    }

    private func runComponents() async throws {
        try config.validate()
        try Self.prepareDirectory(config.dataDirectory)
        let store: any DataStore
        do {
            store = try SQLiteDataStore(path: config.databasePath)
        } catch {
            throw ServerError("cannot open datastore \(config.databasePath): \(error)")
        }
        let entries = try await loadEntries(store)
        let serverMetrics = ServerMetrics(registry: metrics)
        let index = RegistrationIndex(entries: entries, serverID: config.serverID, nodes: try await loadNodes(store))
        await index.observeCount { [serverMetrics] count in serverMetrics.entries.set(to: Double(count)) }
        let authorities = AuthorityManager(store: store, settings: try loadCASettings(), logger: logger)
        try await authorities.start()
        let revocation = Revocation(store: store, authorities: authorities, logger: logger, metrics: serverMetrics)
        try await revocation.start()
        let issuer = Issuer(
            authorities: authorities, store: store, index: index,
            defaults: Issuer.Defaults(x509TTL: config.defaultX509SVIDTTL, jwtTTL: config.defaultJWTSVIDTTL, agentTTL: config.agentSVIDTTL),
            logger: logger, metrics: serverMetrics)

        let sealer = (store as? any AuditLogStore).map {
            AuditSealer(store: $0, authorities: authorities, interval: config.auditHeadInterval, logger: logger, metrics: serverMetrics)
        }

        let tlsIdentity = SVIDCertificateReloader()
        let serverKey = try await renewServerIdentity(issuer: issuer, reloader: tlsIdentity)

        var nodeService = NodeService(
            trustDomain: config.trustDomain,
            attestors: try nodeAttestors(store: store),
            authenticator: CallerAuthenticator(authorities: authorities, store: store, index: index, revocation: revocation),
            issuer: issuer, authorities: authorities, index: index, store: store, revocation: revocation, agentTTL: config.agentSVIDTTL,
            logger: logger)
        nodeService.metrics = serverMetrics
        let nodeServer = GRPCServer(
            transport: try nodeTransport(reloader: tlsIdentity, authorities: authorities),
            services: [nodeService])

        let adminService = AdminService(
            trustDomain: config.trustDomain, store: store, index: index, authorities: authorities, revocation: revocation,
            defaultJoinTokenTTL: config.defaultJoinTokenTTL, serverID: config.serverID,
            caller: AdminCaller.auditName(in:), logger: logger)
        let adminServer = adminSocketServer(service: adminService)

        logger.notice("starting server", metadata: [
            "trust_domain": "\(config.trustDomain)", "data_dir": "\(config.dataDirectory)",
            "entries": "\(entries.count)", "bind": "\(config.bindAddress)", "admin_socket": "\(config.adminSocketPath)",
        ])
        do {
            let eviction = config.maxAttestationAge.map {
                StaleAgentEviction(store: store, revocation: revocation, index: index, maxAge: $0, logger: logger)
            }
            try await serve(nodeServer: nodeServer, adminServer: adminServer, authorities: authorities, revocation: revocation,
                            issuer: issuer, tlsIdentity: tlsIdentity, serverKey: serverKey, sealer: sealer, eviction: eviction)
        } catch {
            await Self.sealAtShutdown(sealer, logger: logger)
            throw error
        }
        await Self.sealAtShutdown(sealer, logger: logger)
    }

    /// Signs the audit chain head on the way out (graceful shutdown, or a failure), in a task of
    /// its own: the server's task is cancelled by then.
    private static func sealAtShutdown(_ sealer: AuditSealer?, logger: Logger) async {
        guard let sealer else { return }
        await Task {
            do {
                try await sealer.seal(reason: "shutdown")
            } catch {
                logger.error("cannot sign the audit chain head at shutdown", metadata: ["error": "\(error)"])
            }
        }.value
    }

    private func serve(
        nodeServer: GRPCServer<HTTP2ServerTransport.Posix>, adminServer: LocalSocketServer, authorities: AuthorityManager,
        revocation: Revocation, issuer: Issuer, tlsIdentity: SVIDCertificateReloader, serverKey: SigningKey, sealer: AuditSealer?,
        eviction: StaleAgentEviction?
    ) async throws {
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask {
                // Stopped by graceful shutdown (below), never by cancelling `serve()`: cancelling
                // NIO's accept loop drops connections accepted but not yet handed over, and
                // NIO traps on those ("Deinited NIOAsyncWriter without calling finish()").
                // Calls still open after the grace period (agents' Sync streams never end by
                // themselves) are cancelled then; no connection is being accepted by that time.
                // The shutdown waits until the transport has bound (or failed to): a shutdown
                // begun before `serve()` starts would leave `listeningAddress` pending forever.
                let serving = Task { try await nodeServer.serve() }
                do {
                    try await withTaskCancellationHandler {
                        try await serving.value
                    } onCancel: {
                        Task {
                            _ = try? await nodeServer.listeningAddress
                            nodeServer.beginGracefulShutdown()
                            try? await Task.sleep(for: Self.shutdownGracePeriod)
                            serving.cancel()
                        }
                    }
                } catch {
                    // Stopping: the transport may report the shutdown as its own error.
                    if Task.isCancelled { return }
                    throw error
                }
            }
            group.addTask {
                do {
                    try await adminServer.run()
                } catch {
                    throw ServerError("admin API: \(error)")
                }
            }
            if let httpAddress = config.httpAddress {
                let http = HTTPEndpoints.application(
                    address: httpAddress, authorities: authorities, revocation: revocation,
                    readiness: { [weak self] in
                        // Not `self?.readiness() ?? …`: nil from readiness() means ready.
                        guard let self else { return "stopped" }
                        return await self.readiness()
                    }, metrics: metrics, logger: logger)
                group.addTask { try await http.run() }
            }
            group.addTask { try await revocation.run() }
            if let sealer { group.addTask { try await sealer.run() } }
            if let eviction { group.addTask { try await eviction.run() } }
            group.addTask { [logger] in
                try await Self.rotationLoop(authorities: authorities, serverSVIDTTL: self.config.agentSVIDTTL, logger: logger) {
                    _ = try await self.renewServerIdentity(issuer: issuer, reloader: tlsIdentity, key: serverKey)
                }
            }
            group.addTask {
                try await self.announceReady(nodeServer: nodeServer, adminServer: adminServer)
            }
        }
    }

    /// The admin API on its Unix socket: owner-only (0600), every call refused unless the
    /// kernel reports who made it, a stale socket replaced, a live one or any other file refused.
    private nonisolated func adminSocketServer(service: AdminService) -> LocalSocketServer {
        LocalSocketServer(
            configuration: LocalSocketServer.Configuration(
                path: config.adminSocketPath, name: "admin API", socketMode: 0o600, logger: logger),
            services: [service],
            interceptors: [CallerCredentialsInterceptor()])
    }

    private func announceReady(nodeServer: GRPCServer<HTTP2ServerTransport.Posix>, adminServer: LocalSocketServer) async throws {
        let nodeAddress: GRPCNIOTransportCore.SocketAddress?
        do {
            nodeAddress = try await nodeServer.listeningAddress
        } catch {
            // The node API did not bind (its own task reports why, e.g. "address already in
            // use") or the server is stopping: never ready, and not the error to report.
            return
        }
        guard let ip = nodeAddress?.ipv4.map({ HostAndPort(host: $0.host, port: $0.port) })
                ?? nodeAddress?.ipv6.map({ HostAndPort(host: $0.host, port: $0.port) })
        else {
            throw ServerError("the node API is not listening on an IP address")
        }
        do {
            // Bound and restricted to its owner.
            _ = try await adminServer.waitUntilListening()
        } catch {
            // It failed to start (and its own task reports why) or the server is stopping:
            // never ready.
            return
        }
        listening.node = ip
        readyProblem = nil
        Task { await readyGate.open() }
        logger.notice("server ready", metadata: [
            "node_api": "\(listening.node?.description ?? "-")", "admin_socket": "\(config.adminSocketPath)",
            "http": "\(config.httpAddress?.description ?? "off")",
        ])
        // Stay alive as a task so the group does not finish early.
        try await Task.sleep(for: .seconds(Int64.max / 2))
    }

    private func readiness() -> String? { readyProblem }

    private func loadEntries(_ store: any DataStore) async throws -> [RegistrationEntry] {
        do {
            return try await store.listEntries(spiffeID: nil, parentID: nil)
        } catch {
            throw ServerError("cannot load entries: \(error)")
        }
    }

    /// The node selectors of the agents that may still call (not evicted), for node entries.
    private func loadNodes(_ store: any DataStore) async throws -> [SPIFFEID: [Selector]] {
        do {
            let agents = try await store.listAgents().filter { !$0.evicted }
            return Dictionary(agents.map { ($0.spiffeID, $0.selectors) }, uniquingKeysWith: { first, _ in first })
        } catch {
            throw ServerError("cannot load agents: \(error)")
        }
    }

    private func loadCASettings() throws -> AuthorityManager.Settings {
        var settings = AuthorityManager.Settings(trustDomain: config.trustDomain, keyAlgorithm: config.caKeyAlgorithm, caTTL: config.caTTL)
        guard let upstream = config.upstreamCA else { return settings }
        do {
            let certificates = try CertificateEncoding.certificates(from: Array(try Data(contentsOf: URL(fileURLWithPath: upstream.certificatePath))))
            let key = try SigningKey(pem: String(contentsOfFile: upstream.keyPath, encoding: .utf8))
            let ca = try CertificateAuthority(
                trustDomain: config.trustDomain, certificate: certificates[0], key: key, upstreamChain: Array(certificates.dropFirst()))
            settings.upstream = ca
            if let bundlePath = upstream.bundlePath {
                settings.upstreamBundle = try CertificateEncoding.certificates(from: Array(try Data(contentsOf: URL(fileURLWithPath: bundlePath))))
            } else {
                settings.upstreamBundle = [certificates.last ?? certificates[0]]
            }
        } catch {
            throw ServerError("cannot load the upstream CA: \(error)")
        }
        return settings
    }

    /// Issues the server's TLS SVID (a fresh one for the current CA) and hands it to the transport.
    @discardableResult
    private func renewServerIdentity(issuer: Issuer, reloader: SVIDCertificateReloader, key: SigningKey? = nil) async throws -> SigningKey {
        let key = try key.map { $0 } ?? SigningKey(generating: .ecP256)
        let chain = try await issuer.issueServerSVID(serverID: config.serverID, publicKey: key.publicKey, ttl: config.agentSVIDTTL)
        try reloader.update(chain: chain, key: key.certificatePrivateKey)
        return key
    }

    /// How long open node API calls get to finish when the server stops.
    static let shutdownGracePeriod: Duration = .seconds(2)

    private nonisolated func nodeTransport(reloader: SVIDCertificateReloader, authorities: AuthorityManager) throws -> HTTP2ServerTransport.Posix {
        let security = try HTTP2ServerTransport.Posix.TransportSecurity.mTLS(certificateReloader: reloader) { tls in
            tls.clientCertificateVerification = .noHostnameVerification
            // Agents are verified against the trust domain's bundle only (the callback below),
            // never the system's web PKI roots, so those are not loaded.
            tls.trustRoots = .certificates([])
            tls.customVerificationCallback = SPIFFEPeerVerification.callback(expecting: .svidOrSelfSigned) {
                await authorities.bundle
            }
        }
        var transportConfig = HTTP2ServerTransport.Posix.Config.defaults
        transportConfig.rpc.maxRequestPayloadSize = 4 * 1024 * 1024
        return HTTP2ServerTransport.Posix(
            address: .ipv4(host: config.bindAddress.host, port: config.bindAddress.port),
            transportSecurity: security,
            config: transportConfig)
    }

    /// Sleeps until the next rotation step is due, rotates, and renews the server's own SVID
    /// when the CA changed or it reached half its life.
    static func rotationLoop(
        authorities: AuthorityManager, serverSVIDTTL: Duration, logger: Logger, renewServerSVID: @Sendable () async throws -> Void
    ) async throws {
        // The server's SVID was issued just before the loop starts; renew it at half-life (or
        // sooner, with the CA), or agents cannot connect once it has expired.
        var serverSVIDRenewal = Date().addingTimeInterval(serverSVIDTTL.timeInterval / 2)
        while !Task.isCancelled {
            let next = await authorities.nextRotation(after: Date())
            let wake = min(next, serverSVIDRenewal)
            try await Task.sleep(for: .seconds(max(0.05, min(wake.timeIntervalSinceNow, 60))))
            do {
                if try await authorities.rotate() || Date() >= serverSVIDRenewal {
                    try await renewServerSVID()
                    serverSVIDRenewal = Date().addingTimeInterval(serverSVIDTTL.timeInterval / 2)
                }
            } catch {
                logger.error("CA rotation or server SVID renewal failed; retrying", metadata: ["error": "\(error)"])
                try await Task.sleep(for: .seconds(1))
            }
        }
    }

    static func prepareDirectory(_ path: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw ServerError("cannot create data directory \(path): \(error.localizedDescription)")
        }
    }
}
