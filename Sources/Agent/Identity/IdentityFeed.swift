/// The current identity of this layer, and a signal when it changes.
actor IdentityFeed {
    private var identity: LayerIdentity
    private var generation = 0
    private var waiters: [(after: Int, continuation: CheckedContinuation<Void, Never>)] = []

    init(_ identity: LayerIdentity) {
        self.identity = identity
    }

    var current: (LayerIdentity, Int) { (identity, generation) }

    func update(_ identity: LayerIdentity) {
        self.identity = identity
        generation += 1
        let ready = waiters.filter { $0.after < generation }
        waiters.removeAll { $0.after < generation }
        for waiter in ready { waiter.continuation.resume() }
    }

    /// Returns once the identity is newer than `generation` (or when the task is cancelled).
    func waitForChange(after generation: Int) async {
        if self.generation > generation { return }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                if Task.isCancelled || self.generation > generation {
                    continuation.resume()
                } else {
                    waiters.append((generation, continuation))
                }
            }
        } onCancel: {
            Task { await self.cancelWaiters(after: generation) }
        }
    }

    private func cancelWaiters(after generation: Int) {
        let cancelled = waiters.filter { $0.after == generation }
        waiters.removeAll { $0.after == generation }
        for waiter in cancelled { waiter.continuation.resume() }
    }
}
