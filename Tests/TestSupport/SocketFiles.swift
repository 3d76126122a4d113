#if canImport(Glibc)
import Glibc
#endif

/// A socket-file helper failed.
public struct SocketFileError: Error, CustomStringConvertible {
    public let description: String
}

/// Leaves a socket file at `path` that nobody listens on, as a crashed server or agent would.
public func makeStaleSocket(at path: String) throws {
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw SocketFileError(description: "socket() failed: errno \(errno)") }
    defer { close(fd) }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let bytes = Array(path.utf8)
    withUnsafeMutableBytes(of: &address.sun_path) { buffer in
        buffer.copyBytes(from: bytes)
        buffer[bytes.count] = 0
    }
    let result = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
        }
    }
    guard result == 0 else { throw SocketFileError(description: "bind(\(path)) failed: errno \(errno)") }
}

/// The permission bits of the file at `path`.
public func permissionBits(of path: String) throws -> UInt32 {
    var info = stat()
    guard stat(path, &info) == 0 else { throw SocketFileError(description: "stat(\(path)) failed: errno \(errno)") }
    return UInt32(info.st_mode) & 0o7777
}

/// Whether the file at `path` is a socket.
public func isSocket(_ path: String) -> Bool {
    var info = stat()
    return lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFSOCK
}

/// Whether anything is at `path`.
public func fileExists(_ path: String) -> Bool {
    var info = stat()
    return lstat(path, &info) == 0
}
