/// p50, p99 and max of a set of samples (nearest-rank percentiles), in milliseconds.
struct LatencyStats: Sendable, Codable {
    let count: Int
    let p50: Double
    let p99: Double
    let max: Double
    let mean: Double

    init(milliseconds samples: [Double]) {
        let sorted = samples.sorted()
        count = sorted.count
        func rank(_ percentile: Double) -> Double {
            guard !sorted.isEmpty else { return .nan }
            let index = Int((percentile / 100 * Double(sorted.count)).rounded(.up)) - 1
            return sorted[Swift.max(0, Swift.min(sorted.count - 1, index))]
        }
        p50 = rank(50)
        p99 = rank(99)
        max = sorted.last ?? .nan
        mean = sorted.isEmpty ? .nan : sorted.reduce(0, +) / Double(sorted.count)
    }

    init(durations: [Duration]) {
        self.init(milliseconds: durations.map(\.milliseconds))
    }
}
