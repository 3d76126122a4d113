import Foundation
import MatryoshkaAPI

extension AuditRecord {
    /// The record as the admin API sends it.
    public var wire: Matryoshka_V1_AuditLogRecord {
        Matryoshka_V1_AuditLogRecord.with {
            $0.sequence = sequence
            $0.kind = event.kind
            $0.actor = event.actor
            $0.subject = event.subject
            $0.details = event.details
            $0.timeMs = StoredTime.milliseconds(event.time)
            $0.previousHash = previousHash
            $0.hash = hash
        }
    }

    /// A record received from the admin API.
    public init(wire: Matryoshka_V1_AuditLogRecord) {
        self.init(
            sequence: wire.sequence,
            event: AuditEvent(kind: wire.kind, actor: wire.actor, subject: wire.subject, details: wire.details, time: StoredTime.date(wire.timeMs)),
            previousHash: wire.previousHash, hash: wire.hash)
    }
}

extension AuditVerification {
    /// The report as the admin API sends it.
    public var wire: Matryoshka_V1_VerifyAuditResponse {
        Matryoshka_V1_VerifyAuditResponse.with {
            $0.records = Int64(records)
            $0.lastSequence = lastSequence
            $0.lastHash = lastHash
            $0.signedHeads = Int32(clamping: signedHeads)
            $0.lastSignedSequence = lastSignedSequence
            $0.lastSignedAtMs = lastSignedAt.map(StoredTime.milliseconds) ?? 0
            $0.signerKeyID = signerKeyID ?? ""
            $0.unsignedRecords = Int64(unsignedRecords)
            $0.anchored = anchored
            $0.intact = isIntact
            $0.problemSequence = problem?.sequence ?? 0
            $0.problem = problem?.message ?? ""
            $0.problemCount = Int32(clamping: problemCount)
        }
    }

    /// A report received from the admin API.
    public init(wire: Matryoshka_V1_VerifyAuditResponse) {
        self.init()
        records = Int(wire.records)
        lastSequence = wire.lastSequence
        lastHash = wire.lastHash
        signedHeads = Int(wire.signedHeads)
        lastSignedSequence = wire.lastSignedSequence
        lastSignedAt = wire.lastSignedAtMs == 0 ? nil : StoredTime.date(wire.lastSignedAtMs)
        signerKeyID = wire.signerKeyID.isEmpty ? nil : wire.signerKeyID
        unsignedRecords = Int(wire.unsignedRecords)
        anchored = wire.anchored
        problem = wire.intact ? nil : Problem(sequence: wire.problemSequence, message: wire.problem)
        problemCount = Int(wire.problemCount)
    }
}
