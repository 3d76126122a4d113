#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
#elseif canImport(Darwin)
internal import Darwin
#endif

/// Filesystem chores around the server's Unix socket: clearing a stale socket before binding,
/// setting the mode once bound (before it listens, see ``UnixSocketListener``), and removing it
/// on shutdown only if it is still ours.
enum UnixSocketFile {
    /// The identity of a file, to recognise our own socket at shutdown.
    ///
    /// Device and inode alone are not enough: when our socket is deleted, the next file created
    /// often gets the freed inode number. The status-change time (set when the mode was given,
    /// nothing changes it after) tells such a newcomer apart.
    struct FileIdentity: Equatable, Sendable {
        var device: UInt64
        var inode: UInt64
        var changeSeconds: Int64
        var changeNanoseconds: Int64
    }

    /// What is at a path.
    enum Status: Equatable {
        case missing
        case socket(FileIdentity)
        case other
    }

    /// `lstat` of `path`.
    static func status(of path: String) throws(LocalSocketServerError) -> Status {
        var info = stat()
        guard lstat(path, &info) == 0 else {
            let code = errno
            if code == ENOENT { return .missing }
            throw .socketSetupFailed(path: path, reason: "cannot inspect the path: \(Errno.describe(code))")
        }
        guard (info.st_mode & S_IFMT) == S_IFSOCK else { return .other }
        #if canImport(Darwin)
        let changed = info.st_ctimespec
        #else
        let changed = info.st_ctim
        #endif
        return .socket(FileIdentity(
            device: UInt64(info.st_dev), inode: UInt64(info.st_ino),
            changeSeconds: Int64(changed.tv_sec), changeNanoseconds: Int64(changed.tv_nsec)))
    }

    /// Makes `path` free for `bind()`: removes a socket nobody listens on, refuses to touch a
    /// socket that is still served or a file that is not a socket, and checks the directory exists.
    static func prepareForBind(_ path: String) throws(LocalSocketServerError) {
        let directory = parentDirectory(of: path)
        var dirInfo = stat()
        guard stat(directory, &dirInfo) == 0, (dirInfo.st_mode & S_IFMT) == S_IFDIR else {
            throw .socketSetupFailed(path: path, reason: "directory \(directory) does not exist")
        }
        switch try status(of: path) {
        case .missing:
            return
        case .other:
            throw .socketSetupFailed(path: path, reason: "a file that is not a socket is in the way; remove it or choose another path")
        case .socket:
            if isAcceptingConnections(path) {
                throw .socketInUse(path: path)
            }
            guard unlink(path) == 0 || errno == ENOENT else {
                throw .socketSetupFailed(path: path, reason: "cannot remove the stale socket: \(Errno.describe(errno))")
            }
        }
    }

    /// Sets the permission bits of the socket file.
    static func setMode(_ mode: UInt32, of path: String) throws(LocalSocketServerError) {
        guard chmod(path, mode_t(mode)) == 0 else {
            throw .socketSetupFailed(path: path, reason: "cannot set mode \(String(mode, radix: 8)): \(Errno.describe(errno))")
        }
    }

    /// Removes the socket at `path` if it is still the file identified by `identity` (another
    /// server may have replaced it since).
    static func removeIfOwned(_ path: String, identity: FileIdentity) {
        guard case .socket(let current)? = try? status(of: path), current == identity else { return }
        _ = unlink(path)
    }

    /// Whether a server accepts connections on the socket at `path` right now.
    static func isAcceptingConnections(_ path: String) -> Bool {
        #if canImport(Darwin)
        let fd = socket(AF_UNIX, SOCK_STREAM, 0)
        #else
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        #endif
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count < capacity else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: bytes)
            buffer[bytes.count] = 0
        }
        let result = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                connect(fd, socketAddress, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        if result == 0 { return true }
        // EAGAIN: a listener whose backlog is full is still a live server.
        return errno == EAGAIN || errno == EINPROGRESS
    }

    private static func parentDirectory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }
}
