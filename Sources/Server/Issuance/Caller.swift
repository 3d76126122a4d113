import Foundation
import Lineage
import SPIFFE
import X509

/// An authenticated caller of the node API: a node agent, or a nested layer (a workload whose
/// entry is `nested`) acting as an agent for its own children.
public struct Caller: Sendable {
    public enum Kind: Sendable {
        case agent(AgentRecord)
        case nested(RegistrationEntry)
    }

    public let spiffeID: SPIFFEID
    public let kind: Kind
    /// The caller's current SVID.
    public let certificate: Certificate
    /// The chain of custody carried in that SVID (the server put it there, so it is trusted).
    public let lineage: Lineage

    /// A limit on the JWT audiences a layer and everything inside it may use.
    public struct AudienceLimit: Sendable, Equatable {
        /// The layer whose entry sets the limit.
        public let layer: SPIFFEID
        /// The audiences it allows (never empty: an entry without audiences sets no limit).
        public let audiences: [String]

        public init(layer: SPIFFEID, audiences: [String]) {
            self.layer = layer
            self.audiences = audiences
        }
    }

    /// The audience limits of the nested layers above the caller in its lineage, nearest first
    /// (the caller's own entry is not among them: see ``audienceLimits``).
    public let ancestorAudienceLimits: [AudienceLimit]

    public init(spiffeID: SPIFFEID, kind: Kind, certificate: Certificate, lineage: Lineage, ancestorAudienceLimits: [AudienceLimit] = []) {
        self.spiffeID = spiffeID
        self.kind = kind
        self.certificate = certificate
        self.lineage = lineage
        self.ancestorAudienceLimits = ancestorAudienceLimits
    }

    public var expiresAt: Date { certificate.notValidAfter }

    /// JWT audiences the caller itself may use; empty means any. A child never gets more.
    public var audienceLimit: [String] {
        if case .nested(let entry) = kind { return entry.audiences }
        return []
    }

    /// Every limit on the JWT audiences of the caller's children, nearest first: the caller's own
    /// entry's, then those of each nested layer above it. A child's audiences must be within all
    /// of them, so a layer cannot widen what a grandparent allows by leaving its own entry open.
    public var audienceLimits: [AudienceLimit] {
        let own = audienceLimit.isEmpty ? [] : [AudienceLimit(layer: spiffeID, audiences: audienceLimit)]
        return own + ancestorAudienceLimits
    }

    /// ``audienceLimits`` with who sets each, as refusals name them.
    public var describedAudienceLimits: [([String], String)] {
        audienceLimits.map { ($0.audiences, $0.layer == spiffeID ? "the parent \($0.layer)" : "the ancestor layer \($0.layer)") }
    }
}
