import Foundation
import X509

/// Checks an audit log end to end: the hash chain of every record (``AuditChain``), every signed
/// chain head (its signature, that its signer is trusted, that the record it names still has the
/// hash it signed) and that every `audit.head.sign` record still has its head.
///
/// What it catches, and the record it names:
/// - an edited record: that record (its content no longer matches its hash);
/// - a deleted record: the first record after the gap (its sequence or previous hash is wrong);
/// - an inserted record: the inserted record when it does not chain, else the one after it;
/// - reordered records: the first one out of place;
/// - truncation (the newest records deleted): the first missing record, when a signed head
///   covers it; records newer than the newest signed head are reported as unsigned, not as
///   tampered, since nothing vouches for them yet;
/// - a rewritten chain (every hash recomputed after an edit): the first signed head that no
///   longer matches.
///
/// Signed heads do not help against someone who holds the CA key (it is in the same database):
/// keep the newest head elsewhere (the server logs each one) and compare.
public struct AuditVerifier: Sendable {
    /// The certificates heads may be signed by, or by a certificate these signed (an upstream
    /// root). Empty: any signer is accepted (reported as unanchored).
    public var trustedCertificates: [Certificate]
    /// Records read per page.
    public var pageSize = 1000

    public init(trustedCertificates: [Certificate]) {
        self.trustedCertificates = trustedCertificates
    }

    /// Reads the whole log from `store` and checks it.
    public func verify(_ store: any AuditLogStore, now: Date = Date()) async throws(DataStoreError) -> AuditVerification {
        let heads = try await store.auditHeads()
        var headsBySequence: [Int64: SignedAuditHead] = [:]
        for head in heads { headsBySequence[head.sequence] = head }
        var report = AuditVerification()
        report.signedHeads = heads.count
        var problems: [AuditVerification.Problem] = []

        // The heads themselves: signature and signer.
        var validHeads: [Int64: SignedAuditHead] = [:]
        for head in heads {
            guard let signer = AuditHeadSignature.verifiedSigner(of: head) else {
                problems.append(.init(sequence: head.sequence, message: "the signed head for record \(head.sequence) has an invalid signature"))
                continue
            }
            // A CA that has expired may have been deleted since it signed: its heads are still
            // checked against the chain, but cannot be anchored.
            if !trustedCertificates.isEmpty, !isTrusted(signer), signer.notValidAfter > now {
                problems.append(.init(sequence: head.sequence, message: "the signed head for record \(head.sequence) is signed by a key that is not trusted (\(signer.subject))"))
                continue
            }
            validHeads[head.sequence] = head
        }
        report.anchored = !trustedCertificates.isEmpty

        // The chain, page by page, checked against the heads as it goes.
        var previous: AuditRecord?
        var previousButOne: AuditRecord?
        var next: Int64 = 1
        var chainBroken = false
        while true {
            let page = try await store.auditRecords(from: next, limit: pageSize)
            if page.isEmpty { break }
            if !chainBroken, let brk = AuditChain.verify(page, after: previous) {
                chainBroken = true
                let records = [previousButOne, previous].compactMap { $0 } + page
                problems.append(Self.explain(brk, in: records))
            }
            for record in page {
                if let head = headsBySequence[record.sequence], head.hash != record.hash {
                    let previousHead = heads.last { $0.sequence < record.sequence }?.sequence ?? 0
                    problems.append(.init(
                        sequence: record.sequence,
                        message: "audit record \(record.sequence) does not match the head signed at \(head.signedAt.formatted(.iso8601)) "
                            + "(a record after \(previousHead) was edited, inserted or deleted and the chain recomputed)"))
                }
                if record.event.kind == AuditSealer.eventKind, headsBySequence[record.sequence] == nil {
                    problems.append(.init(sequence: record.sequence, message: "audit record \(record.sequence) records a signed head, but that head is missing"))
                }
            }
            report.records += page.count
            previousButOne = page.count >= 2 ? page[page.count - 2] : previous
            previous = page.last
            guard let last = page.last else { break }
            next = last.sequence + 1
        }
        report.lastSequence = previous?.sequence ?? 0
        report.lastHash = previous?.hash ?? AuditChain.genesisHash

        // Truncation: a signed head beyond the end of the log.
        if let newest = heads.last, newest.sequence > report.lastSequence {
            problems.append(.init(
                sequence: report.lastSequence + 1,
                message: "the audit log ends at record \(report.lastSequence), but a head signed at \(newest.signedAt.formatted(.iso8601)) "
                    + "covers record \(newest.sequence): records \(report.lastSequence + 1)…\(newest.sequence) were deleted (truncated)"))
        }
        let newestValid = validHeads.keys.filter { $0 <= report.lastSequence }.max()
        report.lastSignedSequence = newestValid ?? 0
        report.unsignedRecords = Int(report.lastSequence - (newestValid ?? 0))
        if let newestValid, let head = validHeads[newestValid] {
            report.lastSignedAt = head.signedAt
            report.signerKeyID = head.keyID
        }
        report.problem = problems.min { $0.sequence < $1.sequence }
        report.problemCount = problems.count
        return report
    }

