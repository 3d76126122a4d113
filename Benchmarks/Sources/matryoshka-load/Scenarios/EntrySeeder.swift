import Attestation
import Foundation
import SPIFFE
import Server

/// Writes entries straight into a stopped server's SQLite datastore through the Server library's
/// `SQLiteDataStore.createEntry` (each with its audit record, as the admin API writes them): the
/// batch path for 100 000 entries, which one CLI call each would take hours to create.
///
/// Entries are spread over 1 000 node IDs that never attest (`/node/n<i mod 1000>`), with 500
/// distinct uids; `ownEntries` more go under `ownParent` for `ownSelector` (the agent that then
/// syncs them).
enum EntrySeeder {
    static func seed(
        databasePath: String, trustDomain: String, count: Int, ownParent: String, ownSelector: String, ownEntries: Int
    ) async throws {
        let store = try SQLiteDataStore(path: databasePath)
        defer { try? store.close() }
        let own = try (0..<ownEntries).map { index in
            try RegistrationEntry(
                spiffeID: SPIFFEID("spiffe://\(trustDomain)/own/\(index)"), parentID: SPIFFEID(ownParent), selectors: [Selector(ownSelector)])
        }
        for entry in own { _ = try await store.createEntry(entry, audit: audit(entry)) }
        let batch = 512
        var next = 0
        while next < count {
            let range = next..<min(count, next + batch)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in range {
                    group.addTask {
                        let entry = try RegistrationEntry(
                            spiffeID: SPIFFEID("spiffe://\(trustDomain)/svc/\(index % 997)/\(index)"),
                            parentID: SPIFFEID("spiffe://\(trustDomain)/node/n\(index % 1000)"),
                            selectors: [Selector(type: "unix", value: "uid:\(10_000 + index % 500)")])
                        _ = try await store.createEntry(entry, audit: audit(entry))
                    }
                }
                try await group.waitForAll()
            }
            next = range.upperBound
        }
    }

    /// The audit record the admin API writes with an entry.
    static func audit(_ entry: RegistrationEntry) -> AuditEvent {
        AuditEvent(
            kind: "entry.create", actor: "matryoshka-load", subject: entry.spiffeID.description,
            details: ["entry_id": entry.id, "parent_id": entry.parentID.description,
                      "selectors": entry.selectors.map(\.description).joined(separator: " "), "nested": "false"])
    }
}
