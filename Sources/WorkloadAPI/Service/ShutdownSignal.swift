import Synchronization

/// A one-shot broadcast: the server triggers it when it begins shutting down, and every open
/// Workload API stream that waits on it ends at once with `Unavailable` instead of holding the
/// shutdown until the grace period runs out.
///
/// A lock rather than an actor: every stream's call waits on it, and when a call ends its waiter
/// is cancelled. A cancellation handler cannot await an actor, so an actor's waiter had to be
/// released by a new task, which queued behind whatever else the process was doing (an agent
/// minting a thousand replacement SVIDs after a revocation held the end of revoked streams back
/// by 100 ms and more). Here the cancellation handler releases it at once.
final class ShutdownSignal: Sendable {
    private struct State {
        var triggered = false
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var nextWaiterID = 0
    }

    private let state = Mutex(State())

    /// Whether the server has begun shutting down.
    var isTriggered: Bool { state.withLock { $0.triggered } }

    /// Wakes every waiter, now and in future.
    func trigger() {
        let pending = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard !state.triggered else { return [] }
            state.triggered = true
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for continuation in pending { continuation.resume() }
    }

    /// Returns once the signal is triggered, or when the calling task is cancelled.
    func wait() async {
        let id = state.withLock { state in
            defer { state.nextWaiterID += 1 }
            return state.nextWaiterID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                // Cancelled before this registration: the handler below found nothing to resume.
                let resumeNow = state.withLock { state -> Bool in
                    if state.triggered || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }
}
