/// Collects what a stream yields so a test can wait, with a bound, for the n-th element or the end.
actor StreamCollector<Element: Sendable> {
    private(set) var elements: [Element] = []
    private(set) var finished = false
    private(set) var failure: (any Error)?

    func consume(_ stream: AsyncThrowingStream<Element, any Error>) async {
        do {
            for try await element in stream { elements.append(element) }
        } catch {
            failure = error
        }
        finished = true
    }

    /// Waits until at least `count` elements arrived.
    func waitForElements(_ count: Int, within seconds: Double = 10) async throws -> [Element] {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while elements.count < count {
            if finished { throw TestFailure("stream ended after \(elements.count) elements: \(String(describing: failure))") }
            guard ContinuousClock.now < deadline else { throw TestFailure("only \(elements.count) of \(count) elements within \(seconds) s") }
            try await Task.sleep(for: .milliseconds(20))
        }
        return elements
    }

    /// Waits until the stream ends; returns its error, if any.
    func waitForEnd(within seconds: Double = 10) async throws -> (any Error)? {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while !finished {
            guard ContinuousClock.now < deadline else { throw TestFailure("stream did not end within \(seconds) s") }
            try await Task.sleep(for: .milliseconds(20))
        }
        return failure
    }
}
