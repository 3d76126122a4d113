import Foundation

/// A small parser for the Prometheus text exposition format (0.0.4): `# HELP`, `# TYPE` and
/// sample lines `name{label="value",…} number`; anything else is an error.
public struct PrometheusText: Sendable {
    public struct ParseError: Error, CustomStringConvertible {
        public let line: String
        public var description: String { "not Prometheus text: \(line)" }
    }

    public struct Sample: Hashable, Sendable {
        public let name: String
        public let labels: [String: String]
        public let value: Double
    }

    public var types: [String: String] = [:]
    public var samples: [Sample] = []

    public func value(_ name: String, _ labels: [String: String]) -> Double? {
        samples.first { $0.name == name && $0.labels == labels }?.value
    }

    public static func parse(_ text: String) throws -> PrometheusText {
        var result = PrometheusText()
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            if line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                guard parts.count == 4, (try? #/[a-zA-Z_:][a-zA-Z0-9_:]*/#.wholeMatch(in: parts[2])) != nil,
                      ["counter", "gauge", "histogram", "summary", "untyped"].contains(parts[3]) else { throw ParseError(line: String(line)) }
                result.types[String(parts[2])] = String(parts[3])
                continue
            }
            if line.hasPrefix("# HELP ") { continue }
            guard let match = try #/(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>[^}]*)\})? (?<value>[^ ]+)( -?[0-9]+)?/#.wholeMatch(in: line),
                  let value = Double(match.value) ?? (match.value == "+Inf" ? .infinity : nil) else {
                throw ParseError(line: String(line))
            }
            var labels: [String: String] = [:]
            if let text = match.labels, !text.isEmpty {
                for pair in text.split(separator: ",") {
                    guard let label = try #/(?<key>[a-zA-Z_][a-zA-Z0-9_]*)="(?<value>[^"]*)"/#.wholeMatch(in: pair) else {
                        throw ParseError(line: String(line))
                    }
                    labels[String(label.key)] = String(label.value)
                }
            }
            result.samples.append(Sample(name: String(match.name), labels: labels, value: value))
        }
        return result
    }
}
