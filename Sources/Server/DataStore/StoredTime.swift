import Foundation

/// Times as the datastore keeps them: whole milliseconds since 1970, rounded to the nearest, so a
/// date read back converts to the same number again (and an audit record hashes the same).
enum StoredTime {
    /// Beyond this (about ±285 000 years) a date is clamped; no real time gets near it.
    private static let limit = Double(1 << 53)

    static func milliseconds(_ date: Date) -> Int64 {
        let value = (date.timeIntervalSince1970 * 1000).rounded()
        guard value.isFinite else { return value > 0 ? Int64(limit) : -Int64(limit) }
        return Int64(min(max(value, -limit), limit))
    }

    static func date(_ milliseconds: Int64) -> Date {
        Date(timeIntervalSince1970: Double(milliseconds) / 1000)
    }

    /// `date` as it reads back after being stored.
    static func normalized(_ date: Date) -> Date { self.date(milliseconds(date)) }
}
