import ArgumentParser
import Foundation
import MatryoshkaCLI
import Server

struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "The tamper-evident audit log: who held which identity, when, under which parents.",
        subcommands: [Show.self, Verify.self])

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show",
            abstract: "Print audit records, oldest first.",
            discussion: """
                Every attestation, issuance (serial, lineage, TTL, requesting layer), refusal, revocation, \
                admin change and CA rotation is recorded. With --spiffe-id, the records about that \
                identity or made by it; with --subtree also those of every identity whose lineage passes \
                through it (every sub-task of a runner, with its credentials).

                --json prints one JSON object per line (sequence, time, kind, actor, subject, details, \
                previous_hash, hash), for SIEM export.

                  matryoshka audit show --spiffe-id spiffe://example.org/ci/runner --subtree --since 1h
                """)

        @Option(name: .long, help: "Only records about (or made by) this identity.") var spiffeID: String?
        @Flag(name: .long, help: "With --spiffe-id: also every identity whose lineage passes through it.") var subtree = false
        @Option(name: .long, help: ArgumentHelp("Only records from this time (RFC 3339) or this long ago (e.g. 1h).", valueName: "TIME")) var since: String?
        @OptionGroup var socket: AdminSocketOption
        @Flag(name: .long, help: "JSON lines, one record per line.") var json = false

        func run() async throws {
            let request = AuditOperations.ShowRequest(spiffeID: spiffeID, subtree: subtree, since: since)
            let json = json
            await perform { () async throws(CLIError) in
                try await AuditOperations.show(request, socketPath: socket.path) { records in
                    var text = ""
                    for record in records {
                        text += json ? AuditRecordFormat.jsonLine(record) + "\n" : AuditRecordFormat.text(record)
                    }
                    FileHandle.standardOutput.write(Data(text.utf8))
                }
            }
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "verify",
            abstract: "Check the audit log: the hash chain and the signed chain heads.",
            discussion: """
                Recomputes every record's hash and link, and checks every signed head (its signature by a \
                CA key, and that the record it names is unchanged). An edited, deleted, inserted, \
                reordered or truncated record is reported with the first bad record's sequence number, \
                and the exit status is 1.

                By default the running server checks its own log (through the admin socket) against \
                every CA certificate it holds. With --database the file is read directly (read-only; the \
                server may be running or not); --bundle then names the CA certificates (PEM) to trust, \
                else those stored in the same database are used.
                """)

        @Option(name: .long, help: ArgumentHelp("Verify this datastore file offline instead of asking the server.", valueName: "PATH")) var database: String?
        @Option(name: .long, help: ArgumentHelp("With --database: trusted CA certificates (PEM).", valueName: "FILE")) var bundle: String?
        @OptionGroup var socket: AdminSocketOption
        @OptionGroup var output: JSONFlag

        func validate() throws {
            if bundle != nil, database == nil { throw ValidationError("--bundle goes with --database") }
        }

        func run() async throws {
            let database = database
            let bundle = bundle
            let socketPath = socket.path
            let report: AuditVerification
            do {
                if let database {
                    report = try await AuditOperations.verify(databasePath: database, bundlePath: bundle)
                } else {
                    report = try await AuditOperations.verify(socketPath: socketPath)
                }
            } catch {
                fail(error)
            }
            print(output.json ? ReportFormat.json(report) : report.text, terminator: "")
            if !report.isIntact { throw ExitCode(1) }
        }
    }
}
