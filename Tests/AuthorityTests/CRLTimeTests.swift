import Foundation
import SwiftASN1
import Testing

@testable import Authority

/// CRL times: UTC civil time by arithmetic, as `Calendar` would say, and the UTCTime /
/// GeneralizedTime choice of RFC 5280.
@Suite("CRL times")
struct CRLTimeTests {
    static let calendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: 0)!
        return calendar
    }()

    @Test("seconds since 1970 to civil time and back agree with Calendar, leap days and eras included")
    func civilTimeAgreesWithCalendar() {
        // From 1900 to 9999 (Calendar's Gregorian is Julian before 1582; X.509 times are not).
        var instants: [Int64] = [0, -1, 86_399, 86_400, 951_782_400, 951_868_800, 4_107_542_400, -631_152_000, -631_152_001, 2_524_608_000,
                                 253_402_300_799]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<300 { instants.append(Int64.random(in: -2_208_988_800...4_102_444_800, using: &generator)) }
        for seconds in instants {
            let time = UTCCivilTime(secondsSince1970: seconds)
            let parts = Self.calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: Date(timeIntervalSince1970: TimeInterval(seconds)))
            #expect([time.year, time.month, time.day, time.hour, time.minute, time.second]
                == [parts.year, parts.month, parts.day, parts.hour, parts.minute, parts.second].map { $0 ?? -1 }, "\(seconds)")
            #expect(time.secondsSince1970 == seconds, "\(seconds)")
        }
    }

    @Test("UTCTime from 1950 through 2049, GeneralizedTime otherwise; whole seconds; read back")
    func encodingChoiceAndRoundTrip() throws {
        for (seconds, identifier) in [(-631_152_001.0, ASN1Identifier.generalizedTime), (-631_152_000, .utcTime), (1_760_000_000.75, .utcTime),
                                      (2_524_607_999, .utcTime), (2_524_608_000, .generalizedTime)] {
            var coder = DER.Serializer()
            try CRLTime.serialize(Date(timeIntervalSince1970: seconds), into: &coder)
            let node = try DER.parse(coder.serializedBytes)
            #expect(node.identifier == identifier, "\(seconds)")
            #expect(try CRLTime.parse(node) == Date(timeIntervalSince1970: seconds.rounded(.down)), "\(seconds)")
        }
    }
}

extension CRLTimeTests {
    @Test("the first second of year 1 is proleptic Gregorian 0001-01-01T00:00:00Z")
    func yearOne() {
        let time = UTCCivilTime(secondsSince1970: -62_135_596_800)
        #expect(time == UTCCivilTime(year: 1, month: 1, day: 1, hour: 0, minute: 0, second: 0))
        #expect(time.secondsSince1970 == -62_135_596_800)
    }
}
