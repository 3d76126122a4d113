import Foundation
import MatryoshkaAPI
import SPIFFE
import Testing

@testable import Server

/// What agents report of their workload attestation decisions becomes audit records; a report that
/// is malformed is refused with a reason, and nothing from it is recorded.
@Suite("Workload attestation reports to the audit log")
struct WorkloadAttestationAuditTests {
    let trustDomain: TrustDomain
    let agent: SPIFFEID

    init() throws {
        trustDomain = try TrustDomain("example.org")
        agent = try SPIFFEID(trustDomain: trustDomain, path: "/agent/join_token/n1")
    }

    func report(_ change: (inout Matryoshka_V1_WorkloadAttestation) -> Void = { _ in }) -> Matryoshka_V1_WorkloadAttestation {
        var item = Matryoshka_V1_WorkloadAttestation.with {
            $0.timeMs = 1_700_000_000_000
            $0.pid = 4242
            $0.uid = 1000
            $0.gid = 1000
            $0.executable = "/usr/bin/python3"
            $0.selectorsSha256 = String(repeating: "ab", count: 32)
            $0.spiffeIds = ["spiffe://example.org/web"]
            $0.outcome = "served"
            $0.call = "x509"
            $0.count = 3
        }
        change(&item)
        return item
    }

    @Test("a served workload: who, which process, which identities, the evidence digest")
    func servedWorkload() throws {
        let event = try WorkloadAttestationAudit.event(report(), reportedBy: agent, trustDomain: trustDomain, now: Date())
        #expect(event.kind == "workload.attest")
        #expect(event.actor == agent.description)
        #expect(event.subject == "spiffe://example.org/web")
        #expect(event.details["pid"] == "4242" && event.details["uid"] == "1000")
        #expect(event.details["executable"] == "/usr/bin/python3")
        #expect(event.details["evidence_sha256"] == String(repeating: "ab", count: 32))
        #expect(event.details["count"] == "3")
    }

    @Test("refusals and failed re-checks have their own kinds; a refusal names the process")
    func refusalKinds() throws {
        let refused = try WorkloadAttestationAudit.event(
            report { $0.outcome = "no_match"; $0.spiffeIds = []; $0.reason = "no registration entry matches" },
            reportedBy: agent, trustDomain: trustDomain, now: Date())
        #expect(refused.kind == "workload.attest.failed" && refused.subject == "pid:4242" && refused.details["reason"] != nil)
        let recheck = try WorkloadAttestationAudit.event(
            report { $0.outcome = "recheck_failed"; $0.call = "recheck"; $0.reason = "not a descendant" },
            reportedBy: agent, trustDomain: trustDomain, now: Date())
        #expect(recheck.kind == "workload.recheck.failed")
    }

    @Test("malformed reports are refused with the reason", arguments: [
        ("outcome", "unknown outcome"),
        ("call", "unknown call"),
        ("pid", "pid must be positive"),
        ("count", "count must be at least 1"),
        ("digest", "selectors_sha256 must be 64 hex digits"),
        ("foreign", "is not a SPIFFE ID in example.org"),
        ("garbage-id", "is not a SPIFFE ID"),
        ("served-without-ids", "names the identities"),
        ("long", "limited to 4096 bytes"),
    ])
    func malformed(_ field: String, _ message: String) throws {
        let item = report { item in
            switch field {
            case "outcome": item.outcome = "maybe"
            case "call": item.call = "exec"
            case "pid": item.pid = 0
            case "count": item.count = 0
            case "digest": item.selectorsSha256 = "xyz"
            case "foreign": item.spiffeIds = ["spiffe://other.org/web"]
            case "garbage-id": item.spiffeIds = ["not an id"]
            case "served-without-ids": item.spiffeIds = []
            default: item.reason = String(repeating: "x", count: 5000)
            }
        }
        #expect {
            try WorkloadAttestationAudit.event(item, reportedBy: agent, trustDomain: trustDomain, now: Date())
        } throws: { error in
            (error as? WorkloadAttestationAudit.Invalid)?.message.contains(message) == true
        }
    }
}
