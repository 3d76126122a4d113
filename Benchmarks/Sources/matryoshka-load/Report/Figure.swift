/// One measured figure: a latency distribution or a single value, with what it is compared to.
struct Figure: Sendable, Codable {
    /// What was measured, e.g. "cached FetchX509SVID, 1000 workloads".
    let name: String
    /// A distribution (milliseconds), or nil for a single value.
    let latency: LatencyStats?
    /// A single value (throughput, MiB, seconds), or the headline of a distribution.
    let value: Double?
    let unit: String
    /// The figure divided by its baseline, with what the baseline is.
    let ratio: Double?
    let ratioOf: String?
    /// The target as text ("p99 ≤ 1 ms"), and whether it was met; nil when not applicable.
    let target: String?
    let met: Bool?
    let note: String?

    init(
        _ name: String, latency: LatencyStats? = nil, value: Double? = nil, unit: String = "ms", ratio: Double? = nil,
        ratioOf: String? = nil, target: String? = nil, met: Bool? = nil, note: String? = nil
    ) {
        self.name = name
        self.latency = latency
        self.value = value
        self.unit = unit
        self.ratio = ratio
        self.ratioOf = ratioOf
        self.target = target
        self.met = met
        self.note = note
    }
}
