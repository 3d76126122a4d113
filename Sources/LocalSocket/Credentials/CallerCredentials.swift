/// The operating-system identity of the process on the other end of a local-socket connection
/// (a ``LocalSocketServer``), as recorded by the kernel (`SO_PEERCRED`) when that process called
/// `connect()`.
///
/// The values cannot be forged by the client: the server reads them from the socket, never from
/// anything the client sends. They describe the process *at connect time*; a process that has
/// since exited may have had its pid reused, so an attestor that inspects `/proc/<pid>` must
/// re-check the process after attestation (as SPIRE does) before trusting what it found.
public struct CallerCredentials: Sendable, Hashable, CustomStringConvertible {
    /// The caller's process id.
    public var pid: Int32
    /// The caller's effective user id.
    public var uid: UInt32
    /// The caller's effective group id.
    public var gid: UInt32

    /// Creates caller credentials.
    public init(pid: Int32, uid: UInt32, gid: UInt32) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
    }

    /// `pid=<pid> uid=<uid> gid=<gid>`.
    public var description: String {
        "pid=\(pid) uid=\(uid) gid=\(gid)"
    }
}
