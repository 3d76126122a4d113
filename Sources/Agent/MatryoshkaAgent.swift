import Attestation
import Authority
import Foundation
import GRPCCore
import Logging
import MatryoshkaAPI
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
    private var readyWaiters: [CheckedContinuation<Void, Never>] = []
    private var isReady = false
    private(set) public var agentID: SPIFFEID?

    public init(config: AgentConfig, logger: Logger, workloadAttestor: (any WorkloadAttestor)? = nil) {
        self.config = config
        self.logger = logger
        self.attestor = workloadAttestor ?? UnixWorkloadAttestor()
        self.stateStore = AgentStateStore(directory: config.dataDirectory)
    }

    /// Waits until the agent has its identity and serves the Workload API.
    public func waitUntilReady() async {
        if isReady { return }
        await withCheckedContinuation { readyWaiters.append($0) }
    }

    /// Runs until cancelled.
    public func run() async throws {
        try stateStore.prepare()
        let identity = try await obtainIdentity()
        agentID = try X509SVID.spiffeID(of: identity.chain[0])
        let cache = IdentityCache(bundle: identity.bundle, logger: logger)
        let link = ServerLink()
        let provider = AgentWorkloadProvider(cache: cache, attestor: attestor, link: link, logger: logger)
        let workloadAPI = WorkloadAPIServer(
            configuration: WorkloadAPIServer.Configuration(
                address: try WorkloadAPIAddress(config.socketPath), socketMode: UInt32(config.socketMode), logger: logger),
            provider: provider)

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await workloadAPI.run() }
            group.addTask {
                _ = try await workloadAPI.waitUntilListening()
                await self.markReady()
            }
            group.addTask {
                try await self.connectionLoop(identity: identity, cache: cache, link: link)
            }
            try await group.next()
            try await group.next()
            try await group.next()
        }
    }

    private func markReady() {
        isReady = true
        logger.notice("agent ready", metadata: ["agent_id": "\(agentID?.description ?? "-")", "socket": "\(config.socketPath)"])
        for waiter in readyWaiters { waiter.resume() }
        readyWaiters.removeAll()
    }

    // MARK: Identity

    /// The agent's identity: the saved one if it is still valid, else a new one by attestation.
    private func obtainIdentity() async throws -> AgentStateStore.State {
        if let saved = try stateStore.load(trustDomain: config.trustDomain) {
            let expiry = saved.chain[0].notValidAfter
            if expiry > Date().addingTimeInterval(5) {
                logger.info("using saved agent identity", metadata: [
                    "agent_id": "\((try? X509SVID.spiffeID(of: saved.chain[0]).description) ?? "?")",
                    "expires": "\(expiry.formatted(.iso8601))",
                ])
                return saved
            }
            guard config.joinToken != nil else {
                throw AgentError("the saved agent SVID expired at \(expiry.formatted(.iso8601)); the agent must attest again (start it with a new --join-token)")
            }
            logger.warning("saved agent SVID has expired; attesting again")
        }
        guard let token = config.joinToken else {
            throw AgentError("no agent identity in \(config.dataDirectory): start the agent with --join-token (from `matryoshka server token generate`)")
        }
        guard let bundlePath = config.bootstrapBundlePath else {
            throw AgentError("--trust-bundle is required for the first attestation, to authenticate the server")
        }
        let bootstrapBundle: SPIFFEBundle
        do {
            bootstrapBundle = try BundleFile.parse(Array(try Data(contentsOf: URL(fileURLWithPath: bundlePath))), trustDomain: config.trustDomain)
        } catch {
            throw AgentError("cannot read trust bundle \(bundlePath): \(error)")
        }
        return try await attest(with: JoinTokenAttestorClient(token: token), bootstrapBundle: bootstrapBundle)
    }

    private func attest(with attestor: any NodeAttestorClient, bootstrapBundle: SPIFFEBundle) async throws -> AgentStateStore.State {
        let key = try SigningKey(generating: .ecP256)
        let reloader = SVIDCertificateReloader()
        try reloader.update(chain: [try CertificateRequests.bootstrapCertificate(for: key)], key: key.certificatePrivateKey)
        let diagnostics = TLSDiagnostics()
        let deadline = ContinuousClock.now.advanced(by: config.startupTimeout)
        var delay = Duration.milliseconds(250)
        while true {
            do {
                let (id, chain, bundle) = try await NodeClient.withConnection(
                    host: config.serverHost, port: config.serverPort, serverID: config.serverID, identity: reloader,
                    bundle: { bootstrapBundle }, diagnostics: diagnostics
                ) { client in
                    try await client.attest(with: attestor, key: key)
                }
                try stateStore.saveIdentity(chain: chain, key: key)
                try stateStore.saveBundle(bundle)
                logger.notice("node attested", metadata: ["agent_id": "\(id)", "method": "\(attestor.type)", "expires": "\(chain[0].notValidAfter.formatted(.iso8601))"])
                return AgentStateStore.State(chain: chain, key: key, bundle: bundle)
            } catch let error as RPCError where error.code != .unavailable && error.code != .deadlineExceeded {
                throw AgentError("node attestation refused: \(error.message)")
            } catch {
                let reason = diagnostics.failure ?? Self.describe(error)
                if diagnostics.failure != nil || ContinuousClock.now >= deadline {
                    throw AgentError("cannot reach the server at \(config.serverHost):\(config.serverPort): \(reason)")
                }
                logger.info("server not reachable yet; retrying", metadata: ["reason": "\(reason)"])
                try await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(5))
            }
        }
    }

    // MARK: Connection to the server

    private struct Reconnect: Error {}

    private func connectionLoop(identity initial: AgentStateStore.State, cache: IdentityCache, link: ServerLink) async throws {
        var identity = initial
        let reloader = SVIDCertificateReloader()
        let diagnostics = TLSDiagnostics()
        var delay = Duration.seconds(1)
        var wasConnected = true
        while !Task.isCancelled {
            try reloader.update(chain: identity.chain, key: identity.key.certificatePrivateKey)
            let current = identity
            do {
                let renewed: AgentStateStore.State? = try await NodeClient.withConnection(
                    host: config.serverHost, port: config.serverPort, serverID: config.serverID, identity: reloader,
                    bundle: { await cache.bundle }, diagnostics: diagnostics
                ) { client in
                    await link.connected(client)
                    return try await self.serve(client: client, identity: current, cache: cache)
                }
                await link.disconnected()
                if let renewed { identity = renewed }
                delay = .seconds(1)
                wasConnected = true
            } catch {
                await link.disconnected()
                if Task.isCancelled { return }
                let reason = diagnostics.failure ?? Self.describe(error)
                let held = await cache.svidCount
                if wasConnected {
                    logger.warning("server unreachable; serving cached identities", metadata: [
                        "reason": "\(reason)", "cached_svids": "\(held)", "agent_svid_expires": "\(identity.chain[0].notValidAfter.formatted(.iso8601))",
                    ])
                } else {
                    logger.info("still cannot reach the server", metadata: ["reason": "\(reason)", "retry_in": "\(delay)"])
                }
                wasConnected = false
                if identity.chain[0].notValidAfter <= Date() {
                    logger.error("the agent SVID has expired while the server was unreachable; the agent must attest again")
                }
                try await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(30))
            }
        }
    }

    /// Serves one connection: keeps the cache in sync, mints SVIDs, and renews the agent SVID at
    /// half-life (after which the connection is re-established with the new SVID).
    private func serve(client: NodeClient, identity: AgentStateStore.State, cache: IdentityCache) async throws -> AgentStateStore.State? {
        try await withThrowingTaskGroup(of: AgentStateStore.State?.self) { group in
            group.addTask {
                try await client.sync { entries, bundle, isFirst in
                    let previous = await cache.bundle
                    await cache.apply(entries: entries, bundle: bundle)
                    if bundle != previous { try? self.stateStore.saveBundle(bundle) }
                    if isFirst {
                        self.logger.notice("connected to server", metadata: ["entries": "\(entries.count)"])
                    } else {
                        self.logger.info("sync update", metadata: ["entries": "\(entries.count)", "bundle_sequence": "\(bundle.sequenceNumber ?? 0)"])
                    }
                }
                throw AgentError("the server closed the sync stream")
            }
            group.addTask {
                try await self.mintLoop(client: client, cache: cache)
                return nil
            }
            group.addTask {
                let leaf = identity.chain[0]
                let renewAt = leaf.notValidBefore.addingTimeInterval(leaf.notValidAfter.timeIntervalSince(leaf.notValidBefore) / 2)
                try await Task.sleep(for: .seconds(max(0, renewAt.timeIntervalSinceNow)))
                return try await self.renewAgentSVID(client: client)
            }
            guard let result = try await group.next() else { return nil }
            group.cancelAll()
            return result
        }
    }

    private func renewAgentSVID(client: NodeClient) async throws -> AgentStateStore.State {
        let key = try SigningKey(generating: .ecP256)
        let chain = try await client.renew(key: key)
        try stateStore.saveIdentity(chain: chain, key: key)
        let bundle = try stateStore.load(trustDomain: config.trustDomain)?.bundle ?? SPIFFEBundle(trustDomain: config.trustDomain)
        logger.info("agent SVID renewed", metadata: ["serial": "\(chain[0].serialNumber.hexString)", "expires": "\(chain[0].notValidAfter.formatted(.iso8601))"])
        return AgentStateStore.State(chain: chain, key: key, bundle: bundle)
    }

    /// Mints SVIDs whenever entries need them: new entries at once, held ones at half-life.
    private func mintLoop(client: NodeClient, cache: IdentityCache) async throws {
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
            let due = await cache.entriesNeedingSVIDs(now: now).filter { (refusedUntil[$0.id] ?? .distantPast) <= now }
            for batch in stride(from: 0, to: due.count, by: 200).map({ Array(due[$0..<min($0 + 200, due.count)]) }) {
                var keys: [String: SigningKey] = [:]
                var requests: [(entryID: String, csr: [UInt8])] = []
                for entry in batch {
                    let key = try SigningKey(generating: .ecP256)
                    keys[entry.id] = key
                    requests.append((entry.id, try CertificateRequests.csr(for: key)))
                }
                let results = try await client.mintX509SVIDs(requests)
                for entry in batch {
                    switch results[entry.id] {
                    case .success(let chain)?:
                        guard let key = keys[entry.id] else { continue }
                        await cache.store(CachedSVID(entryID: entry.id, spiffeID: entry.spiffeID, chain: chain, key: key))
                        refusedUntil[entry.id] = nil
                    case .failure(let error)?:
                        logger.warning("server refused an SVID", metadata: ["spiffe_id": "\(entry.spiffeID)", "reason": "\(error.message)"])
                        refusedUntil[entry.id] = now.addingTimeInterval(30)
                    case nil:
                        refusedUntil[entry.id] = now.addingTimeInterval(30)
                    }
                }
            }
            let nextRenewal = await cache.nextRenewal() ?? .distantFuture
            let nextRetry = refusedUntil.values.min() ?? .distantFuture
            let next = min(nextRenewal, nextRetry, Date().addingTimeInterval(30))
            timer?.cancel()
            timer = Task {
                try? await Task.sleep(for: .seconds(max(0.01, next.timeIntervalSinceNow)))
                wakeUp.yield()
            }
        }
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? RPCError { return "\(error.code): \(error.message)" }
        return "\(error)"
    }
}
