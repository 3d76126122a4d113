import Foundation
import GRPCCore
import SPIFFE

extension NodeService {
    /// The most decisions one report may carry.
    static let maximumWorkloadAttestationsPerReport = 1000

    /// Workload attestation happens on the agents (they see the caller's kernel credentials); they
    /// report each decision here so the server's audit log answers "which process held which
    /// identity, and which were refused". The caller is the actor of every record; the server's
    /// clock dates them (the agent's is kept as `observed_at`).
    func reportWorkloadAttestations(
        request: Matryoshka_V1_ReportWorkloadAttestationsRequest, context: ServerContext
    ) async throws -> Matryoshka_V1_ReportWorkloadAttestationsResponse {
        let caller = try await authenticator.authenticate(context)
        guard request.attestations.count <= Self.maximumWorkloadAttestationsPerReport else {
            throw RPCError(code: .invalidArgument, message: "at most \(Self.maximumWorkloadAttestationsPerReport) workload attestations per report (got \(request.attestations.count))")
        }
        let now = Date()
        var events: [AuditEvent] = []
        for (position, item) in request.attestations.enumerated() {
            do {
                events.append(try WorkloadAttestationAudit.event(item, reportedBy: caller.spiffeID, trustDomain: trustDomain, now: now))
            } catch {
                throw RPCError(code: .invalidArgument, message: "workload attestation \(position): \(error.message)")
            }
        }
        if request.dropped > 0 {
            events.append(AuditEvent(
                kind: "workload.attest.dropped", actor: caller.spiffeID.description, subject: caller.spiffeID.description,
                details: ["count": String(request.dropped), "reason": "the layer's report buffer was full"], time: now))
            logger.warning("a layer dropped workload attestation records", metadata: ["agent": "\(caller.spiffeID)", "dropped": "\(request.dropped)"])
        }
        do {
            try await store.appendAudit(events)
        } catch {
            throw error.rpcError
        }
        return Matryoshka_V1_ReportWorkloadAttestationsResponse.with { $0.recorded = Int32(clamping: events.count) }
    }
}

/// A reported workload attestation decision as an audit event: checked, bounded, normalised.
enum WorkloadAttestationAudit {
    static let outcomes: [String: String] = [
        "served": "workload.attest",
        "no_match": "workload.attest.failed",
        "refused": "workload.attest.failed",
        "failed": "workload.attest.failed",
        "recheck_failed": "workload.recheck.failed",
    ]
    static let calls: Set<String> = ["x509", "jwt", "x509_bundles", "jwt_bundles", "validate", "recheck"]
    static let maximumTextLength = 4096
    static let maximumIdentities = 64

    struct Invalid: Error {
        let message: String
    }

    static func event(
        _ item: Matryoshka_V1_WorkloadAttestation, reportedBy agent: SPIFFEID, trustDomain: TrustDomain, now: Date
    ) throws(Invalid) -> AuditEvent {
        guard let kind = outcomes[item.outcome] else {
            throw Invalid(message: "unknown outcome '\(item.outcome.prefix(64))' (expected one of \(outcomes.keys.sorted().joined(separator: ", ")))")
        }
        guard calls.contains(item.call) else {
            throw Invalid(message: "unknown call '\(item.call.prefix(64))' (expected one of \(calls.sorted().joined(separator: ", ")))")
        }
        guard item.pid > 0 else { throw Invalid(message: "pid must be positive") }
        guard item.count >= 1 else { throw Invalid(message: "count must be at least 1") }
        guard item.selectorsSha256.count == 64, item.selectorsSha256.allSatisfy(\.isHexDigit) else {
            throw Invalid(message: "selectors_sha256 must be 64 hex digits")
        }
        guard item.executable.utf8.count <= maximumTextLength, item.reason.utf8.count <= maximumTextLength else {
            throw Invalid(message: "executable and reason are limited to \(maximumTextLength) bytes")
        }
        guard item.spiffeIds.count <= maximumIdentities else {
            throw Invalid(message: "at most \(maximumIdentities) identities per decision")
        }
        var identities: [SPIFFEID] = []
        for text in item.spiffeIds {
            guard let id = try? SPIFFEID(text), id.trustDomain == trustDomain else {
                throw Invalid(message: "'\(text.prefix(256))' is not a SPIFFE ID in \(trustDomain)")
            }
            identities.append(id)
        }
        guard item.outcome != "served" || !identities.isEmpty else {
            throw Invalid(message: "a served workload names the identities it was entitled to")
        }
        var details: [String: String] = [
            "pid": String(item.pid), "uid": String(item.uid), "gid": String(item.gid),
            "evidence_sha256": item.selectorsSha256.lowercased(), "outcome": item.outcome, "call": item.call,
            "observed_at": StoredTime.date(item.timeMs).formatted(.iso8601),
        ]
        if !item.executable.isEmpty { details["executable"] = item.executable }
        if !identities.isEmpty { details["spiffe_ids"] = identities.map(\.description).joined(separator: " ") }
        if !item.reason.isEmpty { details["reason"] = item.reason }
        if item.count > 1 { details["count"] = String(item.count) }
        let subject = identities.first?.description ?? "pid:\(item.pid)"
        return AuditEvent(kind: kind, actor: agent.description, subject: subject, details: details, time: now)
    }
}
