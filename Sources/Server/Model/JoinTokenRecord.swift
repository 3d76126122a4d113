import Foundation
import SPIFFE

/// A join token: single use, with an expiry. Only its SHA-256 is stored.
public struct JoinTokenRecord: Sendable, Hashable, Codable {
    /// Lower-case hex SHA-256 of the token.
    public var tokenHash: String
    /// The SPIFFE ID the redeeming agent gets.
    public var agentID: SPIFFEID
    /// An alias the agent will also be known by.
    public var alias: SPIFFEID?
    public var expiresAt: Date
    public var createdAt: Date
    public var usedAt: Date?

    public init(tokenHash: String, agentID: SPIFFEID, alias: SPIFFEID?, expiresAt: Date, createdAt: Date = Date(), usedAt: Date? = nil) {
        self.tokenHash = tokenHash
        self.agentID = agentID
        self.alias = alias
        self.expiresAt = expiresAt
        self.createdAt = createdAt
        self.usedAt = usedAt
    }
}
