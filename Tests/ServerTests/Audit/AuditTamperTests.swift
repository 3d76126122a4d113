import Foundation
import GRDB
import Authority
import Logging
import SPIFFE
import Testing
import X509

@testable import Server

/// Direct edits to the database file — as someone holding it would make them with sqlite3 — are
/// each caught by the audit verifier, which names the first bad record.
@Suite("Audit log: tamper detection")
struct AuditTamperTests {
    static let logger = Logger(label: "audit-tests") { _ in SwiftLogNoOpLogHandler() }

    /// A file store with a CA (its creation is audited), `count` more records and a signed head
    /// over all of them; then `body`.
    func withSealedLog(count: Int = 8, _ body: (SQLiteDataStore, AuditSealer, AuthorityManager) async throws -> Void) async throws {
        try await withFileStore { store, _ in
            let authorities = AuthorityManager(
                store: store, settings: AuthorityManager.Settings(trustDomain: try TrustDomain("example.org"), caTTL: .seconds(24 * 3600)),
                logger: Self.logger)
            try await authorities.start()
            for index in 1...count {
                try await store.appendAudit(event("svid.refuse", subject: "spiffe://example.org/w/\(index)", details: ["reason": "test \(index)"]))
            }
            let sealer = AuditSealer(store: store, authorities: authorities, interval: .seconds(3600), logger: Self.logger)
            try #require(try await sealer.seal(reason: "test") != nil)
            try await body(store, sealer, authorities)
        }
    }

    func verify(_ store: SQLiteDataStore, _ authorities: AuthorityManager) async throws -> AuditVerification {
        let trusted = await authorities.bundle.x509Authorities
        return try await AuditVerifier(trustedCertificates: trusted).verify(store)
    }

    func records(_ store: SQLiteDataStore) async throws -> [AuditRecord] { try await allAuditRecords(store) }

    @Test func anIntactLogWithASignedHeadVerifies() async throws {
        try await withSealedLog { store, sealer, authorities in
            let all = try await records(store)
            var report = try await verify(store, authorities)
            #expect(report.isIntact, "\(String(describing: report.problem))")
            #expect(report.records == all.count)
            #expect(report.lastSignedSequence == all.last?.sequence)
            #expect(all.last?.event.kind == AuditSealer.eventKind, "the signing is itself audited, and covered by its head")
            #expect(report.unsignedRecords == 0)
            #expect(report.anchored)

            // Nothing new: nothing to sign. Something new: unsigned until the next signing.
            #expect(try await sealer.seal(reason: "again") == nil)
            try await store.appendAudit(event("entry.create", subject: "x"))
            report = try await verify(store, authorities)
            #expect(report.isIntact)
            #expect(report.unsignedRecords == 1)
            let head = try #require(try await sealer.seal(reason: "again"))
            #expect(head.sequence == Int64(all.count + 2))
            #expect(try await verify(store, authorities).unsignedRecords == 0)
        }
    }

