import Foundation
import Synchronization

/// Tells any number of watchers that something changed. Each ``stream()`` yields after every
/// ``signal()``, coalesced: a slow watcher finds at most one pending signal and then reads the
/// current state. A watcher is forgotten when its stream ends.
public final class ChangeSignal: Sendable {
    private let watchers = Mutex<[UUID: AsyncStream<Void>.Continuation]>([:])

    public init() {}

    /// A stream with an element after every change from now on.
    public func stream() -> AsyncStream<Void> {
        let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let id = UUID()
        watchers.withLock { $0[id] = continuation }
        continuation.onTermination = { [weak self] _ in
            _ = self?.watchers.withLock { $0.removeValue(forKey: id) }
        }
        return stream
    }

    /// Tells every watcher.
    public func signal() {
        for watcher in watchers.withLock({ Array($0.values) }) { watcher.yield() }
    }
}
