import Attestation
import Authority
import Crypto
import Foundation
import Lineage
import SPIFFE
import Testing
import X509

@testable import Server

/// What the server checks before it signs a child's SVID, attacked one rule at a time through the
/// real Issuer and CallerAuthenticator: the lineage link a layer sends for its child must be
/// fresh, extend the layer's own current lineage, be signed by its key and name the child's ID,
/// key and selectors; a layer may only ask for its own entries; a child never gets more lifetime
/// or audiences than any layer above it. Every refusal is audited.
///
/// (The offline checks of a whole lineage — forged, reordered, truncated, replayed links — are in
/// LineageTests/AttackTests; these are the server's checks of one new link.)
@Suite("Child SVID requests the server refuses")
struct ChildRequestAttackTests {
    struct Stack {
        let fixture: LineageFixture
        let agent: LineageFixture.Layer
        /// A nested layer under the agent, allowed the audience `a` only.
        let pod: LineageFixture.Layer
        /// A nested layer under the pod whose own entry sets no audience limit.
        let runner: LineageFixture.Layer
        let entries: [String: RegistrationEntry]
    }

    static func stack() async throws -> Stack {
        let td = try TrustDomain("example.org")
        func entry(_ path: String, parent: String, nested: Bool, wildcard: Bool = false, audiences: [String] = []) throws -> RegistrationEntry {
            RegistrationEntry(
                id: "entry" + path.replacingOccurrences(of: "/", with: "-"), spiffeID: try SPIFFEID(trustDomain: td, path: path),
                isWildcard: wildcard, parentID: try SPIFFEID(trustDomain: td, path: parent), selectors: [try Selector("unix:uid:1000")],
                audiences: audiences, nested: nested)
        }
        let entries = [
            "pod": try entry("/pod", parent: "/agent/node-1", nested: true, audiences: ["a"]),
            "runner": try entry("/pod/runner", parent: "/pod", nested: true),
            "step": try entry("/pod/runner/step", parent: "/pod/runner", nested: false),
            "task": try entry("/pod/runner/task", parent: "/pod/runner", nested: false, wildcard: true),
            "sibling": try entry("/pod/sibling", parent: "/pod", nested: false),
        ]
        let fixture = try await LineageFixture(entries: Array(entries.values))
        let agent = try await fixture.agent()
        let pod = try await authenticated(try await fixture.child(of: agent, entry: entries["pod"]!), fixture)
        let runner = try await authenticated(try await fixture.child(of: pod, entry: entries["runner"]!), fixture)
        return Stack(fixture: fixture, agent: agent, pod: pod, runner: runner, entries: entries)
    }

    /// The layer as the node API sees it when it presents its SVID.
    static func authenticated(_ layer: LineageFixture.Layer, _ fixture: LineageFixture) async throws -> LineageFixture.Layer {
        let caller = try await fixture.authenticator.authenticate(chain: layer.chain)
        return LineageFixture.Layer(id: layer.id, key: layer.key, chain: layer.chain, caller: caller)
    }

    /// A child link `content` signed by `key`, DER-encoded.
    static func signed(_ content: LineageLink.Content, by key: SigningKey) throws -> [UInt8] {
        try LineageDER.encode(try LinkSignature.sign(content, with: key.certificatePrivateKey))
    }

    /// The link `parent` would honestly send for `childID` with `childKey`.
    static func honestContent(
        _ parent: LineageFixture.Layer, childID: String, childKey: SigningKey?, selectors: [String] = ["unix:uid:1000"],
        issuedAt: Date = Date(), lifetime: TimeInterval = 600
    ) throws -> LineageLink.Content {
        LineageLink.Content(
            spiffeID: childID, publicKey: childKey?.publicKey.spkiDER ?? [], attestor: "unix", selectors: selectors,
            issuedAt: Int64(issuedAt.timeIntervalSince1970), expiresAt: Int64(issuedAt.addingTimeInterval(lifetime).timeIntervalSince1970),
            previousLinkHash: try parent.lineage.lastLinkHash())
    }

