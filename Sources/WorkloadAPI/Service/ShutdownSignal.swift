/// A one-shot broadcast: the server triggers it when it begins shutting down, and every open
/// Workload API stream that waits on it ends at once with `Unavailable` instead of holding the
/// shutdown until the grace period runs out.
actor ShutdownSignal {
    private var triggered = false
    private var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
    private var nextWaiterID = 0

    /// Whether the server has begun shutting down.
    var isTriggered: Bool { triggered }

    /// Wakes every waiter, now and in future.
    func trigger() {
        guard !triggered else { return }
        triggered = true
        let pending = waiters
        waiters.removeAll()
        for continuation in pending.values {
            continuation.resume()
        }
    }

    /// Returns once the signal is triggered, or when the calling task is cancelled.
    func wait() async {
        if triggered { return }
        let id = nextWaiterID
        nextWaiterID += 1
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                if triggered || Task.isCancelled {
                    continuation.resume()
                } else {
                    waiters[id] = continuation
                }
            }
        } onCancel: {
            Task { await self.cancelWaiter(id) }
        }
    }

    private func cancelWaiter(_ id: Int) {
        waiters.removeValue(forKey: id)?.resume()
    }
}
