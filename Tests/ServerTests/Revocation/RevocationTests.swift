import Authority
import Foundation
import GRPCCore
import Lineage
import SPIFFE
import Testing
import X509

@testable import Server

/// Revocation over a five-layer lineage built through the real Issuer: agent > pod > runner >
/// task > step (each nested layer vouching for the next), with a sibling app under the pod.
@Suite("Revocation")
struct RevocationTests {
    struct Stack {
        let fixture: LineageFixture
        let agent: LineageFixture.Layer
        let pod: LineageFixture.Layer
        let app: LineageFixture.Layer
        let runner: LineageFixture.Layer
        let task: LineageFixture.Layer
        let step: LineageFixture.Layer
        let stepJWT: (token: String, tokenID: String)
        let entries: [String: RegistrationEntry]

        var all: [LineageFixture.Layer] { [agent, pod, app, runner, task, step] }
    }

    static func stack() async throws -> Stack {
        let agentPath = "/agent/node-1"
        let entries = [
            "pod": try LineageFixture.entry("/pod", parent: agentPath, nested: true),
            "app": try LineageFixture.entry("/pod/app", parent: "/pod", nested: false),
            "runner": try LineageFixture.entry("/ci/runner", parent: "/pod", nested: true),
            "task": try LineageFixture.entry("/ci/runner/task", parent: "/ci/runner", nested: true),
            "step": try LineageFixture.entry("/ci/runner/task/step", parent: "/ci/runner/task", nested: false),
        ]
        let fixture = try await LineageFixture(entries: Array(entries.values))
        let agent = try await fixture.agent(agentPath)
        let pod = try await fixture.child(of: agent, entry: entries["pod"]!)
        let app = try await fixture.child(of: pod, entry: entries["app"]!)
        let runner = try await fixture.child(of: pod, entry: entries["runner"]!)
        let task = try await fixture.child(of: runner, entry: entries["task"]!)
        let step = try await fixture.child(of: task, entry: entries["step"]!)
        let stepJWT = try await fixture.jwt(of: task, entry: entries["step"]!)
        return Stack(fixture: fixture, agent: agent, pod: pod, app: app, runner: runner, task: task, step: step, stepJWT: stepJWT, entries: entries)
    }

    func crlSerials(_ revocation: Revocation) async throws -> Set<String> {
        let crl = try #require(await revocation.snapshot.activeCRL)
        return Set(crl.entries.map(\.serialNumber.hexString))
    }

    /// The node API's view of a layer presenting its SVID: nil when accepted, else the refusal.
    func authenticationRefusal(_ layer: LineageFixture.Layer, _ fixture: LineageFixture) async -> RPCError? {
        do {
            _ = try await fixture.authenticator.authenticate(chain: layer.chain)
            return nil
        } catch {
            return error
        }
    }

    @Test("the lineage is five layers deep and every layer is recorded with its ancestors")
    func lineageIsRecorded() async throws {
        let stack = try await Self.stack()
        #expect(stack.step.lineage.spiffeIDs == [stack.agent, stack.pod, stack.runner, stack.task, stack.step].map(\.id.description))
        let record = try #require(try await stack.fixture.store.issuedSVID(serialNumber: stack.step.serial))
        #expect(record.ancestors.map(\.spiffeID) == [stack.agent.id, stack.pod.id, stack.runner.id, stack.task.id])
        #expect(record.ancestors.map(\.keyHash) == [stack.agent, stack.pod, stack.runner, stack.task].map(\.keyHash))
        #expect(record.publicKeyHash == stack.step.keyHash)
        let activeCA = try await stack.fixture.authorities.activeCA
        #expect(record.issuerKeyID == SHA256Hex.hex(activeCA.keyIdentifier))
        for layer in stack.all {
            #expect(await authenticationRefusal(layer, stack.fixture) == nil || layer.id == stack.app.id || layer.id == stack.step.id)
        }
    }

