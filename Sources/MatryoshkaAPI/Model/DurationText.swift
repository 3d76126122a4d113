import Foundation

/// Durations as operators write them in flags and config: `90` or `90s`, `15m`, `1h`, `1h30m`, `2d`.
public enum DurationText {
    /// Parses a duration; a bare number is seconds.
    public static func parse(_ text: String) throws(DurationTextError) -> Duration {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { throw DurationTextError(text: text) }
        if let seconds = Int64(trimmed) {
            guard seconds >= 0 else { throw DurationTextError(text: text) }
            return .seconds(seconds)
        }
        var total: Int64 = 0
        var number = ""
        var sawUnit = false
        var index = trimmed.startIndex
        while index < trimmed.endIndex {
            let character = trimmed[index]
            if character.isASCII, character.isNumber {
                number.append(character)
                index = trimmed.index(after: index)
                continue
            }
            guard let value = Int64(number) else { throw DurationTextError(text: text) }
            var unit = String(character)
            let next = trimmed.index(after: index)
            if character == "m", next < trimmed.endIndex, trimmed[next] == "s" {
                unit = "ms"
                index = trimmed.index(after: next)
            } else {
                index = next
            }
            let multiplier: Int64
            switch unit {
            case "ms": multiplier = 0
            case "s": multiplier = 1
            case "m": multiplier = 60
            case "h": multiplier = 3600
            case "d": multiplier = 86400
            default: throw DurationTextError(text: text)
            }
            if unit == "ms" {
                guard value % 1000 == 0 else { throw DurationTextError(text: text) }
                total += value / 1000
            } else {
                let (product, overflow) = value.multipliedReportingOverflow(by: multiplier)
                guard !overflow else { throw DurationTextError(text: text) }
                total += product
            }
            number = ""
            sawUnit = true
        }
        guard number.isEmpty, sawUnit else { throw DurationTextError(text: text) }
        return .seconds(total)
    }

    /// A duration as text (`1h30m`, `45s`).
    public static func format(_ duration: Duration) -> String {
        var seconds = duration.components.seconds
        if seconds == 0 { return "0s" }
        var parts = ""
        for (unit, size) in [("d", Int64(86400)), ("h", 3600), ("m", 60), ("s", 1)] where seconds >= size {
            parts += "\(seconds / size)\(unit)"
            seconds %= size
        }
        return parts
    }
}

/// A duration that could not be read.
public struct DurationTextError: Error, Hashable, Sendable, CustomStringConvertible {
    public let text: String
    public var description: String { "'\(text)' is not a duration (examples: 90, 90s, 15m, 1h, 1h30m, 2d)" }
}

extension Duration {
    /// Whole seconds.
    public var wholeSeconds: Int64 { components.seconds }
}
