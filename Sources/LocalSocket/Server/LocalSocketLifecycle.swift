/// Where a ``LocalSocketServer`` is in its one run, and who is waiting for it to listen.
actor LocalSocketLifecycle {
    private enum Phase {
        case idle
        case starting
        case listening(path: String)
        case stopped(reason: String)
    }

    private var phase = Phase.idle
    private var waiters: [Int: CheckedContinuation<String, any Error>] = [:]
    private var nextWaiterID = 0

    /// Moves from idle to starting; a server runs once.
    func start() throws(LocalSocketServerError) {
        guard case .idle = phase else { throw .alreadyStarted }
        phase = .starting
    }

    /// The socket is bound, has its mode, and accepts connections.
    func markListening(path: String) {
        guard case .starting = phase else { return }
        phase = .listening(path: path)
        resumeAll(with: .success(path))
    }

    /// The run ended; waiters learn why.
    func markStopped(reason: String) {
        phase = .stopped(reason: reason)
        resumeAll(with: .failure(LocalSocketServerError.notListening(reason: reason)))
    }

    /// Returns the socket path once the server listens.
    ///
    /// - Throws: ``LocalSocketServerError/notListening(reason:)`` if the server stops or fails
    ///   first; `CancellationError` if the waiting task is cancelled.
    func waitUntilListening() async throws -> String {
        let id = nextWaiterID
        nextWaiterID += 1
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                switch phase {
                case .listening(let path):
                    continuation.resume(returning: path)
                case .stopped(let reason):
                    continuation.resume(throwing: LocalSocketServerError.notListening(reason: reason))
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

    private func resumeAll(with result: Result<String, any Error>) {
        let pending = waiters
        waiters.removeAll()
        for continuation in pending.values {
            continuation.resume(with: result)
        }
    }
}
