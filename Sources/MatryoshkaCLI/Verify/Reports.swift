import Foundation
import SPIFFE
import X509

/// What `svid verify` prints.
public struct X509SVIDReport: Codable, Sendable, Equatable {
    public var spiffeID: String
    public var expiresAt: Date
    public var notBefore: Date
    public var serialNumber: String
    public var chain: [String]

    enum CodingKeys: String, CodingKey {
        case spiffeID = "spiffe_id", expiresAt = "expires_at", notBefore = "not_before"
        case serialNumber = "serial_number", chain
    }

    init(_ verified: VerifiedX509SVID) {
        spiffeID = verified.spiffeID.description
        expiresAt = verified.expiry
        notBefore = verified.leaf.notValidBefore
        serialNumber = verified.leaf.serialNumber.hexString
        chain = verified.chain.map { String(describing: $0.subject) }
    }

    /// Human-readable form.
    public var text: String {
        """
        \(spiffeID)
        expires: \(ReportFormat.date(expiresAt)) (\(ReportFormat.relative(expiresAt)))
        serial:  \(serialNumber)
        chain:   \(chain.joined(separator: " <- "))

        """
    }
}

/// What `jwt verify` prints.
public struct JWTSVIDReport: Codable, Sendable, Equatable {
    public var spiffeID: String
    public var expiresAt: Date
    public var audience: [String]
    public var keyID: String
    public var algorithm: String
    public var claims: [String: JSONValue]

    enum CodingKeys: String, CodingKey {
        case spiffeID = "spiffe_id", expiresAt = "expires_at", audience, keyID = "kid", algorithm = "alg", claims
    }

    init(_ svid: JWTSVID) {
        spiffeID = svid.spiffeID.description
        expiresAt = svid.expiry
        audience = svid.audience
        keyID = svid.keyID
        algorithm = svid.algorithm
        claims = svid.claims
    }

    /// Human-readable form.
    public var text: String {
        var lines = [
            spiffeID,
            "expires: \(ReportFormat.date(expiresAt)) (\(ReportFormat.relative(expiresAt)))",
            "audience: \(audience.joined(separator: ", "))",
            "signed by: \(keyID) (\(algorithm))",
            "claims:",
        ]
        for name in claims.keys.sorted() {
            lines.append("  \(name): \(claims[name]!.description)")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// Shared formatting for reports.
public enum ReportFormat {
    public static func date(_ date: Date) -> String { date.formatted(.iso8601) }

    public static func relative(_ date: Date, now: Date = Date()) -> String {
        let seconds = Int(date.timeIntervalSince(now).rounded())
        let magnitude = abs(seconds)
        let text: String
        if magnitude < 120 {
            text = "\(magnitude)s"
        } else if magnitude < 7200 {
            text = "\(magnitude / 60)m"
        } else if magnitude < 172_800 {
            text = "\(magnitude / 3600)h"
        } else {
            text = "\(magnitude / 86400)d"
        }
        return seconds >= 0 ? "in \(text)" : "\(text) ago"
    }

    /// JSON with ISO 8601 dates, sorted keys, one line (for `--json`).
    public static func json(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        guard let data = try? encoder.encode(value) else { return "{}" }
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}
