import Attestation
import Foundation
import Logging
import Testing

@testable import Agent

/// The agent keeps its workload attestation decisions for the server's audit log: identical ones
/// coalesced, in order, bounded, and a gap (dropped decisions) counted rather than hidden.
@Suite("Workload attestation reporter")
struct WorkloadAttestationReporterTests {
    func decision(pid: Int32, outcome: WorkloadDecision.Outcome = .served) throws -> WorkloadDecision {
        WorkloadDecision(
            caller: CallerIdentity(pid: pid, uid: 1000, gid: 1000),
            selectors: [try Selector("unix:uid:1000"), try Selector("unix:path:/usr/bin/app")],
            spiffeIDs: outcome == .served ? ["spiffe://example.org/app"] : [], outcome: outcome, call: .jwt)
    }

    @Test("identical decisions are one record with a count; the executable comes from the selectors")
    func coalesces() async throws {
        let reporter = WorkloadAttestationReporter(logger: Logger(label: "test"))
        for _ in 0..<5 { await reporter.record(try decision(pid: 10)) }
        await reporter.record(try decision(pid: 11, outcome: .noMatch))
        let (batch, dropped) = try #require(await reporter.takeBatch())
        #expect(batch.map(\.count) == [5, 1] && dropped == 0)
        let wire = batch[0].decision.wire(firstSeen: batch[0].firstSeen, count: batch[0].count)
        #expect(wire.executable == "/usr/bin/app" && wire.outcome == "served" && wire.call == "jwt" && wire.count == 5)
        #expect(wire.selectorsSha256.count == 64)
        #expect(await reporter.takeBatch() == nil)
    }

    @Test("beyond its capacity the oldest are dropped, and the next batch says how many")
    func boundedWithDropCount() async throws {
        let reporter = WorkloadAttestationReporter(capacity: 3, logger: Logger(label: "test"))
        for pid in 1...5 { await reporter.record(try decision(pid: Int32(pid))) }
        let (batch, dropped) = try #require(await reporter.takeBatch())
        #expect(batch.map(\.decision.pid) == [3, 4, 5])
        #expect(dropped == 2)
    }

    @Test("an undelivered batch goes back ahead of newer decisions, merged with identical ones")
    func restoreKeepsOrder() async throws {
        let reporter = WorkloadAttestationReporter(logger: Logger(label: "test"))
        await reporter.record(try decision(pid: 1))
        let (batch, dropped) = try #require(await reporter.takeBatch())
        await reporter.record(try decision(pid: 2))
        await reporter.record(try decision(pid: 1))
        await reporter.restore(batch, dropped: dropped)
        let (again, _) = try #require(await reporter.takeBatch())
        #expect(again.map(\.decision.pid) == [1, 2])
        #expect(again.map(\.count) == [2, 1])
    }

    @Test("delivery failures keep the records; the next delivery sends them")
    func retriesUntilDelivered() async throws {
        let reporter = WorkloadAttestationReporter(flushInterval: .milliseconds(20), logger: Logger(label: "test"))
        await reporter.record(try decision(pid: 7))
        let attempts = Attempts()
        let run = Task {
            await reporter.run { request in
                if await attempts.next() < 3 { throw CancellationError() }
                await attempts.deliver(request.attestations.map(\.pid))
            }
        }
        defer { run.cancel() }
        for _ in 0..<500 where await attempts.delivered.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
        #expect(await attempts.delivered == [7])
    }

    actor Attempts {
        private var count = 0
        private(set) var delivered: [Int32] = []
        func next() -> Int {
            count += 1
            return count
        }
        func deliver(_ pids: [Int32]) { delivered += pids }
    }
}
