import Foundation
import SwiftASN1

/// RFC 5280 `Time`: UTCTime for dates from 1950 through 2049, GeneralizedTime otherwise, in
/// whole seconds, always UTC ("Z").
enum CRLTime {
    private static let calendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? TimeZone(secondsFromGMT: 0) ?? calendar.timeZone
        return calendar
    }()

    static func serialize(_ date: Date, into coder: inout DER.Serializer) throws {
        let whole = Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded(.down))
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: whole)
        guard let year = parts.year, let month = parts.month, let day = parts.day,
              let hour = parts.hour, let minute = parts.minute, let second = parts.second
        else { throw CRLError.malformed("cannot represent \(date) as an X.509 time") }
        if (1950..<2050).contains(year) {
            try coder.serialize(UTCTime(year: year, month: month, day: day, hours: hour, minutes: minute, seconds: second))
        } else {
            try coder.serialize(GeneralizedTime(
                year: year, month: month, day: day, hours: hour, minutes: minute, seconds: second, fractionalSeconds: 0))
        }
    }

    /// Reads a UTCTime or GeneralizedTime.
    static func parse(_ node: ASN1Node) throws -> Date {
        let components: DateComponents
        var fraction = 0.0
        switch node.identifier {
        case .utcTime:
            let time = try UTCTime(derEncoded: node)
            components = DateComponents(year: time.year, month: time.month, day: time.day, hour: time.hours, minute: time.minutes, second: time.seconds)
        case .generalizedTime:
            let time = try GeneralizedTime(derEncoded: node)
            components = DateComponents(year: time.year, month: time.month, day: time.day, hour: time.hours, minute: time.minutes, second: time.seconds)
            fraction = time.fractionalSeconds
        default:
            throw CRLError.malformed("expected a UTCTime or GeneralizedTime, found \(node.identifier)")
        }
        guard let date = calendar.date(from: components) else {
            throw CRLError.malformed("invalid date \(components)")
        }
        return date.addingTimeInterval(fraction)
    }

    /// Whether `node` is a time.
    static func isTime(_ node: ASN1Node?) -> Bool {
        node?.identifier == .utcTime || node?.identifier == .generalizedTime
    }
}
