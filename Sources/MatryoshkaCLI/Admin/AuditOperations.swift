import Foundation
import GRPCCore
import MatryoshkaAPI
import SPIFFE
import Server
import X509

/// `matryoshka audit show|verify`: the audit log through the admin API, or verified offline on
/// the database file.
public enum AuditOperations {
    /// What `audit show` was asked.
    public struct ShowRequest: Sendable, Equatable {
        public var spiffeID: String?
        public var subtree: Bool
        /// `--since`: an RFC 3339 time (`2026-01-02T03:04:05Z`) or a duration back from now (`1h`).
        public var since: String?

        public init(spiffeID: String? = nil, subtree: Bool = false, since: String? = nil) {
            self.spiffeID = spiffeID
            self.subtree = subtree
            self.since = since
        }

        func wire(now: Date) throws(CLIError) -> Matryoshka_V1_ListAuditRecordsRequest {
            var request = Matryoshka_V1_ListAuditRecordsRequest()
            if let spiffeID {
                request.spiffeID = try EntryOperations.CreateRequest.id(spiffeID, flag: "--spiffe-id").description
            } else if subtree {
                throw CLIError("--subtree goes with --spiffe-id")
            }
            request.subtree = subtree
            if let since {
                request.sinceMs = Int64((try AuditOperations.time(since, now: now).timeIntervalSince1970 * 1000).rounded(.down))
            }
            return request
        }
    }

    /// `--since`: an RFC 3339 time, or a duration before `now`.
    static func time(_ text: String, now: Date) throws(CLIError) -> Date {
        if let date = try? Date(text, strategy: .iso8601) { return date }
        if let date = try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)) { return date }
        do {
            let duration = try DurationText.parse(text)
            return now.addingTimeInterval(-(Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18))
        } catch {
            throw CLIError("--since '\(text)' is neither a time (2026-01-02T03:04:05Z) nor a duration (90s, 15m, 1h, 2d)")
        }
    }

    /// The matching records, oldest first, handed to `body` page by page as they arrive.
    public static func show(
        _ request: ShowRequest, socketPath: String, now: Date = Date(), _ body: @escaping @Sendable ([AuditRecord]) -> Void
    ) async throws(CLIError) {
        let wire = try request.wire(now: now)
        try await AdminClient.with(socketPath: socketPath) { client throws(CLIError) in
            try await client.call {
                try await client.admin.listAuditRecords(wire, options: AdminClient.options) { response in
                    for try await page in response.messages {
                        body(page.records.map(AuditRecord.init(wire:)))
                    }
                }
            }
        }
    }

    /// Verifies the log through the running server (against every CA certificate it holds).
    public static func verify(socketPath: String) async throws(CLIError) -> AuditVerification {
        try await AdminClient.with(socketPath: socketPath) { client throws(CLIError) in
            let response = try await client.call { try await client.admin.verifyAudit(Matryoshka_V1_VerifyAuditRequest(), options: AdminClient.options) }
            return AuditVerification(wire: response)
        }
    }

    /// Verifies the log in a database file, without a server: signers are checked against the
    /// CA certificates in `bundlePath` (PEM, as `server bundle show` prints it) when given, else
    /// against the CA certificates stored in the same database (which proves less: whoever can
    /// rewrite the database can also replace them).
    public static func verify(databasePath: String, bundlePath: String?, now: Date = Date()) async throws(CLIError) -> AuditVerification {
        let store: SQLiteDataStore
        do {
            store = try SQLiteDataStore.openForReading(path: databasePath)
        } catch {
            throw CLIError("cannot open \(databasePath): \(error)")
        }
        defer { try? store.close() }
        var anchors: [Certificate] = []
        if let bundlePath {
            do {
                anchors = try CertificateEncoding.certificates(from: try InputFile.read(bundlePath))
            } catch let error as CLIError {
                throw error
            } catch {
                throw CLIError("\(bundlePath): not a PEM or DER certificate bundle (\(error))")
            }
        } else {
            do {
                anchors = try await store.authorities().filter { $0.kind == .x509 }.compactMap { try? Certificate(derEncoded: $0.certificateDER) }
            } catch {
                throw CLIError("cannot read the CA certificates in \(databasePath): \(error)")
            }
        }
        do {
            return try await AuditVerifier(trustedCertificates: anchors).verify(store, now: now)
        } catch {
            throw CLIError("cannot read the audit log in \(databasePath): \(error)")
        }
    }
}

/// How `audit show` prints records.
public enum AuditRecordFormat {
    /// One JSON object per record, for SIEM export: `sequence`, `time` (RFC 3339, ms), `kind`,
    /// `actor`, `subject`, `details` (object of strings), `previous_hash`, `hash`.
    public static func jsonLine(_ record: AuditRecord) -> String {
        struct Line: Encodable {
            let sequence: Int64
            let time: String
            let kind: String
            let actor: String
            let subject: String
            let details: [String: String]
            let previous_hash: String
            let hash: String
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let line = Line(
            sequence: record.sequence, time: timestamp(record.event.time), kind: record.event.kind, actor: record.event.actor,
            subject: record.event.subject, details: record.event.details, previous_hash: record.previousHash, hash: record.hash)
        return (try? String(decoding: encoder.encode(line), as: UTF8.self)) ?? "{}"
    }

    /// A readable block: the headline (`#seq time kind subject`), who did it, then the details
    /// that matter most (serial, TTL, lineage, reason), then the rest.
    public static func text(_ record: AuditRecord) -> String {
        let event = record.event
        var lines = ["#\(record.sequence)  \(timestamp(event.time))  \(event.kind)  \(event.subject)", "    by \(event.actor)"]
        var details = event.details
        // Lineage as layers, outermost first.
        if let lineage = details.removeValue(forKey: "lineage") {
            let layers = lineage.components(separatedBy: " > ")
            lines.append("    lineage:")
            for (depth, layer) in layers.enumerated() {
                lines.append("      " + String(repeating: "  ", count: depth) + (depth == 0 ? "" : "└ ") + layer)
            }
        }
        details["lineage_layers"] = nil
        details["lineage_depth"] = nil
        for key in ["serial", "svid_kind", "ttl_seconds", "expires_at", "reason", "scope", "revoked", "descendants"] {
            if let value = details.removeValue(forKey: key) { lines.append("    \(key): \(value)") }
        }
        for key in details.keys.sorted() {
            lines.append("    \(key): \(details[key] ?? "")")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}

extension AuditVerification {
    /// What `audit verify` prints.
    public var text: String {
        var lines: [String] = []
        if let problem {
            lines.append("audit log TAMPERED: first bad record \(problem.sequence): \(problem.message)")
            if problemCount > 1 { lines.append("(\(problemCount - 1) more problem\(problemCount == 2 ? "" : "s") after it)") }
        } else {
            lines.append("audit log intact: \(records) record\(records == 1 ? "" : "s"), chain head \(lastSequence) \(lastHash)")
        }
        if lastSignedSequence > 0 {
            let when = lastSignedAt.map { " at \(AuditRecordFormat.timestamp($0))" } ?? ""
            lines.append("signed heads: \(signedHeads); newest covers record \(lastSignedSequence)\(when) (key \(signerKeyID ?? "?"))\(anchored ? "" : ", signer not anchored")")
        } else {
            lines.append("signed heads: none yet")
        }
        if unsignedRecords > 0 {
            lines.append("\(unsignedRecords) record\(unsignedRecords == 1 ? "" : "s") after the newest signed head (chained, not yet signed)")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
