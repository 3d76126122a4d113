/// Polls `body` until it returns a value, at most `timeout`.
func eventually<T: Sendable>(
    _ what: String, timeout: Duration, interval: Duration = .milliseconds(20), _ body: () async throws -> T?
) async throws -> T {
    let deadline = ContinuousClock.now + timeout
    var lastError: (any Error)?
    while ContinuousClock.now < deadline {
        do {
            if let value = try await body() { return value }
        } catch {
            lastError = error
        }
        try await Task.sleep(for: interval)
    }
    throw LoadError.timeout(what + (lastError.map { " (last error: \($0))" } ?? ""), seconds: timeout.seconds)
}
