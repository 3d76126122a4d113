import Attestation
import Foundation
import GRPCCore
import LocalSocket
import SPIFFE
import Testing

@testable import Server

#if canImport(Glibc)
import Glibc
#endif

@Suite("Admin API: every change audited with the caller's uid from the admin socket")
struct AdminCallerTests {
    /// How the audit log names the process running these tests.
    private var me: String {
        AdminCaller.auditName(of: CallerCredentials(pid: getpid(), uid: getuid(), gid: getgid()))
    }

    @Test("audit names are uid:<n>(<user>), or uid:<n> without a user name")
    func auditNameFormat() {
        #expect(AdminCaller.auditName(uid: 1000, userName: "alice") == "uid:1000(alice)")
        #expect(AdminCaller.auditName(uid: 4242, userName: nil) == "uid:4242")
        #expect(AdminCaller.auditName(of: CallerCredentials(pid: 1, uid: 0, gid: 0)) == "uid:0(root)")
        #expect(AdminCaller.auditName(of: CallerCredentials(pid: 1, uid: 3_999_999_999, gid: 0)) == "uid:3999999999")
    }

    @Test("a call whose context carries no credentials is refused with PermissionDenied")
    func unknownCallerRefused() async {
        let error = await #expect(throws: RPCError.self) {
            try await withServerContextRPCCancellationHandle { handle in
                let context = ServerContext(
                    descriptor: Matryoshka_V1_Admin.Method.CreateEntry.descriptor,
                    remotePeer: "unix:test", localPeer: "unix:test", cancellation: handle)
                return try AdminCaller.auditName(in: context)
            }
        }
        #expect(error?.code == .permissionDenied)
    }

    @Test("admin changes over the socket are audited with the caller's uid; spoofed metadata is ignored")
    func changesAuditedWithCallerUID() async throws {
        try await withShortTemporaryDirectory { directory in
            let config = try adminTestConfig(dataDirectory: directory + "/server")
            let socket = config.adminSocketPath
            let (mode, entryID) = try await whileServerRuns(config) { _ in
                // Ready means the admin socket listens, owner-only.
                let mode = try socketMode(of: socket)
                let entryID = try await withAdminClient(socket: socket) { admin in
                    let token = try await admin.generateJoinToken(.with { $0.ttlSeconds = 600 })
                    let entry = RegistrationEntry(
                        spiffeID: try SPIFFEID("spiffe://example.org/workload"),
                        parentID: try SPIFFEID(token.agentSpiffeID),
                        selectors: [try Selector("unix:uid:1000")])
                    let created = try await admin.createEntry(.with { $0.entry = entry.wire })
                    // A client cannot claim to be someone else.
                    _ = try await admin.deleteEntry(
                        .with { $0.id = created.id },
                        metadata: ["x-matryoshka-peer-cred": "pid=1;uid=4242;gid=4242"])
                    return created.id
                }
                return (mode, entryID)
            }
            #expect(mode.isSocket && mode.mode == 0o600)
            #expect(!FileManager.default.fileExists(atPath: socket), "the admin socket is removed on exit")

            let store = try SQLiteDataStore(path: config.databasePath)
            defer { try? store.close() }
            let records = try await store.auditRecords(from: 1, limit: 1000)
            let changes = records.filter { ["join_token.create", "entry.create", "entry.delete"].contains($0.event.kind) }
            #expect(changes.map(\.event.kind) == ["join_token.create", "entry.create", "entry.delete"])
            #expect(changes.last?.event.subject == entryID)
            for record in changes {
                #expect(record.event.actor == me, "\(record.event.kind)")
                #expect(record.event.actor.hasPrefix("uid:\(getuid())"))
            }
        }
    }

    @Test("a file that is not a socket in the admin socket's place stops the server and is kept")
    func regularFileRefused() async throws {
        try await withShortTemporaryDirectory { directory in
            let config = try adminTestConfig(dataDirectory: directory)
            try Data("precious".utf8).write(to: URL(fileURLWithPath: config.adminSocketPath))
            let server = MatryoshkaServer(config: config, logger: quietServerLogger)
            let error = await #expect(throws: ServerError.self) {
                try await withDeadline(60, "server with a file in the way") { try await server.run() }
            }
            #expect(error?.message.contains("not a socket") == true, "\(String(describing: error))")
            #expect(try String(contentsOfFile: config.adminSocketPath, encoding: .utf8) == "precious")
        }
    }
}
