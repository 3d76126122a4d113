#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
#elseif canImport(Darwin)
internal import Darwin
#endif

/// The server's listening Unix socket, created here rather than by the transport: bound, given
/// its mode, and listening before anyone can connect, then handed to gRPC as a descriptor.
///
/// Binding by path through grpc-swift would let NIO unlink whatever socket is at the path just
/// before binding (even a live one that appeared after our check) and again when the channel
/// closes (even another server's socket that replaced ours). With a descriptor NIO does neither,
/// and the server removes the file itself, only if it is still its own.
enum UnixSocketListener {
    /// A listening socket and the identity of its file.
    struct Listening: Sendable {
        /// The descriptor; the transport owns it once handed over.
        var descriptor: Int32
        /// The socket file, to recognise it at shutdown.
        var identity: UnixSocketFile.FileIdentity
    }

    /// Binds a new socket at `path` (which must be free), sets `mode` on the file, and listens.
    /// - Parameter backlog: pending connections the kernel queues (capped by `net.core.somaxconn`):
    ///   enough for a thousand workloads connecting at once.
    static func open(path: String, mode: UInt32, backlog: Int32 = 4096) throws(LocalSocketServerError) -> Listening {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count < capacity else {
            throw .socketSetupFailed(path: path, reason: "the path is \(bytes.count) bytes long; a Unix socket path has at most \(capacity - 1)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: bytes)
            buffer[bytes.count] = 0
        }
        #if canImport(Darwin)
        let fd = socket(AF_UNIX, SOCK_STREAM, 0)
        if fd >= 0 { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        #else
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        #endif
        guard fd >= 0 else {
            throw .socketSetupFailed(path: path, reason: "cannot create a socket: \(Errno.describe(errno))")
        }
        var bound = false
        do throws(LocalSocketServerError) {
            let result = withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                    bind(fd, socketAddress, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            guard result == 0 else {
                let code = errno
                // Something took the path after it was checked: leave it alone.
                if code == EADDRINUSE { throw LocalSocketServerError.socketInUse(path: path) }
                throw LocalSocketServerError.socketSetupFailed(path: path, reason: "cannot bind: \(Errno.describe(code))")
            }
            bound = true
            // Before `listen`, so that nobody connects while the mode is still the umask's.
            try UnixSocketFile.setMode(mode, of: path)
            guard case .socket(let identity) = try UnixSocketFile.status(of: path) else {
                throw LocalSocketServerError.socketSetupFailed(path: path, reason: "the socket disappeared after it was bound")
            }
            guard listen(fd, backlog) == 0 else {
                throw LocalSocketServerError.socketSetupFailed(path: path, reason: "cannot listen: \(Errno.describe(errno))")
            }
            return Listening(descriptor: fd, identity: identity)
        } catch {
            close(fd)
            if bound { _ = unlink(path) }
            throw error
        }
    }
}
