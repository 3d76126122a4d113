import Foundation
import TestSupport
import Testing

/// The examples in `examples/` run as a user would run them, against the binary under test.
@Suite("Examples", .serialized)
struct ExampleTests {
    static var exampleDirectory: URL {
        URL(fileURLWithPath: #filePath)  // Tests/EndToEndTests/ExampleTests.swift
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("examples")
    }

    /// Runs `examples/NAME/run.sh` as a user would, against the binary under test, in a clean
    /// environment (no agent socket or admin socket of the caller's).
    static func run(_ name: String) async throws -> CommandOutput {
        let script = exampleDirectory.appendingPathComponent("\(name)/run.sh").path
        var environment = ProcessInfo.processInfo.environment
        environment["MATRYOSHKA"] = try Binary.require()
        environment.removeValue(forKey: "SPIFFE_ENDPOINT_SOCKET")
        environment.removeValue(forKey: "MATRYOSHKA_ADMIN_SOCKET")
        return try await ExternalCommand.run("/bin/bash", [script], environment: environment, timeout: .seconds(180))
    }

    @Test("examples/russian-doll: node → pod → runner → exec'd tasks; lineage shown and verified; revoking the runner refuses its tasks",
          .enabled(if: Tools.find("curl") != nil && Tools.openssl != nil))
    func russianDoll() async throws {
        let result = try await Self.run("russian-doll")
        #expect(result.succeeded, "\(result)")
        let output = result.stdout
        #expect(output.contains("lineage verified: 4 hops"), "\(output)")
        #expect(output.contains("spiffe://example.org/ci/runner/task/1"), "\(output)")
        #expect(output.contains("child identity revoked"), "\(output)")
        #expect(result.output.contains("certificate revoked"), "\(result)")
        #expect(output.contains("this child's SVID was revoked"), "\(output)")
    }

    @Test("examples/resource-service: a task reads with its X509-SVID and a JWT-SVID, another workload is refused, the access log carries lineage",
          .enabled(if: Tools.find("curl") != nil && Tools.find("python3") != nil))
    func resourceService() async throws {
        let result = try await Self.run("resource-service")
        #expect(result.succeeded, "\(result)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("allow /records/42") && $0.contains("x509 spiffe://example.org/ci/runner/task/7") }, "\(result)")
        #expect(lines.contains { $0.hasPrefix("allow /records/43") && $0.contains("jwt  spiffe://example.org/ci/runner/task/7") }, "\(result)")
        #expect(lines.contains { $0.hasPrefix("deny  /records/42") && $0.contains("spiffe://example.org/records") }, "\(result)")
        #expect(lines.filter { $0.contains("lineage:") && $0.contains("spiffe://example.org/ci/runner > spiffe://example.org/ci/runner/task/7") }.count == 2,
                "\(result)")
    }
}
