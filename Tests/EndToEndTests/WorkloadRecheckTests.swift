import Foundation
import Testing
import TestSupport

/// Continuous workload attestation with real processes: a nested agent (a pod) serves only its
/// descendants and checks every second that each process holding an X509-SVID stream still is one.
/// A workload that escapes — its parent exits and it is re-parented away from the pod — loses its
/// stream, and the SVID it held is revoked (CRL, audit log) while the pod's other work goes on.
@Suite(
    "Workload re-check of running processes", .timeLimit(.minutes(3)),
    .enabled(if: Python.hasPySpiffe, "py-spiffe is not installed (pip install spiffe)"))
struct WorkloadRecheckTests {
    struct Held: Decodable {
        struct Update: Decodable { let spiffe_id: String; let serial: String }
        let updates: [Update]
        let errors: [String]
    }

    @Test("a workload that escapes the pod loses its stream, and its SVID is revoked and audited")
    func escapedWorkloadIsRevoked() async throws {
        try await Deployment.with { deployment in
            let node = try await deployment.startServerAndAgent(http: true)
            let pod = deployment.id("/pod"), job = deployment.id("/pod/job")
            let podEntry = try await deployment.createEntry(spiffeID: pod, ["--nested"])
            try await deployment.createEntry(spiffeID: job, parentID: podEntry.spiffeID)
            try await deployment.waitForSVIDs([pod], agent: node)

            // The pod hosts a shell that starts the workload; the workload starts a holder of an
            // X509-SVID stream and exits once the holder is served, orphaning it.
            let out = deployment.directory.file("held.json")
            let python = try #require(Python.interpreter)
            let script = Python.script("workload_api.py")
            let command = "\(python) \(script) escape \"$SPIFFE_ENDPOINT_SOCKET\" \(out) 60 > \(deployment.directory.file("escape.json")); exec sleep 300"
            let podAgent = try await deployment.startNestedAgent(
                "pod", parent: node, allowNonDescendants: false, ["--workload-recheck-interval", "1", "--", "/bin/sh", "-c", command])

            let line = try await podAgent.process.waitFor(line: "workload re-check failed", timeout: .seconds(60))
            #expect(line.contains("is not a descendant of this nested agent"), "\(line)")

            let held = try await eventually("the holder's report", timeout: .seconds(30)) {
                FileManager.default.fileExists(atPath: out) ? try JSONDecoder().decode(Held.self, from: Data(contentsOf: URL(fileURLWithPath: out))) : nil
            }
            let first = try #require(held.updates.first, "the holder was served before it escaped")
            #expect(first.spiffe_id == job)
            #expect(!held.errors.isEmpty, "the stream ended with an error")

            // The SVID it held is revoked at the server: on the CRL and in the audit log, with the
            // pod agent as the actor of the failed re-check.
            let serial = first.serial.lowercased()
            try await eventually("the escaped workload's SVID on the CRL", timeout: .seconds(15), interval: .milliseconds(200)) {
                let pem = String(decoding: try await deployment.httpGet("/crl?format=pem"), as: UTF8.self)
                return try TPMAttestationTests.revokedSerials(pem).contains { Self.sameSerial($0, serial) } ? true : nil
            }
            try await eventually("the failed re-check in the audit log", timeout: .seconds(15), interval: .milliseconds(300)) {
                let lines = try AuditTests.lines(try await deployment.admin(["audit", "show", "--json"]))
                return lines.contains {
                    $0.kind == "workload.recheck.failed" && $0.actor == podAgent.agentID && $0.subject == job
                        && ($0.details["reason"] ?? "").contains("not a descendant")
                } ? true : nil
            }

            // Only the escaped holder's stream was cut: the pod agent itself goes on.
            #expect(podAgent.process.isRunning)
        }
    }

    /// Serial numbers as py-spiffe (no leading zeros) and swift-certificates print them.
    static func sameSerial(_ a: String, _ b: String) -> Bool {
        func trimmed(_ s: String) -> Substring { s.lowercased().drop { $0 == "0" } }
        return trimmed(a) == trimmed(b)
    }
}
