import Attestation
import Foundation
import GRDB
import SPIFFE
import Testing

@testable import Server

/// A directory under the system temp dir, removed when the body returns or throws.
func withTemporaryDirectory<T>(_ body: (URL) async throws -> T) async throws -> T {
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("matryoshka-datastore-\(UUID().uuidString.lowercased())", isDirectory: true)
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    return try await body(directory)
}

/// A store on disk in a fresh temporary directory.
func withFileStore<T>(_ body: (SQLiteDataStore, String) async throws -> T) async throws -> T {
    try await withTemporaryDirectory { directory in
        let path = directory.appendingPathComponent("server.sqlite").path
        let store = try SQLiteDataStore(path: path)
        defer { try? store.close() }
        return try await body(store, path)
    }
}

func spiffeID(_ string: String) throws -> SPIFFEID { try SPIFFEID(string) }

func selector(_ string: String) throws -> Selector { try Selector(string) }

func sampleEntry(
    id: String = UUID().uuidString.lowercased(), path: String = "/workload", parent: String = "/agent/node-1",
    selectors: [String] = ["unix:uid:1000", "unix:gid:1000"]
) throws -> RegistrationEntry {
    RegistrationEntry(
        id: id,
        spiffeID: try spiffeID("spiffe://example.org" + path),
        parentID: try spiffeID("spiffe://example.org" + parent),
        selectors: try selectors.map(selector),
        x509TTL: 3600, jwtTTL: 300,
        dnsNames: ["api.example.org", "b.example.org"],
        audiences: ["https://a/\"quoted\"", "ü-audience"],
        nested: true)
}

func event(_ kind: String, subject: String, details: [String: String] = [:]) -> AuditEvent {
    AuditEvent(kind: kind, actor: "uid:1000", subject: subject, details: details)
}

/// Runs raw SQL on the store's database, as someone with the file would.
func rawSQL(_ store: SQLiteDataStore, _ sql: String, _ arguments: StatementArguments = []) async throws {
    try await store.database.write { db in try db.execute(sql: sql, arguments: arguments) }
}

/// Every audit record of the store, oldest first.
func allAuditRecords(_ store: SQLiteDataStore) async throws -> [AuditRecord] {
    try await store.auditRecords(from: 1, limit: Int.max)
}

extension Date {
    /// Equal to `other` within a millisecond (the datastore keeps milliseconds).
    func isClose(to other: Date) -> Bool { abs(timeIntervalSince(other)) < 0.001 }
}

extension DataStoreError {
    var isCorrupt: Bool { if case .corrupt = self { true } else { false } }
    var isUnavailable: Bool { if case .unavailable = self { true } else { false } }
    var isMigration: Bool { if case .migration = self { true } else { false } }
}
