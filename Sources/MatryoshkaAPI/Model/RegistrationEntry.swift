import Attestation
import Foundation
import SPIFFE

/// A registration entry: the workload with these selectors, under this parent, gets this SPIFFE ID.
public struct RegistrationEntry: Sendable, Hashable, Codable, Identifiable {
    /// A UUID, assigned by the server.
    public var id: String
    public var spiffeID: SPIFFEID
    /// The agent (or alias, or nested layer) that may obtain this identity for its callers.
    public var parentID: SPIFFEID
    /// Sorted, without duplicates.
    public var selectors: [Selector]
    /// X509-SVID lifetime in seconds; 0 means the server default.
    public var x509TTL: Int
    /// JWT-SVID lifetime in seconds; 0 means the server default.
    public var jwtTTL: Int
    public var dnsNames: [String]
    /// JWT audiences the holder may ask for; empty means any.
    public var audiences: [String]
    /// The holder may act as an agent for its own children.
    public var nested: Bool
    /// Incremented by the server on every change.
    public var revision: Int64
    public var createdAt: Date

    public init(
        id: String = UUID().uuidString.lowercased(),
        spiffeID: SPIFFEID,
        parentID: SPIFFEID,
        selectors: [Selector],
        x509TTL: Int = 0,
        jwtTTL: Int = 0,
        dnsNames: [String] = [],
        audiences: [String] = [],
        nested: Bool = false,
        revision: Int64 = 0,
        createdAt: Date = Date()
    ) {
        self.id = id
        self.spiffeID = spiffeID
        self.parentID = parentID
        self.selectors = Array(Set(selectors)).sorted()
        self.x509TTL = x509TTL
        self.jwtTTL = jwtTTL
        self.dnsNames = dnsNames
        self.audiences = audiences
        self.nested = nested
        self.revision = revision
        self.createdAt = createdAt
    }
}
