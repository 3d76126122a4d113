import Attestation
import Foundation
import GRDB
import SPIFFE

/// A row of `entries`.
struct SQLiteEntryRow: Sendable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "entries"

    enum Columns {
        static let id = Column("id")
        static let spiffeID = Column("spiffe_id")
        static let parentID = Column("parent_id")
        static let selectors = Column("selectors")
    }

    var id: String
    var spiffeID: String
    var parentID: String
    /// Canonical JSON array, sorted: equal selector sets have equal text.
    var selectors: String
    var x509TTL: Int64
    var jwtTTL: Int64
    var dnsNames: String
    var audiences: String
    var nested: Bool
    var revision: Int64
    var createdAt: Int64

    init(_ entry: RegistrationEntry) {
        id = entry.id
        spiffeID = entry.template
        parentID = entry.parentID.description
        selectors = StoredValues.selectorsText(entry.selectors)
        x509TTL = Int64(entry.x509TTL)
        jwtTTL = Int64(entry.jwtTTL)
        dnsNames = StoredValues.stringsText(entry.dnsNames)
        audiences = StoredValues.stringsText(entry.audiences)
        nested = entry.nested
        revision = entry.revision
        createdAt = StoredTime.milliseconds(entry.createdAt)
    }

    init(row: Row) throws {
        id = try row.decode(atIndex: 0)
        spiffeID = try row.decode(atIndex: 1)
        parentID = try row.decode(atIndex: 2)
        selectors = try row.decode(atIndex: 3)
        x509TTL = try row.decode(atIndex: 4)
        jwtTTL = try row.decode(atIndex: 5)
        dnsNames = try row.decode(atIndex: 6)
        audiences = try row.decode(atIndex: 7)
        nested = try row.decode(atIndex: 8)
        revision = try row.decode(atIndex: 9)
        createdAt = try row.decode(atIndex: 10)
    }

    /// The columns, in the order `init(row:)` reads them.
    static var databaseSelection: [any SQLSelectable] {
        [
            Column("id"), Column("spiffe_id"), Column("parent_id"), Column("selectors"), Column("x509_ttl"),
            Column("jwt_ttl"), Column("dns_names"), Column("audiences"), Column("nested"), Column("revision"),
            Column("created_at"),
        ]
    }

    func encode(to container: inout PersistenceContainer) {
        container["id"] = id
        container["spiffe_id"] = spiffeID
        container["parent_id"] = parentID
        container["selectors"] = selectors
        container["x509_ttl"] = x509TTL
        container["jwt_ttl"] = jwtTTL
        container["dns_names"] = dnsNames
        container["audiences"] = audiences
        container["nested"] = nested
        container["revision"] = revision
        container["created_at"] = createdAt
    }

    func model() throws(DataStoreError) -> RegistrationEntry {
        var cache = DecodingCache()
        return try model(cache: &cache)
    }

    /// Values that repeat across entries (parents, selector sets), parsed once per listing.
    struct DecodingCache {
        var parents: [String: SPIFFEID] = [:]
        var selectorSets: [String: [Selector]] = [:]
    }

    /// The entry, with parents and selector sets looked up in `cache` before being parsed.
    func model(cache: inout DecodingCache) throws(DataStoreError) -> RegistrationEntry {
        let record = "entry \(id)"
        guard let x509TTL = Int(exactly: x509TTL), let jwtTTL = Int(exactly: jwtTTL) else {
            throw .corrupt("\(record): TTL out of range")
        }
        let parent: SPIFFEID
        if let cached = cache.parents[parentID] {
            parent = cached
        } else {
            parent = try StoredValues.spiffeID(parentID, record, column: "parent_id")
            cache.parents[parentID] = parent
        }
        let selectors: [Selector]
        if let cached = cache.selectorSets[self.selectors] {
            selectors = cached
        } else {
            selectors = try StoredValues.selectors(self.selectors, record, column: "selectors")
            cache.selectorSets[self.selectors] = selectors
        }
        let template: (spiffeID: SPIFFEID, isWildcard: Bool)
        do {
            template = try RegistrationEntry.parseTemplate(spiffeID)
        } catch {
            throw .corrupt("\(record): spiffe_id '\(spiffeID)' is not a SPIFFE ID: \(error)")
        }
        var entry = RegistrationEntry(
            id: id,
            spiffeID: template.spiffeID,
            isWildcard: template.isWildcard,
            parentID: parent,
            selectors: [],
            x509TTL: x509TTL,
            jwtTTL: jwtTTL,
            dnsNames: try StoredValues.strings(dnsNames, record, column: "dns_names"),
            audiences: try StoredValues.strings(audiences, record, column: "audiences"),
            nested: nested,
            revision: revision,
            createdAt: StoredTime.date(createdAt))
        // `StoredValues.selectors` returns them sorted and unique, as the model wants; assigning
        // skips the initializer's sorting again.
        entry.selectors = selectors
        return entry
    }
}