    private func isTrusted(_ certificate: Certificate) -> Bool {
        for anchor in trustedCertificates {
            if anchor == certificate { return true }
            if anchor.subject == certificate.issuer, anchor.publicKey.isValidSignature(certificate.signature, for: certificate) { return true }
        }
        return false
    }

    /// Names the first bad record of a chain break as precisely as the neighbours allow: a record
    /// that chains to the one before its predecessor means its predecessor was inserted.
    static func explain(_ brk: AuditChainBreak, in records: [AuditRecord]) -> AuditVerification.Problem {
        guard let index = records.firstIndex(where: { $0.sequence == brk.sequence }) else {
            return .init(sequence: brk.sequence, message: brk.description)
        }
        let record = records[index]
        switch brk.reason {
        case .unexpectedSequence(let expected) where record.sequence > expected:
            return .init(sequence: expected, message: "audit record \(expected) is missing (deleted): the log goes from \(expected - 1) to \(record.sequence)")
        case .unexpectedSequence(let expected):
            return .init(sequence: record.sequence, message: "audit record \(record.sequence) is out of order (expected \(expected))")
        case .previousHashMismatch:
            if index >= 2, record.previousHash == records[index - 2].hash {
                return .init(sequence: records[index - 1].sequence, message: "audit record \(records[index - 1].sequence) was inserted: the record after it chains to the one before it")
            }
            return .init(sequence: record.sequence, message: "audit record \(record.sequence) does not chain to the record before it (records were deleted, replaced or reordered)")
        case .hashMismatch:
            return .init(sequence: record.sequence, message: "audit record \(record.sequence) was edited: its content does not match its hash")
        }
    }
}

/// The outcome of ``AuditVerifier/verify(_:)``.
public struct AuditVerification: Sendable, Hashable, Codable {
    /// The first bad record and what is wrong.
    public struct Problem: Sendable, Hashable, Codable {
        public var sequence: Int64
        public var message: String

        public init(sequence: Int64, message: String) {
            self.sequence = sequence
            self.message = message
        }
    }

    public var records = 0
    public var lastSequence: Int64 = 0
    public var lastHash = AuditChain.genesisHash
    public var signedHeads = 0
    /// The newest record covered by a valid signed head (0: none).
    public var lastSignedSequence: Int64 = 0
    public var lastSignedAt: Date?
    public var signerKeyID: String?
    /// Records after the newest valid signed head: intact as far as the chain goes, not yet signed.
    public var unsignedRecords = 0
    /// Whether the signers were checked against trusted certificates.
    public var anchored = false
    /// The problem with the lowest sequence number, if any.
    public var problem: Problem?
    /// How many problems were found in all.
    public var problemCount = 0

    enum CodingKeys: String, CodingKey {
        case records, lastSequence = "last_sequence", lastHash = "last_hash", signedHeads = "signed_heads"
        case lastSignedSequence = "last_signed_sequence", lastSignedAt = "last_signed_at", signerKeyID = "signer_key_id"
        case unsignedRecords = "unsigned_records", anchored, problem, problemCount = "problem_count"
    }

    public init() {}

    public var isIntact: Bool { problem == nil }
}
