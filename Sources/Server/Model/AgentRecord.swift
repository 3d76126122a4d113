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
    /// Serial number of the SVID the current one replaced: still honoured until it expires or the
    /// agent renews again, so calls already under way on the old connection while the agent
    /// renews are not refused (as SPIRE keeps an agent's old and new serial numbers).
    public var previousSerialNumber: String?
    public var expiresAt: Date
    public var createdAt: Date
    public var lastAttestedAt: Date
    public var canReattest: Bool
    /// Evicted agents must attest again; their SVIDs are no longer honoured.
    public var evicted: Bool
    /// Why the agent is untrusted (it failed continuous attestation), if it is: it is evicted and
    /// may not attest again until an operator re-enrols the node.
    public var untrustedReason: String?

    public init(
        spiffeID: SPIFFEID, attestationType: String, selectors: [Selector], serialNumber: String,
        expiresAt: Date, createdAt: Date = Date(), lastAttestedAt: Date = Date(), canReattest: Bool = false, evicted: Bool = false,
        previousSerialNumber: String? = nil, untrustedReason: String? = nil
    ) {
        self.untrustedReason = untrustedReason
        self.previousSerialNumber = previousSerialNumber
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

    /// Whether an SVID with this serial number speaks for the agent: its current one, or the one
    /// the current one replaced.
    public func honours(serialNumber serial: String) -> Bool {
        serial == serialNumber || serial == previousSerialNumber
    }
}
