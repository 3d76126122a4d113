import Authority
import Foundation
import Lineage
import SPIFFE
import Testing
import X509

@testable import Server

/// Many X509-SVIDs asked for in one node API call: each request is checked on its own (a refusal
/// touches no other), the answers keep the order of the requests, and every SVID handed out has
/// been recorded with its audit record.
@Suite("Batch X509-SVID issuance")
struct BatchIssuanceTests {
    /// A request from `parent` for `childID` under `entry`, with a fresh key and a link `parent`
    /// signs (or `linkSigner` instead, to forge it).
    static func request(
        from parent: LineageFixture.Layer, entry: RegistrationEntry, childID: SPIFFEID, linkSigner: SigningKey? = nil
    ) throws -> X509SVIDRequest {
        let key = try SigningKey(generating: .ecP256)
        let now = Date()
        let link = try LinkBuilder.child(
            of: parent.lineage, signedBy: parent.key.certificatePrivateKey, spiffeID: childID.description,
            publicKey: key.publicKey, attestor: "unix", selectors: entry.selectors.map(\.description), issuedAt: now,
            expiresAt: min(now.addingTimeInterval(600), parent.caller.expiresAt.addingTimeInterval(-1)))
        return X509SVIDRequest(
            entryID: entry.id, requestedID: entry.isWildcard ? childID.description : "", csrDER: try CertificateRequests.csr(for: key),
            linkDER: try linkSigner.map { try ChildRequestAttackTests.signed(link.content, by: $0) } ?? LineageDER.encode(link))
    }

    @Test func eachRequestIsDecidedOnItsOwnAndEverySVIDIsRecorded() async throws {
        let stack = try await ChildRequestAttackTests.stack()
        let fixture = stack.fixture
        let task = try #require(stack.entries["task"]), sibling = try #require(stack.entries["sibling"])
        var requests = try (0..<24).map { try Self.request(from: stack.runner, entry: task, childID: try fixture.id("/pod/runner/task/\($0)")) }
        // Not the runner's entry; a link signed by another key; an ID the wildcard does not grant.
        requests.insert(try Self.request(from: stack.runner, entry: sibling, childID: sibling.spiffeID), at: 3)
        requests.insert(
            try Self.request(from: stack.runner, entry: task, childID: try fixture.id("/pod/runner/task/forged"), linkSigner: SigningKey(generating: .ecP256)),
            at: 10)
        requests.append(try Self.request(from: stack.runner, entry: task, childID: try fixture.id("/pod/other/x")))
        let auditBefore = try await allAuditRecords(fixture.store).count

        let results = await fixture.issuer.mintX509SVIDs(caller: stack.runner.caller, requests: requests)

        #expect(results.count == requests.count)
        var serials: Set<String> = []
        for (index, result) in results.enumerated() {
            switch (index, result) {
            case (3, .failure(let error)):
                #expect(error.description.contains("may not obtain"))
            case (10, .failure(let error)):
                #expect(error.description.contains("not signed by"))
            case (requests.count - 1, .failure(let error)):
                #expect(error.description.contains("not granted"))
            case (_, .success(let svid)):
                let wanted = try #require(requests[index].requestedID.isEmpty ? nil : requests[index].requestedID)
                #expect(svid.spiffeID.description == wanted)
                #expect(try X509SVID.spiffeID(of: svid.chain[0]).description == wanted)
                let serial = svid.chain[0].serialNumber.hexString
                serials.insert(serial)
                let recorded = try #require(try await fixture.store.issuedSVID(serialNumber: serial))
                #expect(recorded.spiffeID == svid.spiffeID && recorded.requestedBy == stack.runner.id)
                #expect(recorded.ancestors.count == 3)
            default:
                Issue.record("request \(index): unexpected \(result)")
            }
        }
        #expect(serials.count == 24)
        let audit = try await allAuditRecords(fixture.store).dropFirst(auditBefore)
        #expect(audit.filter { $0.event.kind == "svid.issue" }.count == 24)
        #expect(audit.filter { $0.event.kind == "svid.refuse" }.count == 3)
    }

    @Test func aFailureToRecordHandsNothingOut() async throws {
        let stack = try await ChildRequestAttackTests.stack()
        let fixture = stack.fixture
        let task = try #require(stack.entries["task"])
        let requests = try (0..<5).map { try Self.request(from: stack.runner, entry: task, childID: try fixture.id("/pod/runner/task/\($0)")) }
        try fixture.store.close()
        let results = await fixture.issuer.mintX509SVIDs(caller: stack.runner.caller, requests: requests)
        #expect(results.count == 5)
        for result in results {
            guard case .failure(let error) = result else {
                Issue.record("an SVID was handed out although it could not be recorded")
                continue
            }
            #expect(error.description.contains("cannot record issuance"))
        }
    }
}
