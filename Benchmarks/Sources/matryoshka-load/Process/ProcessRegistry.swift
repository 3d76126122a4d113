import Foundation
import Synchronization

/// Every child process the tool started and that may still run, so that all of them are stopped
/// whatever way the tool ends: normal return, a thrown error, SIGINT/SIGTERM (the handler sends
/// SIGKILL to each), or `exit` (atexit).
final class ProcessRegistry: Sendable {
    static let shared = ProcessRegistry()

    private let pids = Mutex<Set<Int32>>([])

    func add(_ pid: Int32) { _ = pids.withLock { $0.insert(pid) } }
    func remove(_ pid: Int32) { _ = pids.withLock { $0.remove(pid) } }

    /// SIGKILL to every registered process (last resort: orderly stops use ``ChildProcess/terminate(grace:)``).
    func killAll() {
        for pid in pids.withLock({ $0 }) { kill(pid, SIGKILL) }
    }

    /// Installs the SIGINT/SIGTERM handlers and the atexit hook. Call once, first thing.
    static func installExitHandlers() {
        atexit { ProcessRegistry.shared.killAll() }
        for signalNumber in [SIGINT, SIGTERM, SIGHUP] {
            signal(signalNumber) { received in
                ProcessRegistry.shared.killAll()
                signal(received, SIG_DFL)
                raise(received)
            }
        }
    }
}
