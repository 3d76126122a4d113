/// Lets callers wait until a component is ready — or learn that it failed before getting there.
public actor ReadinessGate {
    private var outcome: Result<Void, any Error>?
    private var waiters: [CheckedContinuation<Void, any Error>] = []

    public init() {}

    /// Whether the component reported ready.
    public var isOpen: Bool {
        if case .success? = outcome { return true }
        return false
    }

    /// The component is ready.
    public func open() { settle(.success(())) }

    /// The component stopped or failed before it was ready; waiters get `error`.
    public func fail(_ error: any Error) {
        if outcome == nil { settle(.failure(error)) }
    }

    /// Runs `body`, a component's whole life: if it ends before the gate opened, waiters learn
    /// why (its error, or `CancellationError` when it simply returned).
    public nonisolated func guarding(_ body: @Sendable () async throws -> Void) async throws {
        do {
            try await body()
        } catch {
            await fail(error)
            throw error
        }
        await fail(CancellationError())
    }

    /// Returns when ready; throws if the component failed first.
    public func wait() async throws {
        if let outcome { return try outcome.get() }
        try await withCheckedThrowingContinuation { waiters.append($0) }
    }

    private func settle(_ result: Result<Void, any Error>) {
        outcome = result
        for waiter in waiters { waiter.resume(with: result) }
        waiters.removeAll()
    }
}