    @Test func anEditedRecordIsNamed() async throws {
        try await withSealedLog { store, _, authorities in
            try await rawSQL(store, "UPDATE audit_log SET details = ? WHERE sequence = 5", [#"{"reason":"nothing to see"}"#])
            let report = try await verify(store, authorities)
            #expect(report.problem?.sequence == 5)
            #expect(report.problem?.message.contains("edited") == true, "\(report.problem?.message ?? "")")
        }
    }

    @Test func anEditedActorIsNamed() async throws {
        try await withSealedLog { store, _, authorities in
            try await rawSQL(store, "UPDATE audit_log SET actor = 'uid:0(root)' WHERE sequence = 2")
            #expect(try await verify(store, authorities).problem?.sequence == 2)
        }
    }

    @Test func aDeletedRecordIsNamed() async throws {
        try await withSealedLog { store, _, authorities in
            try await rawSQL(store, "DELETE FROM audit_log WHERE sequence = 4")
            let report = try await verify(store, authorities)
            #expect(report.problem?.sequence == 4)
            #expect(report.problem?.message.contains("missing") == true, "\(report.problem?.message ?? "")")
        }
    }

    @Test func aDeletedRecordWithTheRestRenumberedIsNamed() async throws {
        try await withSealedLog { store, _, authorities in
            try await rawSQL(store, "DELETE FROM audit_log WHERE sequence = 4")
            try await renumber(store, from: 5, by: -1)
            #expect(try await verify(store, authorities).problem?.sequence == 4)
        }
    }

    @Test func anInsertedRecordIsNamed() async throws {
        try await withSealedLog { store, _, authorities in
            // A well-formed record chained to record 3, slipped in as the new record 4.
            let before = try await records(store)
            try await renumber(store, from: 4, by: 1)
            let forged = AuditChain.record(
                for: AuditEvent(kind: "entry.create", actor: "uid:0(root)", subject: "spiffe://example.org/backdoor"),
                sequence: 4, previousHash: before[2].hash)
            try await store.database.write { db in try SQLiteAuditRow(forged).insert(db) }
            let report = try await verify(store, authorities)
            #expect(report.problem?.sequence == 4)
            #expect(report.problem?.message.contains("inserted") == true, "\(report.problem?.message ?? "")")
        }
    }

    @Test func anInsertedUnchainedRecordIsNamed() async throws {
        try await withSealedLog { store, _, authorities in
            try await renumber(store, from: 6, by: 1)
            try await rawSQL(store, """
                INSERT INTO audit_log (sequence, kind, actor, subject, details, time, previous_hash, hash)
                VALUES (6, 'entry.create', 'uid:0', 'x', '{}', 0, 'bogus', 'bogus')
                """)
            #expect(try await verify(store, authorities).problem?.sequence == 6)
        }
    }

    @Test func reorderedRecordsAreNamed() async throws {
        try await withSealedLog { store, _, authorities in
            try await rawSQL(store, "UPDATE audit_log SET sequence = -1 WHERE sequence = 3")
            try await rawSQL(store, "UPDATE audit_log SET sequence = 3 WHERE sequence = 4")
            try await rawSQL(store, "UPDATE audit_log SET sequence = 4 WHERE sequence = -1")
            #expect(try await verify(store, authorities).problem?.sequence == 3)
        }
    }

    @Test func aTruncatedLogIsNamed() async throws {
        try await withSealedLog { store, _, authorities in
            let last = try #require(try await records(store).last).sequence
            try await rawSQL(store, "DELETE FROM audit_log WHERE sequence > ?", [last - 3])
            let report = try await verify(store, authorities)
            #expect(report.problem?.sequence == last - 2)
            #expect(report.problem?.message.contains("truncated") == true, "\(report.problem?.message ?? "")")
        }
    }

    @Test func aRecomputedChainIsCaughtByTheSignedHead() async throws {
        try await withSealedLog { store, _, authorities in
            // Edit record 3, then recompute every hash after it: the chain alone looks intact.
            let all = try await records(store)
            let start = all[1].hash
            try await store.database.write { db in
                var previousHash = start
                for var record in all.dropFirst(2) {
                    if record.sequence == 3 { record.event.subject = "spiffe://example.org/someone-else" }
                    let rewritten = AuditChain.record(for: record.event, sequence: record.sequence, previousHash: previousHash)
                    try db.execute(sql: "DELETE FROM audit_log WHERE sequence = ?", arguments: [record.sequence])
                    try SQLiteAuditRow(rewritten).insert(db)
                    previousHash = rewritten.hash
                }
            }
            #expect(AuditChain.verify(try await records(store)) == nil)
            let report = try await verify(store, authorities)
            #expect(report.problem != nil)
            #expect((report.problem?.sequence ?? 0) >= 3)
            #expect(report.problem?.message.contains("signed") == true, "\(report.problem?.message ?? "")")
        }
    }

    @Test func aForgedHeadSignatureIsCaught() async throws {
        try await withSealedLog { store, _, authorities in
            try await rawSQL(store, "UPDATE audit_heads SET hash = ?", [String(repeating: "a", count: 64)])
            #expect(try await verify(store, authorities).problem?.message.contains("invalid signature") == true)
        }
    }

    @Test func aDeletedHeadIsCaught() async throws {
        try await withSealedLog { store, _, authorities in
            try await rawSQL(store, "DELETE FROM audit_heads")
            let report = try await verify(store, authorities)
            #expect(report.problem?.message.contains("head is missing") == true, "\(report.problem?.message ?? "")")
        }
    }

    @Test func aHeadSignedByAnUntrustedKeyIsCaught() async throws {
        try await withSealedLog { store, _, _ in
            let stranger = try CertificateAuthorityFixture.make()
            let report = try await AuditVerifier(trustedCertificates: [stranger]).verify(store)
            #expect(report.problem?.message.contains("not trusted") == true, "\(report.problem?.message ?? "")")
        }
    }

    /// Adds `delta` to the sequence of every record from `start` on (via a detour, since
    /// `sequence` is the primary key).
    func renumber(_ store: SQLiteDataStore, from start: Int64, by delta: Int64) async throws {
        try await rawSQL(store, "UPDATE audit_log SET sequence = -sequence WHERE sequence >= ?", [start])
        try await rawSQL(store, "UPDATE audit_log SET sequence = -sequence + ? WHERE sequence < 0", [delta])
    }
}

/// A self-signed CA certificate unrelated to the server's.
enum CertificateAuthorityFixture {
    static func make() throws -> Certificate {
        try CertificateAuthority.createRoot(trustDomain: try TrustDomain("example.org")).certificate
    }
}
