import Foundation
import Testing

@testable import MatryoshkaCLI

/// `audit show` flags, checked before anything is sent.
@Suite("audit show flags")
struct AuditShowRequestTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func sinceTakesATimeOrADurationBack() throws {
        #expect(try AuditOperations.time("2026-01-02T03:04:05Z", now: now) == Date(timeIntervalSince1970: 1_767_323_045))
        #expect(try AuditOperations.time("1h", now: now) == now.addingTimeInterval(-3600))
        #expect(throws: CLIError.self) { try AuditOperations.time("yesterday", now: now) }
    }

    @Test func subtreeNeedsAnIdentityAndIDsAreChecked() throws {
        #expect(throws: CLIError.self) { try AuditOperations.ShowRequest(subtree: true).wire(now: now) }
        #expect(throws: CLIError.self) { try AuditOperations.ShowRequest(spiffeID: "not-an-id").wire(now: now) }
        let wire = try AuditOperations.ShowRequest(spiffeID: "spiffe://example.org/ci/runner", subtree: true, since: "90s").wire(now: now)
        #expect(wire.spiffeID == "spiffe://example.org/ci/runner")
        #expect(wire.subtree)
        #expect(wire.sinceMs == 1_800_000_000_000 - 90_000)
    }
}
