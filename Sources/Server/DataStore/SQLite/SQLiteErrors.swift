import GRDB

/// Maps what GRDB and SQLite throw to ``DataStoreError``. Messages name the operation and SQLite's
/// reason, never row contents or statement arguments (rows hold private keys and token hashes).
enum SQLiteErrors {
    static func map(_ error: any Error, _ operation: String) -> DataStoreError {
        switch error {
        case let error as DataStoreError:
            return error
        case let error as DatabaseError:
            return map(error, operation)
        case is RowDecodingError:
            return .corrupt("\(operation): a stored row has a NULL or a value of the wrong type in a column")
        case is CancellationError:
            return .unavailable("\(operation): cancelled")
        default:
            return .unavailable("\(operation): \(error)")
        }
    }

    static func map(_ error: DatabaseError, _ operation: String) -> DataStoreError {
        let reason = "\(operation): \(error.message ?? "SQLite error") (SQLite code \(error.extendedResultCode.rawValue))"
        switch error.resultCode {
        case .SQLITE_CORRUPT, .SQLITE_NOTADB, .SQLITE_FORMAT, .SQLITE_MISMATCH:
            return .corrupt(reason)
        default:
            // BUSY, LOCKED, IOERR, FULL, CANTOPEN, READONLY, PERM, NOMEM, CONSTRAINT (a unique key
            // the caller did not anticipate) and the rest.
            return .unavailable(reason)
        }
    }
}
