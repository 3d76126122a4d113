import CMalloc
import Logging

/// Gives the agent's freed heap pages back to the system after bursts of work.
///
/// glibc returns freed memory on its own only from the top of a heap (and mapped blocks above the
/// mmap threshold, ``MallocThresholds``). The pages freed in the middle of a heap, between blocks
/// still in use, stay resident. An agent's bursts leave many of them: minting a thousand SVIDs
/// (keys, CSRs, links, the server's answers) and answering a fetch of all of them allocate far more
/// than is kept, interleaved with what is kept. `malloc_trim(0)` releases those pages in every
/// arena. With 1 000 SVIDs that was ~2 MiB of the agent's ~12 MiB of anonymous memory
/// (BENCHMARKS.md, *Agent RSS*).
///
/// The trimmer looks at the process's anonymous resident memory once per `interval` (one read of
/// `/proc/self/statm`) and trims when it has grown by `growth` since the last trim and then held
/// still for one look (``Policy``), so an idle agent only reads a small file, a busy one is not
/// trimmed mid-burst, and memory freed by a burst is given back about two intervals after it. A
/// trim walks each arena's free blocks holding that arena's lock (its time was not measured alone;
/// the cached-fetch scenario showed no cost once trims waited for memory to settle).
struct HeapTrimmer: Sendable {
    var interval: Duration = .seconds(1)
    var growth: Int = 512 * 1024
    /// The process's anonymous resident memory in bytes, or nil when it cannot be read.
    var anonymousBytes: @Sendable () -> Int?
    /// Releases free heap pages to the system.
    var trim: @Sendable () -> Void

    /// The trimmer for this process, or nil where there is nothing to trim with (not glibc on Linux).
    static var process: HeapTrimmer? {
        #if canImport(Glibc)
        guard readAnonymousBytes() != nil else { return nil }
        return HeapTrimmer(anonymousBytes: readAnonymousBytes, trim: { _ = matryoshka_malloc_trim() })
        #else
        return nil
        #endif
    }

    @Sendable static func readAnonymousBytes() -> Int? {
        let bytes = matryoshka_anonymous_resident_bytes()
        return bytes >= 0 ? Int(bytes) : nil
    }

    /// Looks and trims until the task is cancelled.
    func run(logger: Logger) async {
        var policy = Policy(growth: growth)
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: interval)
            } catch {
                return
            }
            if let trimmed = look(&policy) {
                logger.debug("freed heap returned to the system", metadata: [
                    "anonymous_kib_before": "\(trimmed.before / 1024)", "anonymous_kib_after": "\(trimmed.after / 1024)",
                ])
            }
        }
    }

    /// One look: reads the anonymous memory and trims if `policy` says so; returns the memory before
    /// and after when it trimmed.
    func look(_ policy: inout Policy) -> (before: Int, after: Int)? {
        guard let before = anonymousBytes(), policy.shouldTrim(anonymousBytes: before) else { return nil }
        trim()
        let after = anonymousBytes() ?? before
        policy.trimmed(anonymousBytesAfter: after)
        return (before, after)
    }

    /// Runs `body` with the trimmer beside it; the trimmer stops when `body` returns or throws.
    func whileRunning(logger: Logger, _ body: @escaping @Sendable () async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await run(logger: logger) }
            defer { group.cancelAll() }
            try await body()
        }
    }

    /// When to trim: once the anonymous memory is `growth` above where the last trim left it (or the
    /// lowest it has been since, so memory freed and reused is not counted twice), and has settled:
    /// moved by less than a quarter of `growth` since the previous look. A trim in the middle of a
    /// burst (a thousand workloads connecting at once) would give back pages the burst is about to
    /// take again, and hold the arenas' locks while it runs: it slowed such a burst by ~25 %.
    struct Policy: Sendable, Equatable {
        let growth: Int
        private(set) var baseline: Int?
        private(set) var previous: Int?

        init(growth: Int) {
            self.growth = growth
        }

        mutating func shouldTrim(anonymousBytes now: Int) -> Bool {
            defer { previous = now }
            if let baseline, now < baseline { self.baseline = now }
            // Before the first trim, the memory of start-up counts as grown.
            let grown = baseline.map { now - $0 >= growth } ?? true
            let settled = previous.map { abs(now - $0) < growth / 4 } ?? false
            return grown && settled
        }

        mutating func trimmed(anonymousBytesAfter: Int) {
            baseline = anonymousBytesAfter
            previous = anonymousBytesAfter
        }
    }
}
