/// Attests a workload process: turns what the kernel says about it into selectors.
public protocol WorkloadAttestor: Sendable {
    /// Selectors for the process with this pid, whose uid and gid came from the kernel (SO_PEERCRED).
    func attest(_ process: PeerProcess) async throws(WorkloadAttestationError) -> [Selector]
}

/// A caller as the kernel identified it at `connect()`.
public struct PeerProcess: Sendable, Hashable {
    public let pid: Int32
    public let uid: UInt32
    public let gid: UInt32

    public init(pid: Int32, uid: UInt32, gid: UInt32) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
    }
}

/// Why a workload could not be attested.
public enum WorkloadAttestationError: Error, Hashable, Sendable, CustomStringConvertible {
    case processGone(pid: Int32)
    case processReplaced(pid: Int32)
    case unreadable(pid: Int32, what: String, reason: String)

    public var description: String {
        switch self {
        case .processGone(let pid): return "process \(pid) exited before it could be attested"
        case .processReplaced(let pid): return "process \(pid) changed while it was being attested (pid reuse or exec)"
        case .unreadable(let pid, let what, let reason): return "cannot read \(what) of process \(pid): \(reason)"
        }
    }
}
