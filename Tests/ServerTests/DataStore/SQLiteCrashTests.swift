import Foundation
import GRDB
import SPIFFE
import Testing

@testable import Server

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `kill -9` in the middle of writing. The test binary re-runs itself (`/proc/self/exe`) with an
/// environment variable that enables ``childWriter()``, which writes entries and issuances from
/// several tasks and logs each one whose call has returned; the parent kills it with SIGKILL after
/// a few hundred, then reopens the database. The writer never stops on its own while its parent
/// lives (a loaded machine may take long to reach a few hundred, and a parent starved of its turn
/// may look late), so the kill always lands mid-write.
@Suite("SQLite datastore: crash safety")
struct SQLiteCrashTests {
    static let databaseVariable = "MATRYOSHKA_TEST_CRASH_WRITER_DB"
    static let logVariable = "MATRYOSHKA_TEST_CRASH_WRITER_LOG"
    static var isChild: Bool { ProcessInfo.processInfo.environment[databaseVariable] != nil }

    #if os(Linux)
    @Test(.enabled(if: !isChild))
    func killDashNineMidWriteLosesNothingCommitted() async throws {
        try await withTemporaryDirectory { directory in
            let databasePath = directory.appendingPathComponent("server.sqlite").path
            let logPath = directory.appendingPathComponent("committed.log").path
            let child = Process()
            child.executableURL = URL(fileURLWithPath: "/proc/self/exe")
            child.arguments = ["--testing-library", "swift-testing", "--filter", "SQLiteCrashTests/childWriter"]
            var environment = ProcessInfo.processInfo.environment
            environment[Self.databaseVariable] = databasePath
            environment[Self.logVariable] = logPath
            child.environment = environment
            child.standardOutput = FileHandle.nullDevice
            child.standardError = FileHandle.nullDevice
            try child.run()

            let deadline = ContinuousClock.now + .seconds(120)
            while committedLines(logPath).count < 300, child.isRunning, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
            let wasRunning = child.isRunning
            kill(child.processIdentifier, SIGKILL)
            child.waitUntilExit()
            #expect(wasRunning, "the writer exited on its own (status \(child.terminationStatus)) before it was killed")
            #expect(child.terminationReason == .uncaughtSignal && child.terminationStatus == SIGKILL)

            let committed = committedLines(logPath)
            #expect(committed.count >= 300, "the writer logged only \(committed.count) writes")

            let store = try SQLiteDataStore(path: databasePath)
            defer { try? store.close() }
            let integrity = try await store.database.read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check") }
            #expect(integrity == ["ok"])

            let entryIDs = Set(try await store.listEntries(spiffeID: nil, parentID: nil).map(\.id))
            let records = try await allAuditRecords(store)
            #expect(AuditChain.verify(records) == nil)
            var issued: Set<String> = []
            for record in records where record.event.kind == "svid.issue" { issued.insert(record.event.subject) }
            for serial in issued { #expect(try await store.issuedSVID(serialNumber: serial) != nil, "\(serial) audited but missing") }
            let svidCount = try await store.database.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM issued_svids") }
            // Every change has exactly one audit record and every audit record its change.
            #expect(records.filter { $0.event.kind == "entry.create" }.map(\.event.subject).sorted() == entryIDs.sorted())
            #expect(svidCount == issued.count && records.count == entryIDs.count + issued.count)
            // Everything whose call returned is there.
            let lost = committed.filter { line in
                line.hasPrefix("svid-") ? !issued.contains(line) : !entryIDs.contains(line)
            }
            #expect(lost.isEmpty, "lost after kill -9: \(lost.prefix(10))")

            // And the store keeps working.
            let entry = try await store.createEntry(try sampleEntry(path: "/after-crash"), audit: event("entry.create", subject: "after"))
            #expect(try await store.entry(id: entry.id) != nil)
            #expect(AuditChain.verify(try await allAuditRecords(store)) == nil)
        }
    }
    #endif

    /// The lines of the log that were completely written (a kill may cut the last one).
    private func committedLines(_ path: String) -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        let text = String(decoding: data, as: UTF8.self)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        if !text.hasSuffix("\n"), !lines.isEmpty { lines.removeLast() }
        return lines
    }

    /// Runs only in the child process: writes until killed, or until its parent is gone (the
    /// child is then re-parented) or ten minutes have passed, so an aborted run leaves nothing behind.
    @Test(.enabled(if: isChild))
    func childWriter() async throws {
        let environment = ProcessInfo.processInfo.environment
        let databasePath = try #require(environment[Self.databaseVariable])
        let logPath = try #require(environment[Self.logVariable])
        let store = try SQLiteDataStore(path: databasePath)
        let log = open(logPath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        try #require(log >= 0)
        let stop = ContinuousClock.now + .seconds(600)
        let parent = getppid()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<4 {
                group.addTask {
                    var index = 0
                    let agent = try spiffeID("spiffe://example.org/agent/crash")
                    while ContinuousClock.now < stop, getppid() == parent {
                        let line: String
                        if index.isMultiple(of: 3) {
                            let serial = "svid-\(writer)-\(index)"
                            let now = Date()
                            try await store.recordIssuance(
                                IssuedSVIDRecord(
                                    serialNumber: serial, kind: .x509, spiffeID: agent, entryID: nil, requestedBy: agent,
                                    issuedAt: now, expiresAt: now.addingTimeInterval(3600)),
                                audit: event("svid.issue", subject: serial))
                            line = serial
                        } else {
                            let entry = try sampleEntry(id: "entry-\(writer)-\(index)", path: "/w\(writer)/\(index)")
                            _ = try await store.createEntry(entry, audit: event("entry.create", subject: entry.id))
                            line = entry.id
                        }
                        // Logged only after the call returned: the parent holds the store to it.
                        let bytes = Array((line + "\n").utf8)
                        _ = bytes.withUnsafeBytes { write(log, $0.baseAddress, $0.count) }
                        index += 1
                    }
                }
            }
            try await group.waitForAll()
        }
    }
}
