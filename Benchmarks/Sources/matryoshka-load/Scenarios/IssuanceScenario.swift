import Foundation

/// Server issuance throughput, end to end, and agent memory with that many cached SVIDs.
///
/// N entries for this uid are registered under a node alias before its agent starts; the agent
/// attests, syncs, and has every SVID minted (per SVID: the agent makes a key and a CSR and signs
/// the lineage link; the server checks the CSR and the link, signs the certificate, and records it
/// with its audit record in SQLite). The server's `svids_issued_total{kind="x509"}` counter is
/// sampled every 10 ms: throughput is the SVIDs between the first and the last issuance over that
/// time. It is divided by the raw P-256 sign+verify rate of one thread, measured just before.
/// Then the agent's VmRSS, with all N cached, beside an agent holding one.
struct IssuanceScenario: Scenario {
    let name = "issuance"

    func run(_ settings: LoadSettings) async throws -> [Figure] {
        let raw = try RawCryptoRate.signVerifyPerSecond()
        return try await Deployment.with(binary: settings.binary, root: settings.root) { deployment in
            try await deployment.startServer()
            try await deployment.writeBundle()
            let small = try await deployment.startAgent("one", alias: deployment.id("/node/one"))
            let count = settings.issuanceSVIDs
            let alias = deployment.id("/node/bulk")
            let token = try await deployment.joinToken(alias: alias)
            try await AdminConnection.with(socket: deployment.adminSocket) { admin in
                try await admin.createEntry(spiffeID: deployment.id("/one/app"), parentID: deployment.id("/node/one"), selectors: ["unix:uid:\(deployment.uid)"])
                try await admin.createEntries(prefix: deployment.id("/bulk"), count: count, parentID: alias, selectors: ["unix:uid:\(deployment.uid)"])
            }
            try await deployment.waitForSVIDs(count: 1, agent: small)
            guard let metrics = await deployment.metricsURL else { throw LoadError.unexpected("no metrics URL") }
            let series = #"matryoshka_server_svids_issued_total{kind="x509"}"#
            let before = try await MetricsScrape.value(of: series, at: metrics)

            let spawned = ContinuousClock.now
            let bulk = try await deployment.startAgent("bulk", alias: alias, token: token)
            // Sample the counter until every SVID is issued.
            var firstAt: ContinuousClock.Instant?
            var lastAt: ContinuousClock.Instant?
            var firstCount = 0.0
            let deadline = ContinuousClock.now + .seconds(Double(count) * 0.5 + 120)
            while lastAt == nil {
                guard ContinuousClock.now < deadline else { throw LoadError.timeout("\(count) X509-SVIDs issued", seconds: (deadline - spawned).seconds) }
                let issued = try await MetricsScrape.value(of: series, at: metrics) - before
                let now = ContinuousClock.now
                if firstAt == nil, issued >= 1 {
                    firstAt = now
                    firstCount = issued
                }
                if issued >= Double(count) { lastAt = now }
                try await Task.sleep(for: .milliseconds(10))
            }
            guard let firstAt, let lastAt else { throw LoadError.unexpected("no issuance seen") }
            try await deployment.waitForSVIDs(count: count, agent: bulk, timeout: .seconds(300))
            let allServed = ContinuousClock.now - spawned
            let span = (lastAt - firstAt).seconds
            let throughput = span > 0 ? (Double(count) - firstCount) / span : .nan

            // Let the agent settle (the fetch above built a large response) before reading its memory.
            try await Task.sleep(for: .seconds(2))
            let rss = try ProcessMemory.residentMiB(pid: bulk.process.pid)
            let peak = try ProcessMemory.peakResidentMiB(pid: bulk.process.pid)
            let smallRSS = try ProcessMemory.residentMiB(pid: small.process.pid)
            let split = try ProcessMemory.residentSplitMiB(pid: bulk.process.pid)
            let smallSplit = try ProcessMemory.residentSplitMiB(pid: small.process.pid)
            return [
                Figure("raw ECDSA P-256 sign+verify, 1 thread", value: raw, unit: "pairs/s"),
                Figure(
                    "server issuance, \(count) X509-SVIDs to one agent", value: throughput, unit: "SVIDs/s",
                    ratio: throughput / raw, ratioOf: "raw sign+verify", target: "≥ 0.5× raw", met: throughput / raw >= 0.5,
                    note: "first to last issuance \(ReportPrinter.format(span)) s; agent spawn to all \(count) served \(ReportPrinter.format(allServed.seconds)) s; server data directory under \(settings.root)"),
                Figure(
                    "agent RSS with \(count) cached SVIDs", value: rss, unit: "MiB", ratio: rss / smallRSS, ratioOf: "agent with 1 SVID",
                    target: "≤ 40 MB", met: rss * 1.048576 <= 40,
                    note: "VmRSS (peak VmHWM \(ReportPrinter.format(peak)) MiB) = \(ReportPrinter.format(split.anonymous)) MiB anonymous + \(ReportPrinter.format(split.file)) MiB file-backed; an agent holding 1 SVID: \(ReportPrinter.format(smallRSS)) MiB (\(ReportPrinter.format(smallSplit.anonymous)) + \(ReportPrinter.format(smallSplit.file)))"),
            ]
        }
    }
}