    @Test("revoking a layer by SPIFFE ID with its subtree revokes every descendant at every depth, and nothing else")
    func subtreeBySPIFFEID() async throws {
        let stack = try await Self.stack()
        let revocation = stack.fixture.revocation
        let changes = await revocation.changes()
        let revoked = try await revocation.revoke(spiffeID: stack.runner.id, subtree: true, reason: "compromised", by: "uid:0(root)")
        #expect(Set(revoked.map(\.serialNumber)) == [stack.runner.serial, stack.task.serial, stack.step.serial, stack.stepJWT.tokenID])
        #expect(revoked.allSatisfy { $0.revocationReason == "compromised" && $0.revokedBy == "uid:0(root)" })

        // Watchers hear of it at once.
        var iterator = changes.makeAsyncIterator()
        #expect(await iterator.next() != nil)
        let snapshot = await revocation.snapshot
        #expect(Set(snapshot.credentials.map(\.serialNumber)) == Set(revoked.map(\.serialNumber)))
        #expect(snapshot.wireCredentials.count == 4)

        // The CRL lists the X509-SVIDs (not the JWT-SVID), signed by the active CA.
        #expect(try await crlSerials(revocation) == [stack.runner.serial, stack.task.serial, stack.step.serial])
        let crl = try #require(snapshot.activeCRL)
        #expect(crl.isSigned(by: try await stack.fixture.authorities.activeCA.certificate))

        // The node API refuses the revoked layers and keeps serving the others.
        let refused = try #require(await authenticationRefusal(stack.task, stack.fixture))
        #expect(refused.code == .permissionDenied)
        #expect(refused.message.contains("SVID \(stack.task.serial)") && refused.message.contains("was revoked at"), "\(refused.message)")
        #expect(await authenticationRefusal(stack.runner, stack.fixture)?.code == .permissionDenied)
        #expect(await authenticationRefusal(stack.pod, stack.fixture) == nil)
        #expect(await authenticationRefusal(stack.agent, stack.fixture) == nil)
        #expect(await revocation.refusal(for: stack.app.chain[0], lineage: stack.app.lineage) == nil)
        #expect(await revocation.revocation(serialNumber: stack.stepJWT.tokenID) != nil)
    }

    @Test("revoking one credential without its subtree refuses its descendants as callers through their lineage, but leaves them off the CRL")
    func lineageOfARevokedAncestor() async throws {
        let stack = try await Self.stack()
        let revocation = stack.fixture.revocation
        let revoked = try await revocation.revoke(serialNumber: stack.runner.serial, subtree: false, reason: "r", by: "uid:0")
        #expect(revoked.map(\.serialNumber) == [stack.runner.serial])
        #expect(try await crlSerials(revocation) == [stack.runner.serial])
        let refused = try #require(await authenticationRefusal(stack.task, stack.fixture))
        #expect(refused.code == .permissionDenied)
        #expect(refused.message.contains("passes through \(stack.runner.id)") && refused.message.contains("was revoked at"), "\(refused.message)")
        #expect(await authenticationRefusal(stack.pod, stack.fixture) == nil)
        // Minting through the revoked layer, had it raced the revocation, is undone.
        let undone = await revocation.revokeIfCallerRevoked(stack.task.caller, issued: [stack.step.serial])
        #expect(undone != nil)
        #expect(await revocation.revocation(serialNumber: stack.step.serial) != nil)
        #expect(await revocation.revokeIfCallerRevoked(stack.pod.caller, issued: [stack.app.serial]) == nil)
    }

