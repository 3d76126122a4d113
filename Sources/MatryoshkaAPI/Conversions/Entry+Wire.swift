import Attestation
import Foundation
import SPIFFE

extension RegistrationEntry {
    /// The entry as sent on the wire.
    public var wire: Matryoshka_V1_Entry {
        Matryoshka_V1_Entry.with {
            $0.id = id
            $0.spiffeID = template
            $0.parentID = parentID.description
            $0.selectors = selectors.map(\.wire)
            $0.x509SvidTtlSeconds = Int32(clamping: x509TTL)
            $0.jwtSvidTtlSeconds = Int32(clamping: jwtTTL)
            $0.dnsNames = dnsNames
            $0.audiences = audiences
            $0.nested = nested
            $0.revision = revision
            // Milliseconds: entries created within the same second keep their order (the
            // oldest entry a workload matches is its default identity).
            $0.createdAt = Int64((createdAt.timeIntervalSince1970 * 1000).rounded())
        }
    }

    /// An entry from the wire, every field validated. An empty `id` is allowed (the server assigns one).
    public init(wire: Matryoshka_V1_Entry) throws(WireConversionError) {
        let spiffeID: SPIFFEID
        let isWildcard: Bool
        let parentID: SPIFFEID
        do {
            (spiffeID, isWildcard) = try RegistrationEntry.parseTemplate(wire.spiffeID)
        } catch {
            throw WireConversionError("SPIFFE ID '\(wire.spiffeID)': \(error)")
        }
        do {
            parentID = try SPIFFEID(wire.parentID)
        } catch {
            throw WireConversionError("parent ID '\(wire.parentID)': \(error)")
        }
        var selectors: [Selector] = []
        for selector in wire.selectors { selectors.append(try Selector(wire: selector)) }
        guard wire.x509SvidTtlSeconds >= 0 else { throw WireConversionError("X509-SVID TTL must not be negative") }
        guard wire.jwtSvidTtlSeconds >= 0 else { throw WireConversionError("JWT-SVID TTL must not be negative") }
        self.init(
            id: wire.id.isEmpty ? UUID().uuidString.lowercased() : wire.id,
            spiffeID: spiffeID,
            isWildcard: isWildcard,
            parentID: parentID,
            selectors: selectors,
            x509TTL: Int(wire.x509SvidTtlSeconds),
            jwtTTL: Int(wire.jwtSvidTtlSeconds),
            dnsNames: wire.dnsNames,
            audiences: wire.audiences,
            nested: wire.nested,
            revision: wire.revision,
            createdAt: Date(timeIntervalSince1970: TimeInterval(wire.createdAt) / 1000))
    }
}

extension Selector {
    public var wire: Matryoshka_V1_Selector {
        Matryoshka_V1_Selector.with {
            $0.type = type
            $0.value = value
        }
    }

    public init(wire: Matryoshka_V1_Selector) throws(WireConversionError) {
        do {
            try self.init(type: wire.type, value: wire.value)
        } catch {
            throw WireConversionError(error.description)
        }
    }
}
