import Benchmark
import Foundation

/// Matryoshka's hot paths, each beside the raw operation it is built on, measured in the same run:
/// `swift package benchmark` in Benchmarks/ (see BENCHMARKS.md).
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        timeUnits: .microseconds,
        warmupIterations: 10,
        // MATRYOSHKA_BENCH_QUICK=1 (scripts/bench --quick): a smoke run.
        maxDuration: ProcessInfo.processInfo.environment["MATRYOSHKA_BENCH_QUICK"] == nil ? .seconds(2) : .milliseconds(200),
        maxIterations: 20_000)
    Benchmark.setup = { try await SharedFixtures.shared.prepare() }

    RawBaselineBenchmarks.register()
    SPIFFEIDBenchmarks.register()
    SVIDValidationBenchmarks.register()
    LineageBenchmarks.register()
    IssuanceBenchmarks.register()
}
