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

    public init(spiffeID: SPIFFEID, kind: Kind, certificate: Certificate, lineage: Lineage) {
        self.spiffeID = spiffeID
        self.kind = kind
        self.certificate = certificate
        self.lineage = lineage
    }

    public var expiresAt: Date { certificate.notValidAfter }

    /// JWT audiences the caller itself may use; empty means any. A child never gets more.
    public var audienceLimit: [String] {
        if case .nested(let entry) = kind { return entry.audiences }
        return []
    }
}
