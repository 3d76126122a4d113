import Crypto
import Foundation
import SPIFFE

/// The hash chain that makes the audit log tamper-evident, independent of where it is stored.
///
/// Record *n* stores the hash of record *n − 1* (``genesisHash`` for the first) and its own hash,
/// the lower-case hex SHA-256 of
///
/// ```
/// matryoshka-audit-v1 LF <sequence in decimal> LF <canonical JSON of the event> LF <previous hash>
/// ```
///
/// where the event's canonical JSON is an object with the keys `actor`, `details` (an object of
/// strings), `kind`, `subject` and `time` (integer milliseconds since 1970), members sorted by key,
/// no whitespace, strings minimally escaped (see ``canonicalJSON(of:)``). Editing, deleting,
/// inserting or reordering a record breaks the chain at that record, which ``verify(_:after:)``
/// names. (Truncating the newest records does not; that needs a signed chain head.)
public enum AuditChain {
    /// The previous hash of the first record: 64 zeros.
    public static let genesisHash = String(repeating: "0", count: 64)

    static let domain = "matryoshka-audit-v1"

    /// The event as canonical JSON, the form its hash covers. Its time is taken to the millisecond.
    public static func canonicalJSON(of event: AuditEvent) -> String {
        canonicalJSON(of: event, detailsJSON: CanonicalJSON.objectOfStrings(event.details))
    }

    /// The event as canonical JSON, its details already written (``CanonicalJSON/objectOfStrings(_:)``).
    static func canonicalJSON(of event: AuditEvent, detailsJSON: String) -> String {
        CanonicalJSON.object([
            "actor": .string(event.actor),
            "details": .canonical(detailsJSON),
            "kind": .string(event.kind),
            "subject": .string(event.subject),
            "time": .integer(StoredTime.milliseconds(event.time)),
        ]).text
    }

    /// The hash of a record: lower-case hex SHA-256 over its sequence, its event and the previous hash.
    public static func hash(sequence: Int64, event: AuditEvent, previousHash: String) -> String {
        hash(sequence: sequence, eventJSON: canonicalJSON(of: event), previousHash: previousHash)
    }

    static func hash(sequence: Int64, eventJSON: String, previousHash: String) -> String {
        var hasher = SHA256()
        for part in [domain, "\n", String(sequence), "\n", eventJSON, "\n", previousHash] {
            var part = part
            part.withUTF8 { hasher.update(bufferPointer: UnsafeRawBufferPointer($0)) }
        }
        return hex(hasher.finalize())
    }

    /// The record that follows `previous` (or starts the chain when `previous` is nil), with the
    /// event's time taken to the millisecond as it is stored and hashed.
    public static func record(for event: AuditEvent, after previous: AuditRecord?) -> AuditRecord {
        Prepared(event, after: previous.map { ($0.sequence, $0.hash) }).record
    }

    /// The record with this sequence number and previous hash, with the event's time taken to the
    /// millisecond as it is stored and hashed.
    public static func record(for event: AuditEvent, sequence: Int64, previousHash: String) -> AuditRecord {
        Prepared(event, sequence: sequence, previousHash: previousHash).record
    }

    /// A record about to be stored, with its details as canonical JSON: the text its hash covers
    /// is also the text a datastore keeps, so it is written once.
    struct Prepared: Sendable {
        let record: AuditRecord
        let detailsJSON: String

        init(_ event: AuditEvent, sequence: Int64, previousHash: String) {
            var event = event
            event.time = StoredTime.date(StoredTime.milliseconds(event.time))
            let detailsJSON = CanonicalJSON.objectOfStrings(event.details)
            let eventJSON = AuditChain.canonicalJSON(of: event, detailsJSON: detailsJSON)
            self.record = AuditRecord(
                sequence: sequence, event: event, previousHash: previousHash,
                hash: AuditChain.hash(sequence: sequence, eventJSON: eventJSON, previousHash: previousHash))
            self.detailsJSON = detailsJSON
        }

        /// The record after the newest one (`previous`: its sequence number and hash), or the first.
        init(_ event: AuditEvent, after previous: (sequence: Int64, hash: String)?) {
            self.init(event, sequence: (previous?.sequence ?? 0) + 1, previousHash: previous?.hash ?? AuditChain.genesisHash)
        }
    }

    /// Checks that `records` form an unbroken chain, in the order given.
    ///
    /// - Parameters:
    ///   - records: consecutive records, oldest first.
    ///   - previous: the record just before the first of `records`, already verified; nil when
    ///     `records` starts the log (its first record must then be sequence 1 with the genesis hash).
    ///     Lets a long log be verified page by page.
    /// - Returns: the first record that breaks the chain and why, or nil when all verify.
    public static func verify(_ records: some Sequence<AuditRecord>, after previous: AuditRecord? = nil) -> AuditChainBreak? {
        var expectedSequence = (previous?.sequence ?? 0) + 1
        var expectedPreviousHash = previous?.hash ?? genesisHash
        for record in records {
            if record.sequence != expectedSequence {
                return AuditChainBreak(sequence: record.sequence, reason: .unexpectedSequence(expected: expectedSequence))
            }
            if record.previousHash != expectedPreviousHash {
                return AuditChainBreak(sequence: record.sequence, reason: .previousHashMismatch)
            }
            if record.hash != hash(sequence: record.sequence, event: record.event, previousHash: record.previousHash) {
                return AuditChainBreak(sequence: record.sequence, reason: .hashMismatch)
            }
            expectedSequence += 1
            expectedPreviousHash = record.hash
        }
        return nil
    }

    static func hex(_ digest: some Sequence<UInt8>) -> String {
        Hex.encode(digest)
    }
}

/// Where and why an audit chain stopped verifying.
public struct AuditChainBreak: Error, Hashable, Sendable, CustomStringConvertible {
    /// Why a record does not fit the chain.
    public enum Reason: Hashable, Sendable {
        /// The record's sequence number is not the one after its predecessor's: a record before it
        /// was deleted, or records were inserted or reordered.
        case unexpectedSequence(expected: Int64)
        /// The record does not name its predecessor's hash: a record before it was replaced,
        /// deleted or reordered.
        case previousHashMismatch
        /// The record's content no longer matches its hash: it was edited.
        case hashMismatch
    }

    /// The sequence number of the first record that does not verify.
    public var sequence: Int64
    /// What is wrong with it.
    public var reason: Reason

    public init(sequence: Int64, reason: Reason) {
        self.sequence = sequence
        self.reason = reason
    }

    public var description: String {
        switch reason {
        case .unexpectedSequence(let expected):
            return "audit record \(sequence): expected sequence \(expected) (a record is missing, inserted or out of order)"
        case .previousHashMismatch:
            return "audit record \(sequence): does not chain to the record before it (a record is missing, replaced or out of order)"
        case .hashMismatch:
            return "audit record \(sequence): content does not match its hash (the record was edited)"
        }
    }
}