    /// Asks for an X509-SVID as `caller`; returns the refusal (nil if it was signed).
    static func x509Refusal(
        _ stack: Stack, caller: LineageFixture.Layer, entry: String, requestedID: String = "", key: SigningKey, link: [UInt8]
    ) async throws -> IssuanceError? {
        let csr = try CertificateRequests.csr(for: key)
        do {
            _ = try await stack.fixture.issuer.mintX509SVID(
                caller: caller.caller, entryID: stack.entries[entry]!.id, requestedID: requestedID, csrDER: csr, linkDER: link)
            return nil
        } catch {
            return error
        }
    }

    static func lastRefusal(_ stack: Stack) async throws -> AuditEvent? {
        try await stack.fixture.store.auditRecords(from: 0, limit: 10_000).last { $0.event.kind == "svid.refuse" }?.event
    }

    @Test("the honest request is signed, so each refusal below is caused by the one thing it changes")
    func honestRequest() async throws {
        let stack = try await Self.stack()
        let key = try SigningKey(generating: .ecP256)
        let id = stack.entries["step"]!.spiffeID.description
        let link = try Self.signed(try Self.honestContent(stack.runner, childID: id, childKey: key), by: stack.runner.key)
        #expect(try await Self.x509Refusal(stack, caller: stack.runner, entry: "step", key: key, link: link) == nil)
    }

    @Test("a link signed by a key other than the caller's SVID key (forged) is refused")
    func forgedSignature() async throws {
        let stack = try await Self.stack()
        let key = try SigningKey(generating: .ecP256), stranger = try SigningKey(generating: .ecP256)
        let content = try Self.honestContent(stack.runner, childID: stack.entries["step"]!.spiffeID.description, childKey: key)
        for signer in [stranger, stack.pod.key, stack.agent.key] {
            let refusal = try await Self.x509Refusal(stack, caller: stack.runner, entry: "step", key: key, link: try Self.signed(content, by: signer))
            #expect(refusal == .permissionDenied("lineage link is not signed by \(stack.runner.id)'s SVID key"))
        }
        let audited = try #require(try await Self.lastRefusal(stack))
        #expect(audited.actor == stack.runner.id.description && audited.details["reason"]?.contains("not signed by") == true)
    }

    @Test("a link replayed from an earlier request (stale issued_at) is refused")
    func replayedLink() async throws {
        let stack = try await Self.stack()
        let key = try SigningKey(generating: .ecP256)
        let old = Date().addingTimeInterval(-300)
        let content = try Self.honestContent(stack.runner, childID: stack.entries["step"]!.spiffeID.description, childKey: key, issuedAt: old)
        let refusal = try await Self.x509Refusal(stack, caller: stack.runner, entry: "step", key: key, link: try Self.signed(content, by: stack.runner.key))
        #expect(refusal?.description.contains("it must be fresh (replayed?)") == true, "\(String(describing: refusal))")
    }

    @Test("a link that extends another lineage (a sibling's, or the caller's previous SVID) is refused")
    func linkOnAnotherLineage() async throws {
        let stack = try await Self.stack()
        let key = try SigningKey(generating: .ecP256)
        var content = try Self.honestContent(stack.runner, childID: stack.entries["step"]!.spiffeID.description, childKey: key)
        // The runner signs, but the link continues the pod's lineage (a truncated chain: the
        // runner's own hop left out).
        content.previousLinkHash = try stack.pod.lineage.lastLinkHash()
        let refusal = try await Self.x509Refusal(stack, caller: stack.runner, entry: "step", key: key, link: try Self.signed(content, by: stack.runner.key))
        #expect(refusal == .permissionDenied("lineage link does not extend \(stack.runner.id)'s current lineage (forged, replayed or stale link)"))

        // The runner's earlier SVID (before a renewal): a link made on it no longer extends the
        // lineage of the SVID the runner now presents.
        let renewed = try await Self.authenticated(try await stack.fixture.child(of: stack.pod, entry: stack.entries["runner"]!), stack.fixture)
        let stale = try Self.signed(try Self.honestContent(stack.runner, childID: content.spiffeID, childKey: key), by: stack.runner.key)
        let staleRefusal = try await Self.x509Refusal(stack, caller: renewed, entry: "step", key: key, link: stale)
        #expect(staleRefusal?.description.contains("does not extend") == true, "\(String(describing: staleRefusal))")
    }

