internal import NIOCore

#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
#endif

/// Reads the credentials the kernel recorded for the peer of a connected Unix socket.
enum PeerCredentialsReader {
    /// Linux's `struct ucred`: three 4-byte fields, in this order.
    private struct UCred: Sendable {
        var pid: Int32 = 0
        var uid: UInt32 = 0
        var gid: UInt32 = 0
    }

    /// The peer credentials of `connection` (an accepted Unix-socket channel), or `nil` when the
    /// channel cannot report them (not a socket, not a Unix socket, not Linux). Callers must
    /// treat `nil` as "unknown caller" and refuse service.
    static func read(from connection: any Channel) -> EventLoopFuture<CallerCredentials?> {
        #if os(Linux)
        guard let provider = connection as? any SocketOptionProvider else {
            return connection.eventLoop.makeSucceededFuture(nil)
        }
        let future: EventLoopFuture<UCred> = provider.unsafeGetSocketOption(
            level: SocketOptionLevel(SOL_SOCKET),
            name: SocketOptionName(SO_PEERCRED)
        )
        return future.map { raw -> CallerCredentials? in
            // A peer without a process (pid 0) is not a workload we can attest.
            guard raw.pid > 0 else { return nil }
            return CallerCredentials(pid: raw.pid, uid: raw.uid, gid: raw.gid)
        }.recover { _ in nil }
        #else
        // Darwin has LOCAL_PEERCRED/LOCAL_PEERPID instead; not implemented yet, so every call is
        // refused (fail closed).
        return connection.eventLoop.makeSucceededFuture(nil)
        #endif
    }
}
