import Attestation
import Foundation
import WorkloadAPI

/// Which processes an agent serves at all, before matching entries. A nested agent serves only
/// processes it started (its descendants), so a sibling on the same machine with the same uid
/// cannot borrow its children's identities.
enum CallerPolicy: Sendable {
    case any
    case descendantsOf(Int32)

    /// Nil if the caller may be served, else why not.
    func refusal(for caller: CallerCredentials, procRoot: String = "/proc") -> String? {
        switch self {
        case .any:
            return nil
        case .descendantsOf(let ancestor):
            var pid = caller.pid
            for _ in 0..<128 {
                if pid == ancestor { return nil }
                guard pid > 1, let parent = Self.parentPID(of: pid, procRoot: procRoot) else { break }
                pid = parent
            }
            return "process \(caller.pid) is not a descendant of this nested agent (pid \(ancestor))"
        }
    }

    static func parentPID(of pid: Int32, procRoot: String) -> Int32? {
        ProcFS.stat(of: pid, procRoot: procRoot)?.parentPID
    }
}
