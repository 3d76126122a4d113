import Foundation
import Logging
import Synchronization
import Testing

@testable import MatryoshkaCLI

@Suite("The agent's heap trimmer")
struct HeapTrimmerTests {
    @Test("the policy trims once memory grew by the step since the last trim and then held still")
    func policy() {
        var policy = HeapTrimmer.Policy(growth: 100)
        var decisions: [Bool] = []
        // Start-up: the first look only sets the mark; the second, settled, trims.
        decisions.append(policy.shouldTrim(anonymousBytes: 1_000))
        decisions.append(policy.shouldTrim(anonymousBytes: 1_010))
        policy.trimmed(anonymousBytesAfter: 800)
        // Growth below the step: no trim.
        decisions.append(policy.shouldTrim(anonymousBytes: 899))
        // Grown by the step, but still moving (a burst): no trim until it holds still.
        decisions.append(policy.shouldTrim(anonymousBytes: 1_200))
        decisions.append(policy.shouldTrim(anonymousBytes: 1_400))
        decisions.append(policy.shouldTrim(anonymousBytes: 1_420))
        policy.trimmed(anonymousBytesAfter: 850)
        // Memory that fell (freed and returned, or reused) lowers the mark.
        decisions.append(policy.shouldTrim(anonymousBytes: 600))
        let lowered = policy.baseline
        decisions.append(policy.shouldTrim(anonymousBytes: 690))
        decisions.append(policy.shouldTrim(anonymousBytes: 700))
        #expect(decisions == [false, true, false, false, false, true, false, false, true])
        #expect(lowered == 600)
    }

    @Test("looks trim when the memory read grew and settled, not otherwise")
    func looks() {
        // Samples: start-up, settled (trim), after it, small growth, large growth, settled (trim),
        // after it, then flat.
        let samples = Mutex<[Int]>([10_000, 10_000, 4_000, 4_100, 9_000, 9_000, 5_000])
        let trims = Mutex(0)
        let trimmer = HeapTrimmer(
            growth: 1_000,
            anonymousBytes: { samples.withLock { $0.count > 1 ? $0.removeFirst() : $0.first } },
            trim: { trims.withLock { $0 += 1 } })
        var policy = HeapTrimmer.Policy(growth: trimmer.growth)
        var results: [String] = []
        for _ in 0..<8 {
            results.append(trimmer.look(&policy).map { "\($0.before)->\($0.after)" } ?? "-")
        }
        let trimCount = trims.withLock { $0 }
        #expect(results == ["-", "10000->4000", "-", "-", "9000->5000", "-", "-", "-"])
        #expect(trimCount == 2)
    }

    @Test("an unreadable memory figure is skipped, not trimmed on")
    func unreadable() {
        let trims = Mutex(0)
        let trimmer = HeapTrimmer(anonymousBytes: { nil }, trim: { trims.withLock { $0 += 1 } })
        var policy = HeapTrimmer.Policy(growth: trimmer.growth)
        var trimmed = false
        for _ in 0..<5 where trimmer.look(&policy) != nil { trimmed = true }
        let trimCount = trims.withLock { $0 }
        #expect(!trimmed)
        #expect(trimCount == 0)
    }

    @Test("the loop stops when cancelled, mid-sleep")
    func loopStops() async {
        let trimmer = HeapTrimmer(interval: .seconds(3600), anonymousBytes: { 0 }, trim: {})
        let task = Task { await trimmer.run(logger: Logger(label: "test")) }
        task.cancel()
        // Returns as soon as the task runs: its sleep ends on cancellation (no clock involved).
        await task.value
    }

    @Test("the body's error comes out, and the trimmer stops with it")
    func bodyErrorPropagates() async {
        struct Failed: Error {}
        let trimmer = HeapTrimmer(interval: .seconds(3600), anonymousBytes: { 0 }, trim: {})
        await #expect(throws: Failed.self) {
            try await trimmer.whileRunning(logger: Logger(label: "test")) { throw Failed() }
        }
    }

    #if canImport(Glibc)
    @Test("this process's anonymous memory reads, and a trim returns freed heap pages")
    func realTrim() throws {
        let trimmer = try #require(HeapTrimmer.process)
        let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        let rssLine = try #require(status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") })
        let rssKiB = try #require(Int(rssLine.split(separator: " ", omittingEmptySubsequences: true)[1]))
        let before = try #require(trimmer.anonymousBytes())
        #expect(before > 0)
        #expect(before <= rssKiB * 1024 * 2)

        // 16 MiB in 2 KiB blocks (below the mmap threshold, so from a heap), written so they are
        // resident; then all but every 32nd freed: the freed pages sit between blocks in use, where
        // glibc does not give them back by itself.
        let count = 8_192
        let blocks = (0..<count).map { _ in
            let block = UnsafeMutableRawPointer.allocate(byteCount: 2_048, alignment: 16)
            block.initializeMemory(as: UInt8.self, repeating: 0xA5, count: 2_048)
            return block
        }
        for (index, block) in blocks.enumerated() where index % 32 != 0 { block.deallocate() }
        let fragmented = try #require(trimmer.anonymousBytes())
        trimmer.trim()
        let trimmed = try #require(trimmer.anonymousBytes())
        for (index, block) in blocks.enumerated() where index % 32 == 0 { block.deallocate() }
        // ~15.5 MiB were freed; other tests allocate meanwhile, so ask for a quarter of it.
        #expect(fragmented - trimmed >= 4 * 1024 * 1024, "anonymous \(fragmented) before the trim, \(trimmed) after")
    }
    #endif
}
