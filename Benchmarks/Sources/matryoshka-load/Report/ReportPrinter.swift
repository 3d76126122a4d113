import Foundation

/// Prints figures as a text table, or as JSON.
enum ReportPrinter {
    static func table(_ figures: [Figure]) -> String {
        let header = ["figure", "n", "p50", "p99", "max", "value", "ratio", "target", "met"]
        var rows: [[String]] = [header]
        for figure in figures {
            let latency = figure.latency
            rows.append([
                figure.name,
                latency.map { String($0.count) } ?? "",
                latency.map { format($0.p50) + " ms" } ?? "",
                latency.map { format($0.p99) + " ms" } ?? "",
                latency.map { format($0.max) + " ms" } ?? "",
                figure.value.map { format($0) + " " + figure.unit } ?? "",
                figure.ratio.map { format($0) + "× " + (figure.ratioOf ?? "") } ?? "",
                figure.target ?? "",
                figure.met.map { $0 ? "yes" : "NO" } ?? "",
            ])
        }
        var widths = Array(repeating: 0, count: header.count)
        for row in rows { for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) } }
        var lines = rows.map { row in
            row.enumerated().map { index, cell in cell.padding(toLength: widths[index], withPad: " ", startingAt: 0) }.joined(separator: " | ")
        }
        lines.insert(widths.map { String(repeating: "-", count: $0) }.joined(separator: "-|-"), at: 1)
        let notes = figures.compactMap { figure in figure.note.map { "- \(figure.name): \($0)" } }
        return (lines + (notes.isEmpty ? [] : ["", "notes:"] + notes)).joined(separator: "\n")
    }

    static func json(_ figures: [Figure]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return String(decoding: try encoder.encode(figures), as: UTF8.self)
    }

    static func format(_ value: Double) -> String {
        if value.isNaN { return "-" }
        if abs(value) >= 100 { return String(format: "%.0f", value) }
        if abs(value) >= 10 { return String(format: "%.1f", value) }
        if abs(value) >= 1 { return String(format: "%.2f", value) }
        return String(format: "%.3f", value)
    }
}
