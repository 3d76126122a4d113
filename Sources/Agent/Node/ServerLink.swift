import Foundation

/// The agent's current connection to the server, if it has one: calls that need the server
/// (minting a JWT-SVID on demand) go through it and fail fast while the server is unreachable.
actor ServerLink {
    private var client: NodeClient?

    func connected(_ client: NodeClient) { self.client = client }

    func disconnected() { client = nil }

    var isConnected: Bool { client != nil }

    /// Mints a JWT-SVID through the current connection.
    func mintJWTSVID(entryID: String, audience: [String]) async throws -> (token: String, expiresAt: Date) {
        guard let client else { throw AgentError("the server is unreachable; a new JWT-SVID cannot be minted now") }
        return try await client.mintJWTSVID(entryID: entryID, audience: audience)
    }
}
