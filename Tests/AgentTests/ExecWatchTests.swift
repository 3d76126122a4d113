import Foundation
import MatryoshkaAPI
import Testing

@testable import Agent

/// The exec session's revocation watch, which follows the sync stream from before the child's
/// SVID exists, and the guard of its private socket.
@Suite("exec revocation watch and private socket guard")
struct ExecWatchTests {
    let fixture: AgentFixture

    init() throws {
        fixture = try AgentFixture()
    }

    static func revoking(_ svid: CachedSVID, reason: String) -> RevocationList {
        RevocationList(revoked: [Matryoshka_V1_RevokedCredential.with {
            $0.serialNumber = svid.serialNumber
            $0.spiffeID = svid.spiffeID.description
            $0.reason = reason
        }], crls: [])
    }

    @Test("revocations that arrive before the SVID is minted are held and judge it when it is given")
    func revokedBeforeWatched() async throws {
        let svid = try fixture.svid(for: try fixture.entry("/agent/task/1"))
        let watch = ExecRevocationWatch()
        #expect(await watch.update(Self.revoking(svid, reason: "compromised")) == nil, "no SVID to judge yet")
        #expect(await watch.revokedReason == nil)
        let reason = try #require(await watch.watch(svid))
        #expect(reason.contains("compromised"), "\(reason)")
        #expect(await watch.revokedReason == reason)
    }

    @Test("an update revoking the watched SVID says so once; later updates keep it refused")
    func revokedWhileWatched() async throws {
        let svid = try fixture.svid(for: try fixture.entry("/agent/task/1"))
        let other = try fixture.svid(for: try fixture.entry("/agent/task/2"))
        let watch = ExecRevocationWatch()
        #expect(await watch.watch(svid) == nil)
        #expect(await watch.update(Self.revoking(other, reason: "sibling")) == nil, "another credential's revocation")
        #expect(await watch.revokedReason == nil)
        let revoked = Self.revoking(svid, reason: "compromised")
        #expect(await watch.update(revoked)?.contains("compromised") == true)
        #expect(await watch.update(revoked) == nil, "an unchanged list is no news")
        #expect(await watch.update(RevocationList()) == nil)
        #expect(await watch.revokedReason?.contains("compromised") == true, "a revoked SVID stays refused")
    }

    @Test("the private socket serves nothing before the child is admitted, then only the child's process tree")
    func guardAdmitsOnlyTheChild() async throws {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/sleep")
        child.arguments = ["30"]
        try child.run()
        defer { child.terminate() }
        let guardian = ChildGuard<String>()
        guard case .refused(let early) = await guardian.admission(of: child.processIdentifier, patience: .milliseconds(50)) else {
            Issue.record("admitted before the child was")
            return
        }
        #expect(early.contains("has not started yet"))
        await guardian.admit(child.processIdentifier, serving: "the child's SVID")
        guard case .admitted(let served) = await guardian.admission(of: child.processIdentifier) else {
            Issue.record("the child was refused")
            return
        }
        #expect(served == "the child's SVID")
        guard case .refused(let stranger) = await guardian.admission(of: getpid()) else {
            Issue.record("a process outside the child's tree was admitted")
            return
        }
        #expect(stranger.contains("is not the exec'd child (pid \(child.processIdentifier))"), "\(stranger)")
    }

    @Test("a caller that arrives between the child's spawn and its admission waits for it")
    func earlyCallerWaitsForAdmission() async throws {
        let guardian = ChildGuard<String>()
        let pid = getpid()
        async let early = guardian.admission(of: pid, patience: .seconds(30))
        try await Task.sleep(for: .milliseconds(50))
        await guardian.admit(pid, serving: "served")
        guard case .admitted(let served) = await early else {
            Issue.record("the early caller was refused")
            return
        }
        #expect(served == "served")
    }
}
