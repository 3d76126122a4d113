import Attestation
import Foundation
import MatryoshkaAPI
import SPIFFE
import Testing
import WorkloadAPI

@testable import Agent

/// Continuous workload attestation: a process holding identities is checked again against the
/// entries it was served. These checks run against real processes (this one, and one that exits).
@Suite("Workload re-check")
struct WorkloadRecheckTests {
    let trustDomain: TrustDomain

    init() throws { trustDomain = try TrustDomain("example.org") }

    func entry(_ selectors: [Selector]) throws -> RegistrationEntry {
        RegistrationEntry(
            id: "e1", spiffeID: try SPIFFEID(trustDomain: trustDomain, path: "/app"),
            parentID: try SPIFFEID(trustDomain: trustDomain, path: "/agent"), selectors: selectors)
    }

    var me: CallerCredentials { CallerCredentials(pid: getpid(), uid: getuid(), gid: getgid()) }

    @Test("a process that still has its entries' selectors holds")
    func holds() async throws {
        let selectors = try await UnixWorkloadAttestor().attest(PeerProcess(pid: me.pid, uid: me.uid, gid: me.gid))
        let exe = try #require(selectors.first { $0.value.hasPrefix("sha256:") })
        let verdict = await WorkloadRecheck(caller: me).check(
            entries: [try entry([try Selector("unix:uid:\(me.uid)"), exe])], attestor: UnixWorkloadAttestor(), policy: .any)
        #expect(verdict == .holds)
    }

    @Test("a process whose executable no longer matches fails, naming what is missing")
    func executableChanged() async throws {
        // As if the process had exec'd another program: the entry wants a digest it does not have.
        let other = try Selector("unix:sha256:" + String(repeating: "0", count: 64))
        let verdict = await WorkloadRecheck(caller: me).check(
            entries: [try entry([try Selector("unix:uid:\(me.uid)"), other])], attestor: UnixWorkloadAttestor(), policy: .any)
        guard case .failed(let reason) = verdict else {
            Issue.record("expected a failed re-check, got \(verdict)")
            return
        }
        #expect(reason.contains("no longer has the selectors of spiffe://example.org/app") && reason.contains(other.description))
    }

    @Test("a process that left the nested agent's descendants fails")
    func notADescendant() async throws {
        // pid 1 is no descendant of this test process.
        let verdict = await WorkloadRecheck(caller: me).check(
            entries: [try entry([try Selector("unix:uid:\(me.uid)")])], attestor: UnixWorkloadAttestor(), policy: .descendantsOf(1 << 22))
        guard case .failed(let reason) = verdict else {
            Issue.record("expected a failed re-check, got \(verdict)")
            return
        }
        #expect(reason.contains("is not a descendant"))
    }

    @Test("a process that has exited is gone, which revokes nothing")
    func exited() async throws {
        let child = try SpawnedProcess(executable: "/bin/true", arguments: ["true"], environment: [:])
        let caller = CallerCredentials(pid: child.pid, uid: getuid(), gid: getgid())
        let recheck = WorkloadRecheck(caller: caller)
        _ = await child.wait()
        let verdict = await recheck.check(entries: [try entry([try Selector("unix:uid:\(me.uid)")])], attestor: UnixWorkloadAttestor(), policy: .any)
        guard case .gone = verdict else {
            Issue.record("expected gone, got \(verdict)")
            return
        }
    }
}