    @Test("a serial number's subtree is that credential's descendants only, not those of another SVID with the same ID")
    func subtreeBySerialFollowsTheKey() async throws {
        let stack = try await Self.stack()
        let otherRunner = try await stack.fixture.child(of: stack.pod, entry: stack.entries["runner"]!)
        let otherTask = try await stack.fixture.child(of: otherRunner, entry: stack.entries["task"]!)
        let revocation = stack.fixture.revocation
        // As openssl prints it: upper case, colons, leading zero byte dropped or not.
        let typed = stride(from: 0, to: stack.runner.serial.count, by: 2).map {
            let start = stack.runner.serial.index(stack.runner.serial.startIndex, offsetBy: $0)
            return String(stack.runner.serial[start..<stack.runner.serial.index(start, offsetBy: 2)])
        }.joined(separator: ":").uppercased()
        let revoked = try await revocation.revoke(serialNumber: typed, subtree: true, reason: "r", by: "uid:0")
        #expect(Set(revoked.map(\.serialNumber)) == [stack.runner.serial, stack.task.serial, stack.step.serial, stack.stepJWT.tokenID])
        #expect(await authenticationRefusal(otherRunner, stack.fixture) == nil)
        #expect(await authenticationRefusal(otherTask, stack.fixture) == nil)

        await #expect(throws: RevocationError.notFound("no credential with serial number 0123 (it may have expired and been pruned)")) {
            try await revocation.revoke(serialNumber: "123", subtree: false, reason: "r", by: "uid:0")
        }
        await #expect(throws: RevocationError.self) {
            try await revocation.revoke(serialNumber: "xyz", subtree: false, reason: "r", by: "uid:0")
        }
    }

    @Test("revoking a node evicts the agent and revokes everything it vouched for")
    func node() async throws {
        let stack = try await Self.stack()
        let revoked = try await stack.fixture.revocation.revoke(node: stack.agent.id, reason: "stolen", by: "uid:0")
        #expect(Set(revoked.map(\.serialNumber)) == Set(stack.all.map(\.serial) + [stack.stepJWT.tokenID]))
        #expect(try await stack.fixture.store.agent(id: stack.agent.id)?.evicted == true)
        for layer in stack.all where layer.id != stack.app.id && layer.id != stack.step.id {
            #expect(await authenticationRefusal(layer, stack.fixture)?.code == .permissionDenied, "\(layer.id)")
        }
        let audit = try await stack.fixture.store.auditRecords(from: 1, limit: 10_000)
        #expect(audit.contains { $0.event.kind == "agent.evict" && $0.event.subject == stack.agent.id.description })
        #expect(audit.contains { $0.event.kind == "revoke" && $0.event.details["scope"] == "node" && $0.event.details["revoked"] == "7" })
        await #expect(throws: RevocationError.self) {
            try await stack.fixture.revocation.revoke(node: try stack.fixture.id("/agent/none"), reason: "r", by: "uid:0")
        }
    }

    @Test("a pod whose node was found untrusted is told to move to a trusted node when it calls through that node's lineage")
    func untrustedNode() async throws {
        let stack = try await Self.stack()
        let fixture = stack.fixture
        var agent = try #require(try await fixture.store.agent(id: stack.agent.id))
        agent.untrustedReason = "re-attestation failed: PCR 16 mismatch"
        try await fixture.store.saveAgent(agent, audit: AuditEvent(kind: "agent.untrusted", actor: "server", subject: agent.spiffeID.description))
        _ = try await fixture.revocation.revoke(node: stack.agent.id, reason: "re-attestation failed", by: "server")

        let pod = try #require(await authenticationRefusal(stack.pod, fixture))
        #expect(pod.code == .permissionDenied)
        #expect(pod.message.hasPrefix("pod moved to an untrusted node: \(stack.pod.id) reaches the server through node \(stack.agent.id), which is untrusted (re-attestation failed: PCR 16 mismatch)"), "\(pod.message)")
        // Deeper layers hear the same; the node agent itself is refused as evicted.
        #expect(await authenticationRefusal(stack.task, fixture)?.message.contains("untrusted node") == true)
        #expect(await authenticationRefusal(stack.agent, fixture)?.message.contains("pod moved") == false)
    }

    @Test("a layer may revoke what it vouched for, at any depth below it, and nothing else")
    func vouched() async throws {
        let stack = try await Self.stack()
        let revocation = stack.fixture.revocation
        await #expect(throws: RevocationError.self) {
            try await revocation.revoke(serialNumbers: [stack.task.serial], vouchedBy: stack.step.caller, reason: "r")
        }
        await #expect(throws: RevocationError.self) {
            try await revocation.revoke(serialNumbers: [stack.app.serial], vouchedBy: stack.runner.caller, reason: "r")
        }
        do {
            _ = try await revocation.revoke(serialNumbers: [stack.app.serial], vouchedBy: stack.runner.caller, reason: "r")
        } catch {
            #expect(error.description.contains("did not vouch for \(stack.app.id)"), "\(error)")
            #expect(error.rpcError.code == .permissionDenied)
        }
        #expect(await revocation.revokedCount == 0)
        let audit = try await stack.fixture.store.auditRecords(from: 1, limit: 10_000)
        #expect(audit.contains { $0.event.kind == "revoke.refuse" && $0.event.actor == stack.runner.id.description })

        // The pod revokes its grandchild, the task: the task's own subtree goes with it.
        let revoked = try await revocation.revoke(serialNumbers: [stack.task.serial], vouchedBy: stack.pod.caller, reason: "task done")
        #expect(Set(revoked.map(\.serialNumber)) == [stack.task.serial, stack.step.serial, stack.stepJWT.tokenID])
        #expect(revoked.allSatisfy { $0.revokedBy == stack.pod.id.description })
        await #expect(throws: RevocationError.self) {
            try await revocation.revoke(serialNumbers: [], vouchedBy: stack.pod.caller, reason: "r")
        }
    }

    @Test("a restarted server knows what was revoked and numbers its CRLs on")
    func survivesRestart() async throws {
        let stack = try await Self.stack()
        _ = try await stack.fixture.revocation.revoke(spiffeID: stack.task.id, subtree: true, reason: "r", by: "uid:0")
        let firstNumber = try #require(await stack.fixture.revocation.snapshot.activeCRL?.crlNumber)
        let restarted = Revocation(store: stack.fixture.store, authorities: stack.fixture.authorities, logger: LineageFixture.logger)
        try await restarted.start()
        #expect(await restarted.revokedCount == 3)
        #expect(await restarted.refusal(for: stack.step.chain[0], lineage: stack.step.lineage) != nil)
        let crl = try #require(await restarted.snapshot.activeCRL)
        #expect(try #require(crl.crlNumber) > firstNumber)
        #expect(Set(crl.entries.map(\.serialNumber.hexString)) == [stack.task.serial, stack.step.serial])
    }

    @Test("expired revocations leave memory and the CRL at the next maintenance step")
    func expiry() async throws {
        let stack = try await Self.stack()
        let revocation = stack.fixture.revocation
        _ = try await revocation.revoke(spiffeID: stack.step.id, subtree: false, reason: "r", by: "uid:0")
        #expect(await revocation.revokedCount == 2)
        await revocation.maintain(now: Date().addingTimeInterval(4 * 3600))
        #expect(await revocation.revokedCount == 0)
        #expect(try await crlSerials(revocation).isEmpty)
    }
}
