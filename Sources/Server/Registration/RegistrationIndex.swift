import Attestation
import Foundation
import SPIFFE

/// The registration entries in memory, indexed for the questions the server asks on every
/// request: which entries may this caller serve, and which callers must hear about a change.
///
/// The datastore is the source of truth; the index is loaded from it at start-up and updated
/// after each successful write.
///
/// **Node entries** are entries whose parent is the server (`entry create --node`): they name a
/// group of nodes by node selectors (e.g. `region:eu`, a TPM enrolment's label). Every attested
/// agent whose node selectors include all of a node entry's is also known by that entry's SPIFFE
/// ID, so a workload entry under it is served only by the nodes of that group — "only run in an
/// EU cluster".
public actor RegistrationIndex {
    private var byID: [String: RegistrationEntry] = [:]
    private var byParent: [SPIFFEID: Set<String>] = [:]
    private var bySPIFFEID: [SPIFFEID: Set<String>] = [:]
    private var watchers: [UUID: Watcher] = [:]
    /// The parent of node entries; nil: no node entries (tests of workload entries only).
    private let serverID: SPIFFEID?
    /// What each attested (not evicted) agent's node proved, by agent ID.
    private var nodeSelectors: [SPIFFEID: Set<Selector>] = [:]

    private struct Watcher {
        let caller: SPIFFEID
        let continuation: AsyncStream<Void>.Continuation
    }

    /// - Parameters:
    ///   - serverID: the server's SPIFFE ID, the parent of node entries.
    ///   - nodes: the node selectors of the agents attested so far.
    public init(entries: [RegistrationEntry] = [], serverID: SPIFFEID? = nil, nodes: [SPIFFEID: [Selector]] = [:]) {
        self.serverID = serverID
        nodeSelectors = nodes.mapValues(Set.init)
        for entry in entries {
            byID[entry.id] = entry
            byParent[entry.parentID, default: []].insert(entry.id)
            bySPIFFEID[entry.spiffeID, default: []].insert(entry.id)
        }
    }

    public var count: Int { byID.count }

    /// Told the number of entries now and after every change (the `entries` gauge).
    private var countObserver: (@Sendable (Int) -> Void)?

    /// Calls `observer` with the number of entries now and after every change.
    public func observeCount(_ observer: @escaping @Sendable (Int) -> Void) {
        countObserver = observer
        observer(byID.count)
    }

    public func entry(id: String) -> RegistrationEntry? { byID[id] }

    /// The `nested` entry that grants `id`, if any: what lets a workload act as an agent.
    public func nestedEntry(granting id: SPIFFEID) -> RegistrationEntry? {
        if let exact = bySPIFFEID[id]?.compactMap({ byID[$0] }).first(where: \.nested) { return exact }
        // A wildcard entry `…/prefix/*` grants `…/prefix/x`.
        guard let parentPath = id.path.split(separator: "/").dropLast().joined(separator: "/") as String?,
              let prefix = try? SPIFFEID(trustDomain: id.trustDomain, path: parentPath.isEmpty ? "" : "/" + parentPath)
        else { return nil }
        return bySPIFFEID[prefix]?.compactMap { byID[$0] }.first { $0.isWildcard && $0.nested && $0.grants(id) }
    }

    /// Whether some entry has this SPIFFE ID.
    public func hasEntry(spiffeID: SPIFFEID) -> Bool {
        bySPIFFEID[spiffeID] != nil
    }

    /// Adds or replaces an entry and tells the callers it concerns.
    public func upsert(_ entry: RegistrationEntry) {
        if let old = byID[entry.id] { remove(old) }
        insert(entry)
        notify(parent: entry.parentID)
        countObserver?(byID.count)
    }

    /// Removes an entry and tells the callers it concerned.
    public func delete(id: String) {
        guard let entry = byID[id] else { return }
        remove(entry)
        notify(parent: entry.parentID)
        countObserver?(byID.count)
    }

    /// SPIFFE IDs the caller is also known by: entries without selectors whose parent is the
    /// caller (node aliases, e.g. from `token generate --spiffe-id`), and the node entries whose
    /// selectors the caller's node has.
    public func aliases(of caller: SPIFFEID) -> [SPIFFEID] {
        let direct = (byParent[caller] ?? []).compactMap { byID[$0] }.filter(\.selectors.isEmpty).map(\.spiffeID)
        return Array(Set(direct + nodeGroups(of: caller))).sorted()
    }

    /// The node entries `agent`'s node belongs to.
    public func nodeGroups(of agent: SPIFFEID) -> [SPIFFEID] {
        guard let serverID, let proved = nodeSelectors[agent], let ids = byParent[serverID] else { return [] }
        return ids.compactMap { byID[$0] }
            .filter { !$0.selectors.isEmpty && proved.isSuperset(of: $0.selectors) }
            .map(\.spiffeID)
    }

    /// Whether `entry` names a group of nodes rather than a workload.
    public func isNodeEntry(_ entry: RegistrationEntry) -> Bool {
        entry.parentID == serverID
    }

    /// Records what `agent`'s node proved (at attestation), and tells the agent if the entries it
    /// serves change.
    public func setNodeSelectors(_ selectors: [Selector], for agent: SPIFFEID) {
        let before = nodeGroups(of: agent)
        nodeSelectors[agent] = Set(selectors)
        if nodeGroups(of: agent) != before { notify(caller: agent) }
    }

    /// Forgets an evicted agent's node selectors: it serves nothing through node entries.
    public func removeNode(_ agent: SPIFFEID) {
        guard nodeSelectors.removeValue(forKey: agent) != nil else { return }
        notify(caller: agent)
    }

    /// The workload entries the caller may serve: those whose parent is the caller or one of its
    /// aliases, and that have selectors.
    public func entries(servedBy caller: SPIFFEID) -> [RegistrationEntry] {
        let names = [caller] + aliases(of: caller)
        var result: [RegistrationEntry] = []
        for name in names {
            for id in byParent[name] ?? [] {
                if let entry = byID[id], !entry.selectors.isEmpty { result.append(entry) }
            }
        }
        return result.sorted { ($0.spiffeID, $0.id) < ($1.spiffeID, $1.id) }
    }

    /// Whether the caller may obtain SVIDs for `entry`.
    public func may(_ caller: SPIFFEID, serve entry: RegistrationEntry) -> Bool {
        guard !entry.selectors.isEmpty else { return false }
        return entry.parentID == caller || aliases(of: caller).contains(entry.parentID)
    }

    /// A signal every time the set of entries `caller` may serve could have changed.
    public func changes(for caller: SPIFFEID) -> AsyncStream<Void> {
        let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let id = UUID()
        watchers[id] = Watcher(caller: caller, continuation: continuation)
        continuation.onTermination = { [weak self] _ in
            Task { await self?.removeWatcher(id) }
        }
        return stream
    }

    private func removeWatcher(_ id: UUID) { watchers[id] = nil }

    private func notify(caller: SPIFFEID) {
        for watcher in watchers.values where watcher.caller == caller { watcher.continuation.yield() }
    }

    private func notify(parent: SPIFFEID) {
        if parent == serverID {
            // A node entry: which agents belong to its group is for each of them to find out.
            for watcher in watchers.values { watcher.continuation.yield() }
            return
        }
        for watcher in watchers.values {
            // The caller itself, or a caller one of whose aliases is the parent.
            if watcher.caller == parent || aliases(of: watcher.caller).contains(parent) {
                watcher.continuation.yield()
            }
        }
    }

    private func insert(_ entry: RegistrationEntry) {
        byID[entry.id] = entry
        byParent[entry.parentID, default: []].insert(entry.id)
        bySPIFFEID[entry.spiffeID, default: []].insert(entry.id)
    }

    private func remove(_ entry: RegistrationEntry) {
        byID[entry.id] = nil
        byParent[entry.parentID]?.remove(entry.id)
        if byParent[entry.parentID]?.isEmpty == true { byParent[entry.parentID] = nil }
        bySPIFFEID[entry.spiffeID]?.remove(entry.id)
        if bySPIFFEID[entry.spiffeID]?.isEmpty == true { bySPIFFEID[entry.spiffeID] = nil }
    }
}
