import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The database file and its WAL companions (`-wal`, `-shm`), kept owner-only (0600): the
/// datastore holds the CA's private keys. SQLite gives the companions the main file's mode, so
/// creating the main file 0600 before SQLite opens it covers all three; existing files are
/// tightened.
enum SQLiteDatabaseFile {
    static let mode: mode_t = 0o600
    static let directoryMode: Int = 0o700

    static func companions(of path: String) -> [String] { [path, path + "-wal", path + "-shm", path + "-journal"] }

    /// Creates the parent directory (0700) and the file (0600) if missing; tightens an existing
    /// file to 0600.
    static func prepare(path: String) throws(DataStoreError) {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty, !FileManager.default.fileExists(atPath: directory) {
            do {
                try FileManager.default.createDirectory(
                    atPath: directory, withIntermediateDirectories: true,
                    attributes: [.posixPermissions: directoryMode])
            } catch {
                throw .unavailable("cannot create the directory \(directory): \(error.localizedDescription)")
            }
        }
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, mode)
        guard descriptor >= 0 else {
            throw .unavailable("cannot open \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        guard fchmod(descriptor, mode) == 0 else {
            throw .unavailable("cannot make \(path) owner-only (0600): \(String(cString: strerror(errno)))")
        }
    }

    /// Tightens the WAL companions, which may predate this process, to 0600.
    static func restrictCompanions(of path: String) throws(DataStoreError) {
        for file in companions(of: path).dropFirst() {
            if chmod(file, mode) != 0, errno != ENOENT {
                throw .unavailable("cannot make \(file) owner-only (0600): \(String(cString: strerror(errno)))")
            }
        }
    }
}
