import Attestation
import Foundation
import SPIFFE

/// An attested agent, as the server remembers it.
public struct AgentRecord: Sendable, Hashable, Codable {
    public var spiffeID: SPIFFEID
    /// The node attestation method: `join_token`, `tpm`, `x509pop`.
    public var attestationType: String
    public var selectors: [Selector]
    /// Serial number (hex) of the agent's current SVID; an agent presenting another is refused.
    public var serialNumber: String
    public var expiresAt: Date
    public var createdAt: Date
    public var lastAttestedAt: Date
    public var canReattest: Bool
    /// Evicted agents must attest again; their SVIDs are no longer honoured.
    public var evicted: Bool

    public init(
        spiffeID: SPIFFEID, attestationType: String, selectors: [Selector], serialNumber: String,
        expiresAt: Date, createdAt: Date = Date(), lastAttestedAt: Date = Date(), canReattest: Bool = false, evicted: Bool = false
    ) {
        self.spiffeID = spiffeID
        self.attestationType = attestationType
        self.selectors = selectors
        self.serialNumber = serialNumber
        self.expiresAt = expiresAt
        self.createdAt = createdAt
        self.lastAttestedAt = lastAttestedAt
        self.canReattest = canReattest
        self.evicted = evicted
    }
}
