import Testing

@testable import WorkloadAPI

/// The signal every open Workload API stream waits on: released by a shutdown, and by the
/// cancellation of its waiter (the end of the call).
@Suite("Workload API shutdown signal")
struct ShutdownSignalTests {
    @Test func triggerReleasesWaitersNowAndLater() async {
        let signal = ShutdownSignal()
        #expect(!signal.isTriggered)
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<3 { group.addTask { await signal.wait() } }
            await Task.yield()
            signal.trigger()
            signal.trigger()
        }
        #expect(signal.isTriggered)
        await signal.wait()
    }

    @Test func cancellingAWaiterReleasesItAndNoOther() async {
        let signal = ShutdownSignal()
        let waiter = Task { await signal.wait() }
        let other = Task { await signal.wait() }
        waiter.cancel()
        await waiter.value
        #expect(!signal.isTriggered)
        signal.trigger()
        await other.value
    }

    @Test func aWaiterCancelledBeforeItWaitsReturnsAtOnce() async {
        let signal = ShutdownSignal()
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            await signal.wait()
        }
        await task.value
        #expect(!signal.isTriggered)
    }
}
