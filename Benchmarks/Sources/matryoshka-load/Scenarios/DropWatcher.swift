import Foundation
import Synchronization
import WorkloadAPI

/// Watches one agent's `FetchX509SVID` stream and notes when none of a set of leaf certificates is
/// served any more (a message without them, or the end of the stream: a workload left with no
/// SVID is refused).
final class DropWatcher: Sendable {
    let agent: AgentHandle
    private let old: Set<[UInt8]>
    private let state = Mutex<(subscribed: Bool, droppedAt: ContinuousClock.Instant?, failure: String?)>((false, nil, nil))

    init(agent: AgentHandle, old: Set<[UInt8]>) {
        self.agent = agent
        self.old = old
    }

    var droppedAt: ContinuousClock.Instant? { state.withLock { $0.droppedAt } }

    /// Runs the watch until the old leaves are gone (or `timeout`).
    func run(timeout: Duration) async {
        do {
            let address = try WorkloadAPIAddress(agent.socket)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    do {
                        try await WorkloadAPIClient.withClient(address: address, configuration: .init(maxReceiveMessageSize: 64 << 20)) { client in
                            for try await set in client.watchX509Context() {
                                let now = ContinuousClock.now
                                let leaves = set.svids.compactMap(\.certificateChain.first)
                                let stillServed = leaves.contains(where: self.old.contains)
                                let done = self.state.withLock { state -> Bool in
                                    if !state.subscribed {
                                        state.subscribed = true
                                        return false
                                    }
                                    guard !stillServed else { return false }
                                    state.droppedAt = now
                                    return true
                                }
                                if done { return }
                            }
                            self.markEnded()
                        }
                    } catch {
                        self.markEnded()
                    }
                }
                group.addTask { try await Task.sleep(for: timeout) }
                _ = try await group.next()
                group.cancelAll()
            }
        } catch {
            state.withLock { $0.failure = "\(error)" }
        }
    }

    /// Waits for the first message (the stream is set up), at most `timeout`.
    func waitUntilSubscribed(timeout: Duration) async throws {
        _ = try await eventually("the watch on \(agent.name) to start", timeout: timeout, interval: .milliseconds(5)) {
            state.withLock { $0.subscribed } ? true : nil
        }
    }

    private func markEnded() {
        let now = ContinuousClock.now
        state.withLock { state in
            if state.subscribed, state.droppedAt == nil { state.droppedAt = now }
        }
    }
}
