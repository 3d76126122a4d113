/// Where a ``WorkloadAPIServer`` is in its one run, and who is waiting for it to listen.
actor ServerLifecycle {
    private enum Phase {
        case idle
        case starting
        case listening(WorkloadAPIAddress)
        case stopped(reason: String)
    }

    private var phase = Phase.idle
    private var waiters: [Int: CheckedContinuation<WorkloadAPIAddress, any Error>] = [:]
    private var nextWaiterID = 0

    /// Moves from idle to starting; a server runs once.
    func start() throws(WorkloadAPIServerError) {
        guard case .idle = phase else { throw .alreadyStarted }
        phase = .starting
    }

    /// The socket is bound, has its mode, and accepts connections.
    func markListening(_ address: WorkloadAPIAddress) {
        guard case .starting = phase else { return }
        phase = .listening(address)
        resumeAll(with: .success(address))
    }

    /// The run ended; waiters learn why.
    func markStopped(reason: String) {
        phase = .stopped(reason: reason)
        resumeAll(with: .failure(WorkloadAPIServerError.notListening(reason: reason)))
    }

    /// Returns the address once the server listens.
    ///
    /// - Throws: ``WorkloadAPIServerError/notListening(reason:)`` if the server stops or fails
    ///   first; `CancellationError` if the waiting task is cancelled.
    func waitUntilListening() async throws -> WorkloadAPIAddress {
        let id = nextWaiterID
        nextWaiterID += 1
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                switch phase {
                case .listening(let address):
                    continuation.resume(returning: address)
                case .stopped(let reason):
                    continuation.resume(throwing: WorkloadAPIServerError.notListening(reason: reason))
                case .idle, .starting:
                    if Task.isCancelled {
                        continuation.resume(throwing: CancellationError())
                    } else {
                        waiters[id] = continuation
                    }
                }
            }
        } onCancel: {
            Task { await self.cancelWaiter(id) }
        }
    }

    private func cancelWaiter(_ id: Int) {
        waiters.removeValue(forKey: id)?.resume(throwing: CancellationError())
    }

    private func resumeAll(with result: Result<WorkloadAPIAddress, any Error>) {
        let pending = waiters
        waiters.removeAll()
        for continuation in pending.values {
            continuation.resume(with: result)
        }
    }
}
