import Foundation
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

    private var client: NodeClient?
    private var identity: LayerIdentity?
    private var reconnecting = false
    private var waiters: [UUID: CheckedContinuation<Void, Never>] = [:]
    /// Its `server_connected` gauge follows the connection.
    private let metrics: AgentMetrics?

    init(metrics: AgentMetrics? = nil) {
        self.metrics = metrics
    }

    func connected(_ client: NodeClient, as identity: LayerIdentity) {
        self.client = client
        self.identity = identity
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
        if client == nil, reconnecting { await waitForConnection() }
        guard let client, let identity else { throw AgentError("the server is unreachable; a new JWT-SVID cannot be minted now") }
        let link = try identity.childLink(for: entry, spiffeID: spiffeID, publicKey: nil, ttlSeconds: entry.jwtTTL)
        return try await client.mintJWTSVID(
            entryID: entry.id, spiffeID: entry.isWildcard ? spiffeID.description : "", audience: audience, lineageLink: link)
    }

    /// Delivers workload attestation decisions through the current connection; fails at once
    /// while there is none (the reporter keeps them for the next try).
    func reportWorkloadAttestations(_ request: Matryoshka_V1_ReportWorkloadAttestationsRequest) async throws {
        guard let client else { throw AgentError("the server is unreachable") }
        try await client.reportWorkloadAttestations(request)
    }

    /// Revokes credentials this layer vouched for, each with its subtree.
    func revoke(_ serialNumbers: [String], reason: String) async throws -> Int {
        if client == nil, reconnecting { await waitForConnection() }
        guard let client else { throw AgentError("the server is unreachable; the revocation cannot be sent now") }
        return try await client.revoke(serialNumbers, reason: reason)
    }

    /// Waits until connected, the reconnection failed, or ``reconnectWait`` passed.
    private func waitForConnection() async {
        let id = UUID()
        let timeout = Task { [weak self] in
            try? await Task.sleep(for: Self.reconnectWait)
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
