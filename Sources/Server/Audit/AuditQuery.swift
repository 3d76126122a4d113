import Foundation

/// Which audit records `audit show` asks for.
///
/// - No SPIFFE ID: every record (from ``since`` on).
/// - A SPIFFE ID: the records about it (subject) or made by it (actor).
/// - With ``subtree``: also the records of every identity whose issuance lineage passes through
///   it (the `lineage` detail of `svid.issue` and `jwt_svid.issue` records), of the credentials
///   issued to those identities (by serial), and of whatever those identities did — "every
///   sub-task of this runner, with its credentials and lineage".
public struct AuditQuery: Sendable, Hashable {
    public var spiffeID: String?
    public var subtree: Bool
    public var since: Date?

    public init(spiffeID: String? = nil, subtree: Bool = false, since: Date? = nil) {
        self.spiffeID = spiffeID
        self.subtree = subtree
        self.since = since
    }

    /// The identities and serial numbers a query concerns, gathered from the log itself.
    public struct Scope: Sendable {
        var identities: Set<String> = []
        var serials: Set<String> = []
    }

    /// Builds the scope from the whole log (one pass); call ``matches(_:in:)`` on a second pass.
    public func scope(of records: some Sequence<AuditRecord>) -> Scope {
        var scope = Scope()
        guard let spiffeID else { return scope }
        scope.identities.insert(spiffeID)
        for record in records {
            if subtree, AuditLineage.spiffeIDs(record.event.details["lineage"]).contains(spiffeID) {
                scope.identities.insert(record.event.subject)
            }
            if scope.identities.contains(record.event.subject), let serial = record.event.details["serial"] {
                scope.serials.insert(serial)
            }
        }
        return scope
    }

    /// Whether `record` is one the query asks for, within `scope`.
    public func matches(_ record: AuditRecord, in scope: Scope) -> Bool {
        if let since, record.event.time < since { return false }
        guard spiffeID != nil else { return true }
        let event = record.event
        if scope.identities.contains(event.subject) || scope.identities.contains(event.actor) { return true }
        if let serial = event.details["serial"], scope.serials.contains(serial) { return true }
        if let serials = event.details["serials"], serials.split(separator: " ").contains(where: { scope.serials.contains(String($0)) }) {
            return true
        }
        if let ids = event.details["spiffe_ids"], ids.split(separator: " ").contains(where: { scope.identities.contains(String($0)) }) {
            return true
        }
        return false
    }
}
