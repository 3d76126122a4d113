import Foundation
import Logging
import MatryoshkaAPI

/// Delivers this layer's workload attestation decisions to the server's audit log.
///
/// Decisions are kept in order and identical ones coalesced (a workload asking for a JWT-SVID in
/// a loop is one record with a count); a batch goes out every ``flushInterval`` while the server
/// is reachable. At most ``capacity`` distinct decisions wait; beyond that the oldest are dropped
/// and the next report says how many, so a gap in the audit log is itself recorded.
actor WorkloadAttestationReporter {
    struct Pending: Sendable {
        var decision: WorkloadDecision
        var firstSeen: Date
        var count: Int
    }

    /// The most decisions one report carries (the server's limit).
    static let batchLimit = 1000

    let capacity: Int
    let flushInterval: Duration
    private let logger: Logger
    private var pending: [Pending] = []
    private var positions: [WorkloadDecision: Int] = [:]
    private var dropped: UInt64 = 0

    init(capacity: Int = 10_000, flushInterval: Duration = .seconds(3), logger: Logger) {
        self.capacity = max(capacity, 1)
        self.flushInterval = flushInterval
        self.logger = logger
    }

    /// Keeps `decision` for the next report.
    func record(_ decision: WorkloadDecision, at time: Date = Date()) {
        if let position = positions[decision] {
            pending[position].count += 1
            return
        }
        if pending.count >= capacity {
            let oldest = pending.removeFirst()
            dropped += UInt64(oldest.count)
            reindex()
        }
        positions[decision] = pending.count
        pending.append(Pending(decision: decision, firstSeen: time, count: 1))
    }

    /// Decisions waiting, and how many were dropped since the last delivery.
    var backlog: (pending: Int, dropped: UInt64) { (pending.count, dropped) }

    /// Takes the next batch to send (oldest first) with the drop count; ``restore(_:dropped:)``
    /// puts it back if it could not be delivered.
    func takeBatch() -> (batch: [Pending], dropped: UInt64)? {
        guard !pending.isEmpty || dropped > 0 else { return nil }
        let batch = Array(pending.prefix(Self.batchLimit))
        pending.removeFirst(batch.count)
        reindex()
        let lost = dropped
        dropped = 0
        return (batch, lost)
    }

    /// Puts back a batch that was not delivered, ahead of what came since (within ``capacity``).
    func restore(_ batch: [Pending], dropped lost: UInt64) {
        var merged = batch
        for item in pending {
            if let index = merged.firstIndex(where: { $0.decision == item.decision }) {
                merged[index].count += item.count
            } else {
                merged.append(item)
            }
        }
        dropped += lost
        if merged.count > capacity {
            let excess = merged.count - capacity
            dropped += UInt64(merged.prefix(excess).reduce(0) { $0 + $1.count })
            merged.removeFirst(excess)
        }
        pending = merged
        reindex()
    }

    /// Sends batches through `send` every ``flushInterval`` until cancelled; a failed delivery is
    /// retried at the next interval.
    func run(send: @escaping @Sendable (Matryoshka_V1_ReportWorkloadAttestationsRequest) async throws -> Void) async {
        var failing = false
        while !Task.isCancelled {
            try? await Task.sleep(for: flushInterval)
            while let (batch, lost) = takeBatch() {
                let request = Matryoshka_V1_ReportWorkloadAttestationsRequest.with {
                    $0.attestations = batch.map { $0.decision.wire(firstSeen: $0.firstSeen, count: $0.count) }
                    $0.dropped = lost
                }
                do {
                    try await send(request)
                    if failing {
                        logger.info("workload attestation records delivered to the server again")
                        failing = false
                    }
                } catch {
                    restore(batch, dropped: lost)
                    if !failing {
                        logger.warning("cannot deliver workload attestation records to the server; keeping them", metadata: [
                            "pending": "\(pending.count)", "error": "\(error)",
                        ])
                        failing = true
                    }
                    break
                }
            }
        }
    }

    private func reindex() {
        positions = Dictionary(pending.enumerated().map { ($1.decision, $0) }, uniquingKeysWith: { first, _ in first })
    }
}
