import Foundation
import GRDB

/// The embedded datastore: one SQLite database through GRDB.
///
/// On disk it is a WAL database (a `DatabasePool`: one writer, concurrent readers) with
/// `synchronous = FULL`, so every call has reached stable storage when it returns and neither
/// `kill -9` nor power loss loses it. The file and its `-wal`/`-shm` companions are owner-only
/// (0600): they hold the CA's private keys. The schema is migrated on open (versioned migrations
/// `v1-initial`, …); a database written by a newer version, with migrations this build does not
/// know, is refused.
///
/// Each mutation and its audit record are written in one transaction; audit records are chained
/// by hash (``AuditChain``).
public final class SQLiteDataStore: DataStore {
    /// The database file, or nil for an in-memory store.
    public let path: String?
    let database: any DatabaseWriter

    /// Opens (creating if needed) the database at `path` and migrates it to the current schema.
    ///
    /// - Parameters:
    ///   - path: the database file; its directory is created (0700) if missing.
    ///   - busyTimeout: how long a write waits for another process holding the write lock.
    /// - Throws: ``DataStoreError/migration(_:)`` when the database was written by a newer
    ///   version or a migration fails; ``DataStoreError/corrupt(_:)`` when the file is not an
    ///   SQLite database; ``DataStoreError/unavailable(_:)`` when it cannot be opened.
    public convenience init(path: String, busyTimeout: Duration = .seconds(5)) throws(DataStoreError) {
        try SQLiteDatabaseFile.prepare(path: path)
        let pool: DatabasePool
        do {
            pool = try DatabasePool(path: path, configuration: Self.configuration(busyTimeout: busyTimeout))
            // DatabasePool sets `synchronous = NORMAL` on its writer after `prepareDatabase` ran:
            // NORMAL survives a process crash but not power loss. Make commits durable.
            try pool.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA synchronous = FULL")
                try db.execute(sql: "PRAGMA fullfsync = ON")  // macOS: a real flush to the disk
            }
        } catch {
            throw SQLiteErrors.map(error, "opening \(path)")
        }
        try SQLiteDatabaseFile.restrictCompanions(of: path)
        try Self.migrate(pool, name: path)
        self.init(database: pool, path: path)
    }

    /// A store in memory, gone when released: for tests and throwaway servers.
    public static func inMemory() throws(DataStoreError) -> SQLiteDataStore {
        let queue: DatabaseQueue
        do {
            queue = try DatabaseQueue(configuration: configuration(busyTimeout: .seconds(5)))
        } catch {
            throw SQLiteErrors.map(error, "opening an in-memory database")
        }
        try migrate(queue, name: "the in-memory database")
        return SQLiteDataStore(database: queue, path: nil)
    }

    init(database: any DatabaseWriter, path: String?) {
        self.database = database
        self.path = path
    }

    /// Closes the database. Later calls fail with ``DataStoreError/unavailable(_:)``.
    /// Releasing the store closes it too.
    public func close() throws(DataStoreError) {
        do {
            try database.close()
        } catch {
            throw SQLiteErrors.map(error, "closing \(path ?? "the in-memory database")")
        }
    }

    /// The schema migrations this build knows, oldest first (`v1-initial`, …).
    public static var schemaMigrations: [String] { SQLiteSchema.knownMigrations }

    /// The migrations applied to this database, in the order this build knows them.
    public func appliedMigrations() async throws(DataStoreError) -> [String] {
        try await read("reading the schema version") { db in try SQLiteSchema.migrator.appliedMigrations(db) }
    }

    // MARK: Opening

    private static func configuration(busyTimeout: Duration) -> Configuration {
        var configuration = Configuration()
        configuration.label = "matryoshka.datastore"
        configuration.foreignKeysEnabled = true
        let seconds = Double(busyTimeout.components.seconds) + Double(busyTimeout.components.attoseconds) * 1e-18
        configuration.busyMode = .timeout(seconds)
        configuration.prepareDatabase { db in
            // Readers, and the in-memory queue. (The pool's writer is set again after opening.)
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        return configuration
    }

    private static func migrate(_ writer: any DatabaseWriter, name: String) throws(DataStoreError) {
        let migrator = SQLiteSchema.migrator
        do {
            let applied = try writer.read { db in try migrator.appliedIdentifiers(db) }
            let unknown = applied.subtracting(migrator.migrations)
            if !unknown.isEmpty {
                throw DataStoreError.migration(
                    "\(name) was written by a newer version of matryoshka (schema migrations "
                        + "\(unknown.sorted().joined(separator: ", ")) are unknown to this build, which knows "
                        + "\(migrator.migrations.joined(separator: ", "))); upgrade matryoshka or use another data directory")
            }
            try migrator.migrate(writer)
        } catch let error as DataStoreError {
            throw error
        } catch let error as DatabaseError where error.resultCode == .SQLITE_NOTADB || error.resultCode == .SQLITE_CORRUPT {
            throw SQLiteErrors.map(error, "migrating \(name)")
        } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_LOCKED {
            throw SQLiteErrors.map(error, "migrating \(name)")
        } catch let error as DatabaseError {
            throw .migration("migrating \(name): \(error.message ?? "SQLite error \(error.extendedResultCode.rawValue)")")
        } catch {
            throw .migration("migrating \(name): \(error)")
        }
    }

    // MARK: Access

    /// Runs `body` in one write transaction (`BEGIN IMMEDIATE`); any error rolls it back.
    func write<T: Sendable>(
        _ operation: @autoclosure () -> String, _ body: @Sendable (Database) throws -> T
    ) async throws(DataStoreError) -> T {
        do {
            return try await database.write(body)
        } catch {
            throw SQLiteErrors.map(error, operation())
        }
    }

    /// Runs `body` on a consistent snapshot (a reader of the pool; the queue in memory).
    func read<T: Sendable>(
        _ operation: @autoclosure () -> String, _ body: @Sendable (Database) throws -> T
    ) async throws(DataStoreError) -> T {
        do {
            return try await database.read(body)
        } catch {
            throw SQLiteErrors.map(error, operation())
        }
    }
}
