import Attestation
import Authority
import Foundation
import GRPCCore
import Logging
import MatryoshkaAPI
import Prometheus
import SPIFFE
import WorkloadAPI
import X509

/// The Matryoshka agent: attests its node to the server (once; it keeps its identity across
/// restarts), stays in sync with the entries it serves, holds their SVIDs (renewed at half-life),
/// and serves them to local workloads over the SPIFFE Workload API. While the server is
/// unreachable it keeps serving what it holds, and says so.
public actor MatryoshkaAgent {
    public let config: AgentConfig
    private let logger: Logger
    private let attestor: any WorkloadAttestor
    private let stateStore: AgentStateStore
    private let readyGate = ReadinessGate()
    private let metrics: AgentMetrics
    private var readyProblem: String? = "starting"
    private(set) public var agentID: SPIFFEID?
    /// The exit status of the hosted command, once it has exited.
    private(set) public var commandStatus: Int32?

    public init(
        config: AgentConfig, logger: Logger, workloadAttestor: (any WorkloadAttestor)? = nil,
        metrics: PrometheusCollectorRegistry = PrometheusCollectorRegistry()
    ) {
        self.metrics = AgentMetrics(registry: metrics)
        self.config = config
        self.logger = logger
        self.attestor = workloadAttestor ?? UnixWorkloadAttestor()
        self.stateStore = AgentStateStore(directory: config.dataDirectory)
    }

    /// Waits until the agent has its identity and serves the Workload API.
    public func waitUntilReady() async throws {
        try await readyGate.wait()
    }

    /// Runs until cancelled.
    public func run() async throws {
        try await readyGate.guarding { try await self.runComponents() }
    }

    private func runComponents() async throws {
        let source: any IdentitySource
        if let parentSocket = config.parentSocketPath {
            source = try ParentIdentitySource(parentSocket: parentSocket, trustDomain: config.trustDomain, spiffeID: config.layerSPIFFEID, logger: logger)
        } else {
            source = NodeIdentitySource(config: config, store: stateStore, logger: logger)
        }
        let initial = try await source.start()
        agentID = try X509SVID.spiffeID(of: initial.identity.chain[0])
        let feed = IdentityFeed(initial.identity)
        let cache = IdentityCache(bundle: initial.bundle, logger: logger)
        let link = ServerLink(metrics: metrics)
        let callerPolicy: CallerPolicy = config.parentSocketPath == nil || config.allowNonDescendants ? .any : .descendantsOf(getpid())
        let reporter = WorkloadAttestationReporter(logger: logger)
        var provider = AgentWorkloadProvider(cache: cache, attestor: attestor, link: link, logger: logger, callerPolicy: callerPolicy)
        provider.reporter = reporter
        provider.recheckInterval = config.workloadRecheckInterval > .zero ? config.workloadRecheckInterval : nil
        let workloadAPI = WorkloadAPIServer(
            configuration: WorkloadAPIServer.Configuration(
                address: try WorkloadAPIAddress(config.socketPath), socketMode: UInt32(config.socketMode), logger: logger),
            provider: MeteredWorkloadProvider(base: provider, metrics: metrics))

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await workloadAPI.run() }
            group.addTask {
                _ = try await workloadAPI.waitUntilListening()
                await self.markReady()
                if let command = try await self.hostedCommand() {
                    // The hosted workload's life is the agent's: stop when it exits.
                    await self.setCommandStatus(await command.wait())
                    return
                }
                try await Task.sleep(for: .seconds(Int64.max / 2))
            }
            group.addTask { try await source.watch(feed: feed) }
            group.addTask {
                // Until the agent stops: workload attestation decisions to the server's audit log.
                await reporter.run { request in try await link.reportWorkloadAttestations(request) }
            }
            group.addTask { [metrics] in
                // The cached_svids gauge follows the cache.
                for await _ in await cache.changes() { metrics.cachedSVIDs.set(to: Double(await cache.svidCount)) }
            }
            if let host = config.httpHost {
                let http = AgentHTTPEndpoint.application(
                    host: host, port: config.httpPort,
                    readiness: { [weak self] in
                        guard let self else { return "stopped" }
                        return await self.readiness()
                    }, metrics: metrics.registry, logger: logger)
                group.addTask { try await http.run() }
            }
            group.addTask { try await self.connectionLoop(feed: feed, source: source, cache: cache, link: link) }
            try await group.next()
            group.cancelAll()
        }
    }

    private func setCommandStatus(_ status: Int32) {
        commandStatus = status
        logger.notice("hosted command exited; stopping", metadata: ["status": "\(status)"])
    }

    /// Starts the hosted command, if any, pointed at this agent's Workload API.
    private func hostedCommand() throws -> SpawnedProcess? {
        guard let first = config.command.first else { return nil }
        var environment = ProcessInfo.processInfo.environment
        guard let executable = SpawnedProcess.resolve(first, path: environment["PATH"]) else {
            throw AgentError("command not found: \(first)")
        }
        environment[WorkloadAPIAddress.environmentVariable] = "unix://" + config.socketPath
        environment["MATRYOSHKA_SERVER"] = HostAndPortText.format(host: config.serverHost, port: config.serverPort)
        let process = try SpawnedProcess(executable: executable, arguments: config.command, environment: environment)
        logger.info("started hosted command", metadata: ["pid": "\(process.pid)", "command": "\(config.command.joined(separator: " "))"])
        return process
    }

    private func readiness() -> String? { readyProblem }

    private func markReady() {
        readyProblem = nil
        let mode = config.parentSocketPath == nil ? "node" : "nested"
        logger.notice("agent ready", metadata: ["agent_id": "\(agentID?.description ?? "-")", "socket": "\(config.socketPath)", "mode": "\(mode)"])
        Task { await readyGate.open() }
    }

    // MARK: Connection to the server

    private struct Reconnect: Error {}

    /// Connects to the server as the current identity and serves until the connection fails or
    /// the identity changes (renewal, or a rotation by the parent layer), then connects again.
    private func connectionLoop(feed: IdentityFeed, source: any IdentitySource, cache: IdentityCache, link: ServerLink) async throws {
        let reloader = SVIDCertificateReloader()
        let diagnostics = TLSDiagnostics()
        var delay = Duration.seconds(1)
        var wasConnected = true
        // The server's last refusal of this layer's SVID: said once as an error, then quietly.
        var lastRefusal: String?
        while !Task.isCancelled {
            let (identity, generation) = await feed.current
            try reloader.update(chain: identity.chain, key: identity.key)
            do {
                try await NodeClient.withConnection(
                    host: config.serverHost, port: config.serverPort, serverID: config.serverID, identity: reloader,
                    bundle: { await cache.bundle }, diagnostics: diagnostics
                ) { client in
                    await link.connected(client, as: identity)
                    do {
                        try await self.serve(client: client, identity: identity, generation: generation, feed: feed, source: source, cache: cache)
                    } catch is Reconnect {
                        // Before this connection closes: calls still in flight on it are cut
                        // when it does, and the link makes them again on the next one.
                        await link.disconnected(reconnecting: true)
                        throw Reconnect()
                    }
                }
                await link.disconnected(reconnecting: true)
                delay = .seconds(1)
                wasConnected = true
                lastRefusal = nil
            } catch is Reconnect {
                await link.disconnected(reconnecting: true)
                delay = .seconds(1)
                wasConnected = true
                lastRefusal = nil
            } catch {
                await link.disconnected()
                if Task.isCancelled { return }
                let reason = diagnostics.failure ?? Self.describe(error)
                let held = await cache.svidCount
                if let refusal = error as? RPCError, refusal.code == .permissionDenied {
                    // Revoked or evicted: the server is reachable but refuses this identity. This
                    // layer serves nothing until it has a new one: an error, said once per reason.
                    if refusal.message != lastRefusal {
                        logger.error("the server refuses this layer's SVID; waiting for a new identity", metadata: [
                            "reason": "\(refusal.message)", "cached_svids": "\(held)",
                        ])
                        lastRefusal = refusal.message
                    } else {
                        logger.info("the server still refuses this layer's SVID", metadata: ["retry_in": "\(delay)"])
                    }
                    // What this layer holds was issued under the refused SVID: stop serving it now.
                    if held > 0 { await cache.discardAll(reason: "this layer's SVID is refused by the server: \(refusal.message)") }
                } else if wasConnected {
                    logger.warning("server unreachable; serving cached identities", metadata: [
                        "reason": "\(reason)", "cached_svids": "\(held)", "layer_svid_expires": "\(identity.expiresAt.formatted(.iso8601))",
                    ])
                } else {
                    logger.info("still cannot reach the server", metadata: ["reason": "\(reason)", "retry_in": "\(delay)"])
                }
                wasConnected = false
                if identity.expiresAt <= Date() {
                    logger.error("this layer's SVID has expired while the server was unreachable", metadata: ["expired": "\(identity.expiresAt.formatted(.iso8601))"])
                }
                // A new identity (e.g. the parent replaced a revoked SVID) is worth trying at once.
                if await Self.sleep(for: delay, orUntilChangeOf: feed, after: generation) {
                    delay = .seconds(1)
                } else {
                    delay = min(delay * 2, .seconds(30))
                }
            }
        }
    }

    /// Sleeps for `delay` or until the identity is newer than `generation`, whichever comes first;
    /// returns whether the identity changed.
    private static func sleep(for delay: Duration, orUntilChangeOf feed: IdentityFeed, after generation: Int) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                try? await Task.sleep(for: delay)
                return false
            }
            group.addTask {
                await feed.waitForChange(after: generation)
                return !Task.isCancelled
            }
            let changed = await group.next() ?? false
            group.cancelAll()
            return changed
        }
    }

    /// Serves one connection: keeps the cache in sync, mints SVIDs, lets the identity source
    /// renew, and ends (to reconnect) when the identity changes.
    private func serve(
        client: NodeClient, identity: LayerIdentity, generation: Int, feed: IdentityFeed, source: any IdentitySource, cache: IdentityCache
    ) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await client.syncUpdates { state, isFirst in
                    let entries = state.entries
                    let bundle = state.bundle
                    let previous = await cache.bundle
                    await cache.apply(
                        entries: state.entriesChanged ? entries : nil, bundle: bundle,
                        revocations: state.revocationsChanged ? state.revocations : nil)
                    if bundle != previous { await source.bundleChanged(bundle) }
                    if isFirst {
                        self.logger.notice("connected to server", metadata: ["entries": "\(entries.count)"])
                    } else {
                        self.logger.info("sync update", metadata: [
                            "entries": "\(entries.count)", "bundle_sequence": "\(bundle.sequenceNumber ?? 0)",
                            "revoked": "\(state.revocations.bySerial.count)",
                        ])
                    }
                }
                throw AgentError("the server closed the sync stream")
            }
            group.addTask { try await self.mintLoop(client: client, cache: cache, identity: identity) }
            group.addTask { try await source.renew(identity: identity, client: client, feed: feed) }
            group.addTask {
                await feed.waitForChange(after: generation)
                throw Reconnect()
            }
            try await group.next()
            group.cancelAll()
        }
    }

    /// Mints SVIDs whenever entries need them: new entries at once, held ones at half-life.
    private func mintLoop(client: NodeClient, cache: IdentityCache, identity: LayerIdentity) async throws {
        let (wake, wakeUp) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let requests = await cache.mintRequests()
        let forward = Task {
            for await _ in requests { wakeUp.yield() }
        }
        var timer: Task<Void, Never>?
        defer {
            forward.cancel()
            timer?.cancel()
        }
        var refusedUntil: [String: Date] = [:]
        for await _ in wake {
            try Task.checkCancellation()
            await cache.dropExpired()
            let now = Date()
            // Wildcard entries name their children on demand (exec, nested layers), not here.
            let due = await cache.entriesNeedingSVIDs(now: now, layerExpiresAt: identity.expiresAt)
                .filter { !$0.isWildcard && (refusedUntil[$0.id] ?? .distantPast) <= now }
            // Batches of 200, two in flight: the next one is prepared (keys, CSRs, links) and
            // sent while the server signs and records the previous one.
            let batches = stride(from: 0, to: due.count, by: 200).map { Array(due[$0..<min($0 + 200, due.count)]) }
            try await withThrowingTaskGroup(of: MintedBatch.self) { group in
                var launched = 0
                func launch() {
                    guard launched < batches.count else { return }
                    let batch = batches[launched]
                    launched += 1
                    group.addTask {
                        let (keys, requests) = try await Self.prepareRequests(for: batch, identity: identity, now: now)
                        return MintedBatch(entries: batch, keys: keys, results: try await client.mintX509SVIDs(requests))
                    }
                }
                launch()
                launch()
                while let minted = try await group.next() {
                    launch()
                    for entry in minted.entries {
                        switch minted.results[entry.id] {
                        case .success(let chain)?:
                            guard let key = minted.keys[entry.id] else { continue }
                            await cache.store(CachedSVID(entryID: entry.id, spiffeID: entry.spiffeID, chain: chain, key: key))
                            refusedUntil[entry.id] = nil
                        case .failure(let error)?:
                            metrics.refusals.increment()
                            logger.warning("server refused an SVID", metadata: ["spiffe_id": "\(entry.spiffeID)", "reason": "\(error.message)"])
                            refusedUntil[entry.id] = now.addingTimeInterval(30)
                        case nil:
                            refusedUntil[entry.id] = now.addingTimeInterval(30)
                        }
                    }
                }
            }
            let next = min(
                await cache.nextMint(layerExpiresAt: identity.expiresAt, notBefore: refusedUntil) ?? .distantFuture,
                Date().addingTimeInterval(30))
            // Never spin: something still due right after this pass waits at least a second
            // (a new entry or a mint request wakes the loop at once anyway).
            let delay = max(next.timeIntervalSinceNow, due.isEmpty ? 1 : 0.05)
            timer?.cancel()
            timer = Task {
                // A cancelled timer (replaced by the next pass) must not wake the loop: that
                // would cancel the next timer at once, and so on, spinning.
                guard (try? await Task.sleep(for: .seconds(delay))) != nil else { return }
                wakeUp.yield()
            }
        }
    }

    /// A fresh key, its CSR and the lineage link this layer signs for each entry: two signatures
    /// and a key generation each, spread over the cores.
    ///
    /// At most one job per core at a time: a thousand jobs queued at once on the shared pool
    /// would make everything else the agent does wait behind them — after a revocation that was
    /// the end of the revoked workloads' streams, held back by over 100 ms while their
    /// replacements were prepared.
    static func prepareRequests(
        for entries: [RegistrationEntry], identity: LayerIdentity, now: Date
    ) async throws -> (keys: [String: SigningKey], requests: [NodeClient.X509Request]) {
        try await withThrowingTaskGroup(of: (SigningKey, NodeClient.X509Request).self) { group in
            let width = max(1, ProcessInfo.processInfo.activeProcessorCount)
            var keys: [String: SigningKey] = [:]
            var requests: [NodeClient.X509Request] = []
            for (index, entry) in entries.enumerated() {
                if index >= width, let (key, request) = try await group.next() {
                    keys[request.entryID] = key
                    requests.append(request)
                }
                group.addTask {
                    let key = try SigningKey(generating: .ecP256)
                    let link = try identity.childLink(for: entry, spiffeID: entry.spiffeID, publicKey: key.publicKey, ttlSeconds: entry.x509TTL, now: now)
                    return (key, NodeClient.X509Request(entryID: entry.id, csr: try CertificateRequests.csr(for: key), lineageLink: link))
                }
            }
            for try await (key, request) in group {
                keys[request.entryID] = key
                requests.append(request)
            }
            return (keys, requests)
        }
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? RPCError { return "\(error.code): \(error.message)" }
        return "\(error)"
    }
}

/// One batch of the minting loop: its entries, the keys made for them and the server's answers.
struct MintedBatch: Sendable {
    let entries: [RegistrationEntry]
    let keys: [String: SigningKey]
    let results: [String: Result<[Certificate], AgentError>]
}
