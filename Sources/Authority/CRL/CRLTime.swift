import Foundation
import SwiftASN1

/// RFC 5280 `Time`: UTCTime for dates from 1950 through 2049, GeneralizedTime otherwise, in
/// whole seconds, always UTC ("Z").
enum CRLTime {
    static func serialize(_ date: Date, into coder: inout DER.Serializer) throws {
        let seconds = date.timeIntervalSince1970.rounded(.down)
        guard let whole = Int64(exactly: seconds) else { throw CRLError.malformed("cannot represent \(date) as an X.509 time") }
        let time = UTCCivilTime(secondsSince1970: whole)
        if (1950..<2050).contains(time.year) {
            try coder.serialize(UTCTime(
                year: time.year, month: time.month, day: time.day, hours: time.hour, minutes: time.minute, seconds: time.second))
        } else {
            try coder.serialize(GeneralizedTime(
                year: time.year, month: time.month, day: time.day, hours: time.hour, minutes: time.minute, seconds: time.second,
                fractionalSeconds: 0))
        }
    }

    /// Reads a UTCTime or GeneralizedTime (swift-asn1 has checked its fields' ranges).
    static func parse(_ node: ASN1Node) throws -> Date {
        let time: UTCCivilTime
        var fraction = 0.0
        switch node.identifier {
        case .utcTime:
            let utc = try UTCTime(derEncoded: node)
            time = UTCCivilTime(year: utc.year, month: utc.month, day: utc.day, hour: utc.hours, minute: utc.minutes, second: utc.seconds)
        case .generalizedTime:
            let generalized = try GeneralizedTime(derEncoded: node)
            time = UTCCivilTime(
                year: generalized.year, month: generalized.month, day: generalized.day, hour: generalized.hours, minute: generalized.minutes,
                second: generalized.seconds)
            fraction = generalized.fractionalSeconds
        default:
            throw CRLError.malformed("expected a UTCTime or GeneralizedTime, found \(node.identifier)")
        }
        return Date(timeIntervalSince1970: TimeInterval(time.secondsSince1970) + fraction)
    }

    /// Whether `node` is a time.
    static func isTime(_ node: ASN1Node?) -> Bool {
        node?.identifier == .utcTime || node?.identifier == .generalizedTime
    }
}

/// A date and time of day in UTC, proleptic Gregorian, converted to and from seconds since 1970
/// by arithmetic (the days-from-civil algorithm) rather than through `Calendar`: a CRL encodes
/// and decodes one per revoked certificate, thousands per signing.
struct UTCCivilTime: Equatable {
    var year: Int
    var month: Int
    var day: Int
    var hour: Int
    var minute: Int
    var second: Int

    init(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) {
        self.year = year
        self.month = month
        self.day = day
        self.hour = hour
        self.minute = minute
        self.second = second
    }

    init(secondsSince1970 seconds: Int64) {
        let days = Self.floorDivide(seconds, 86_400)
        let secondOfDay = Int(seconds - days * 86_400)
        hour = secondOfDay / 3600
        minute = secondOfDay % 3600 / 60
        second = secondOfDay % 60
        // Days since 0000-03-01, in 400-year eras of 146 097 days.
        let shifted = days + 719_468
        let era = Self.floorDivide(shifted, 146_097)
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthFromMarch = (5 * dayOfYear + 2) / 153
        day = Int(dayOfYear - (153 * monthFromMarch + 2) / 5 + 1)
        month = Int(monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9)
        year = Int(yearOfEra + era * 400) + (month <= 2 ? 1 : 0)
    }

    var secondsSince1970: Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = Self.floorDivide(y, 400)
        let yearOfEra = y - era * 400
        let m = Int64(month)
        let dayOfYear = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        return days * 86_400 + Int64(hour) * 3600 + Int64(minute) * 60 + Int64(second)
    }

    private static func floorDivide(_ a: Int64, _ b: Int64) -> Int64 {
        a >= 0 ? a / b : -((-a + b - 1) / b)
    }
}