    @Test("a link naming another ID, another key, or not attesting the entry's selectors is refused")
    func linkThatDoesNotDescribeTheChild() async throws {
        let stack = try await Self.stack()
        let key = try SigningKey(generating: .ecP256), other = try SigningKey(generating: .ecP256)
        let step = stack.entries["step"]!.spiffeID.description
        let otherID = try Self.signed(try Self.honestContent(stack.runner, childID: step + "2", childKey: key), by: stack.runner.key)
        #expect(try await Self.x509Refusal(stack, caller: stack.runner, entry: "step", key: key, link: otherID)
                == .permissionDenied("lineage link names \(step)2, the request is for \(step)"))
        let otherKey = try Self.signed(try Self.honestContent(stack.runner, childID: step, childKey: other), by: stack.runner.key)
        #expect(try await Self.x509Refusal(stack, caller: stack.runner, entry: "step", key: key, link: otherKey)
                == .permissionDenied("lineage link key is not the key of the CSR"))
        let noSelectors = try Self.signed(try Self.honestContent(stack.runner, childID: step, childKey: key, selectors: ["unix:uid:0"]), by: stack.runner.key)
        #expect(try await Self.x509Refusal(stack, caller: stack.runner, entry: "step", key: key, link: noSelectors)
                == .permissionDenied("lineage link does not attest the entry's selectors (unix:uid:1000)"))
        #expect(try await Self.x509Refusal(stack, caller: stack.runner, entry: "step", key: key, link: [])
                == .invalidRequest("the request carries no lineage link: the parent layer must vouch for its child"))

        // The link's key is compared as bytes: the CSR's key in another encoding (compressed
        // point), a truncated key, garbage, or none at all is not the key of the CSR.
        var compressed = try Self.honestContent(stack.runner, childID: step, childKey: key)
        compressed.publicKey = Array(try P256.Signing.PublicKey(derRepresentation: compressed.publicKey).compressedRepresentation)
        var truncated = try Self.honestContent(stack.runner, childID: step, childKey: key)
        truncated.publicKey.removeLast()
        var garbage = try Self.honestContent(stack.runner, childID: step, childKey: key)
        garbage.publicKey = [0x30, 0x03, 0x02, 0x01, 0x00]
        let keyless = try Self.honestContent(stack.runner, childID: step, childKey: nil)
        for content in [compressed, truncated, garbage, keyless] {
            #expect(try await Self.x509Refusal(stack, caller: stack.runner, entry: "step", key: key, link: try Self.signed(content, by: stack.runner.key))
                    == .permissionDenied("lineage link key is not the key of the CSR"))
        }
    }

    @Test("a JWT-SVID's lineage link carrying a key is refused")
    func jwtLinkWithAKey() async throws {
        let stack = try await Self.stack()
        let step = stack.entries["step"]!
        let link = try Self.signed(
            try Self.honestContent(stack.runner, childID: step.spiffeID.description, childKey: try SigningKey(generating: .ecP256), lifetime: 120),
            by: stack.runner.key)
        await #expect(throws: IssuanceError.permissionDenied("a JWT-SVID's lineage link must not carry a key")) {
            _ = try await stack.fixture.issuer.mintJWTSVID(
                caller: stack.runner.caller, entryID: step.id, requestedID: "", audience: ["a"], linkDER: link)
        }
    }

    @Test("a layer asking for an entry registered under another parent, or a name its wildcard does not grant, is refused")
    func entriesOfOthers() async throws {
        let stack = try await Self.stack()
        let key = try SigningKey(generating: .ecP256)
        let sibling = stack.entries["sibling"]!
        let link = try Self.signed(try Self.honestContent(stack.runner, childID: sibling.spiffeID.description, childKey: key), by: stack.runner.key)
        let refusal = try await Self.x509Refusal(stack, caller: stack.runner, entry: "sibling", key: key, link: link)
        #expect(refusal == .permissionDenied("\(stack.runner.id) may not obtain a X509-SVID for \(sibling.spiffeID): its parent is \(stack.pod.id)"))
        let audited = try #require(try await Self.lastRefusal(stack))
        #expect(audited.actor == stack.runner.id.description && audited.subject == sibling.spiffeID.description)

        // A wildcard child: the caller chooses the last segment, nothing else.
        let task = stack.entries["task"]!.spiffeID.description
        let granted = try Self.signed(try Self.honestContent(stack.runner, childID: task + "/7", childKey: key), by: stack.runner.key)
        #expect(try await Self.x509Refusal(stack, caller: stack.runner, entry: "task", requestedID: task + "/7", key: key, link: granted) == nil)
        for outside in [task + "/7/deeper", stack.entries["step"]!.spiffeID.description, sibling.spiffeID.description] {
            let link = try Self.signed(try Self.honestContent(stack.runner, childID: outside, childKey: key), by: stack.runner.key)
            let refusal = try await Self.x509Refusal(stack, caller: stack.runner, entry: "task", requestedID: outside, key: key, link: link)
            #expect(refusal == .permissionDenied("\(outside) is not granted by entry \(task)/*"))
        }
    }

    @Test("a child asking to outlive its parent is refused")
    func longerLifetime() async throws {
        let stack = try await Self.stack()
        let key = try SigningKey(generating: .ecP256)
        let step = stack.entries["step"]!.spiffeID.description
        let remaining = stack.runner.caller.expiresAt.timeIntervalSinceNow
        let link = try Self.signed(try Self.honestContent(stack.runner, childID: step, childKey: key, lifetime: remaining + 120), by: stack.runner.key)
        let refusal = try await Self.x509Refusal(stack, caller: stack.runner, entry: "step", key: key, link: link)
        #expect(refusal?.description.contains("exceeds the parent's remaining lifetime") == true, "\(String(describing: refusal))")
    }

    @Test("JWT audiences: a child gets none outside its parent's, nor outside any layer's above it")
    func widerAudience() async throws {
        let stack = try await Self.stack()
        func jwt(_ caller: LineageFixture.Layer, entry: String, _ audience: [String]) async throws -> IssuanceError? {
            let id = stack.entries[entry]!.spiffeID.description
            let link = try Self.signed(try Self.honestContent(caller, childID: id, childKey: nil, lifetime: 120), by: caller.key)
            do {
                _ = try await stack.fixture.issuer.mintJWTSVID(
                    caller: caller.caller, entryID: stack.entries[entry]!.id, requestedID: "", audience: audience, linkDER: link)
                return nil
            } catch {
                return error
            }
        }
        // The pod's entry allows `a`: its child, the runner, gets `a` and nothing else.
        #expect(try await jwt(stack.pod, entry: "runner", ["a"]) == nil)
        #expect(try await jwt(stack.pod, entry: "runner", ["b"]) == .permissionDenied("audience b is wider than the parent \(stack.pod.id) allows (a)"))
        // The runner's own entry sets no limit, but the pod's still binds the runner's children.
        #expect(stack.runner.caller.audienceLimits == [Caller.AudienceLimit(layer: stack.pod.id, audiences: ["a"])])
        #expect(try await jwt(stack.runner, entry: "step", ["a"]) == nil)
        #expect(try await jwt(stack.runner, entry: "step", ["a", "b"])
                == .permissionDenied("audience b is wider than the ancestor layer \(stack.pod.id) allows (a)"))
        let audited = try #require(try await Self.lastRefusal(stack))
        #expect(audited.details["reason"]?.contains("ancestor layer \(stack.pod.id)") == true)
    }
}
