import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Reads one sample from a Prometheus text endpoint (the server's `/metrics`).
enum MetricsScrape {
    /// The value of the first sample whose line starts with `series` (name and labels as written,
    /// e.g. `matryoshka_server_svids_issued_total{kind="x509"}`), or 0 when absent.
    static func value(of series: String, at url: URL) async throws -> Double {
        let (data, _) = try await URLSession.shared.data(from: url)
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") where line.hasPrefix(series + " ") {
            if let value = Double(line.dropFirst(series.count + 1).trimmingCharacters(in: .whitespaces)) { return value }
        }
        return 0
    }
}
