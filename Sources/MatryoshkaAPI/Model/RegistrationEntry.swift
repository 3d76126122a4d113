import Attestation
import Foundation
import SPIFFE

/// A registration entry: the workload with these selectors, under this parent, gets this SPIFFE ID.
public struct RegistrationEntry: Sendable, Hashable, Codable, Identifiable {
    /// A UUID, assigned by the server.
    public var id: String
    /// The SPIFFE ID issued; for a wildcard entry, the prefix below which the parent chooses the
    /// last segment.
    public var spiffeID: SPIFFEID
    /// The entry's ID ends in `/*`: one registration for many children, e.g.
    /// `spiffe://td/ci/runner/task/*`, where the parent names each child (`…/task/1234`).
    public var isWildcard: Bool
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
        isWildcard: Bool = false,
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
        self.isWildcard = isWildcard
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

    /// The entry's SPIFFE ID as written: the ID, or the prefix followed by `/*`.
    public var template: String { isWildcard ? spiffeID.description + "/*" : spiffeID.description }

    /// Parses an entry's SPIFFE ID as written, allowing a final `/*` segment.
    public static func parseTemplate(_ text: String) throws(SPIFFEIDError) -> (spiffeID: SPIFFEID, isWildcard: Bool) {
        if text.hasSuffix("/*") {
            return (try SPIFFEID(String(text.dropLast(2))), true)
        }
        return (try SPIFFEID(text), false)
    }

    /// Whether `id` is an identity this entry grants: the ID itself, or for a wildcard entry
    /// exactly one more segment below the prefix.
    public func grants(_ id: SPIFFEID) -> Bool {
        guard isWildcard else { return id == spiffeID }
        guard id.trustDomain == spiffeID.trustDomain, id.path.hasPrefix(spiffeID.path + "/") else { return false }
        return !id.path.dropFirst(spiffeID.path.count + 1).contains("/")
    }
}
