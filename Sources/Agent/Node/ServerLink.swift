import Foundation
import GRPCCore
import MatryoshkaAPI
import SPIFFE

/// The agent's current connection to the server, if it has one: calls that need the server
/// (minting a JWT-SVID on demand) go through it.
///
/// While the agent moves to a new connection on purpose (its SVID was renewed, or its parent
/// rotated it) such calls wait for the new connection, at most ``reconnectWait``; while the
/// server is unreachable they fail at once.
actor ServerLink {
    /// How long a call waits for the connection that replaces one closed on purpose.
    static let reconnectWait: Duration = .seconds(10)
    /// How long a call cut short by a connection that ended otherwise (its sync stream failed as
    /// the agent renewed, say) waits for a new one before its workload is told.
    static let defaultCutShortWait: Duration = .seconds(2)

    private var client: NodeClient?
    private var identity: LayerIdentity?
    /// Counts connections, so a call that failed on one the agent has since replaced can tell.
    private var generation = 0
    private var reconnecting = false
    private var waiters: [UUID: CheckedContinuation<Void, Never>] = [:]
    /// Its `server_connected` gauge follows the connection.
    private let metrics: AgentMetrics?

    private let cutShortWait: Duration

    init(metrics: AgentMetrics? = nil, cutShortWait: Duration = ServerLink.defaultCutShortWait) {
        self.metrics = metrics
        self.cutShortWait = cutShortWait
    }

    func connected(_ client: NodeClient, as identity: LayerIdentity) {
        self.client = client
        self.identity = identity
        generation += 1
        reconnecting = false
        metrics?.serverConnected.set(to: 1)
        wakeWaiters()
    }

    /// The connection is gone; `reconnecting` when the agent is opening the next one at once.
    func disconnected(reconnecting: Bool = false) {
        client = nil
        metrics?.serverConnected.set(to: 0)
        self.reconnecting = reconnecting
        if !reconnecting { wakeWaiters() }
    }

    var isConnected: Bool { client != nil }

    /// Mints a JWT-SVID for `entry` through the current connection, vouching for it with this
    /// layer's lineage.
    func mintJWTSVID(entry: RegistrationEntry, spiffeID: SPIFFEID, audience: [String]) async throws -> (token: String, expiresAt: Date) {
        try await withConnection(unreachable: "a new JWT-SVID cannot be minted now") { client, identity in
            let link = try identity.childLink(for: entry, spiffeID: spiffeID, publicKey: nil, ttlSeconds: entry.jwtTTL)
            return try await client.mintJWTSVID(
                entryID: entry.id, spiffeID: entry.isWildcard ? spiffeID.description : "", audience: audience, lineageLink: link)
        }
    }

    /// Runs `call` on the current connection (waiting for it while the agent reconnects on
    /// purpose). A call that the closing of its connection cut short — the agent moved to a new
    /// one meanwhile (its SVID was renewed), is moving, or its connection ended otherwise and a new
    /// one follows within ``defaultCutShortWait`` — is made once more on the new connection, with the
    /// new identity: the workload asked at an unlucky moment, it should not see an error for it.
    func withConnection<T: Sendable>(
        unreachable: String, _ call: @Sendable (NodeClient, LayerIdentity) async throws -> T
    ) async throws -> T {
        var attempt = 0
        while true {
            attempt += 1
            if client == nil, reconnecting { await waitForConnection() }
            guard let client, let identity else { throw AgentError("the server is unreachable; \(unreachable)") }
            let used = generation
            do {
                return try await call(client, identity)
            } catch where attempt == 1 && Self.isCutShort(error) {
                // Replaced while the call was in flight: try the new one. Being replaced, or gone
                // for another reason the link may not even know of yet: wait for the next one.
                if generation == used {
                    let wait = reconnecting ? Self.reconnectWait : cutShortWait
                    guard await waitForNewConnection(after: used, within: wait) else { throw error }
                }
            }
        }
    }

    /// A call its connection's closing cut short: in flight (`Unavailable`), or started just
    /// after the client stopped.
    static func isCutShort(_ error: any Error) -> Bool {
        if let error = error as? RPCError { return error.code == .unavailable }
        if let error = error as? RuntimeError { return error.code == .clientIsStopped }
        return false
    }

    /// Delivers workload attestation decisions through the current connection; fails at once
    /// while there is none (the reporter keeps them for the next try).
    func reportWorkloadAttestations(_ request: Matryoshka_V1_ReportWorkloadAttestationsRequest) async throws {
        guard let client else { throw AgentError("the server is unreachable") }
        try await client.reportWorkloadAttestations(request)
    }

    /// Revokes credentials this layer vouched for, each with its subtree.
    func revoke(_ serialNumbers: [String], reason: String) async throws -> Int {
        try await withConnection(unreachable: "the revocation cannot be sent now") { client, _ in
            try await client.revoke(serialNumbers, reason: reason)
        }
    }

    /// Waits until connected, the reconnection failed, or ``reconnectWait`` passed.
    private func waitForConnection() async {
        await waitForChange(until: .now + Self.reconnectWait)
    }

    /// Waits until a connection newer than `used` is up, or `limit` passed; returns whether one is.
    private func waitForNewConnection(after used: Int, within limit: Duration) async -> Bool {
        let deadline = ContinuousClock.now + limit
        while generation == used || client == nil, ContinuousClock.now < deadline {
            await waitForChange(until: deadline)
        }
        return generation != used && client != nil
    }

    /// Waits until the next connection or disconnection, or `deadline`.
    private func waitForChange(until deadline: ContinuousClock.Instant) async {
        let id = UUID()
        let timeout = Task { [weak self] in
            try? await Task.sleep(until: deadline)
            await self?.wake(id)
        }
        await withCheckedContinuation { continuation in
            waiters[id] = continuation
        }
        timeout.cancel()
    }

    private func wake(_ id: UUID) {
        waiters.removeValue(forKey: id)?.resume()
    }

    private func wakeWaiters() {
        let pending = waiters
        waiters = [:]
        for waiter in pending.values { waiter.resume() }
    }
}
