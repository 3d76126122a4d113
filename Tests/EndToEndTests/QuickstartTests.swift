import Foundation
import Testing

/// `matryoshka quickstart`: server and agent in one process, an identity for the current user.
@Suite("Quickstart", .timeLimit(.minutes(2)))
struct QuickstartTests {
    @Test("quickstart --once passes its self-check; a second run reuses the data dir without a new join token")
    func onceTwice() async throws {
        try await Deployment.with { deployment in
            let directory = deployment.directory.file("qs")
            let user = Self.userName() ?? "uid-\(deployment.uid)"
            let identity = "spiffe://example.org/quickstart/user/\(user)"

            let first = try await deployment.cli(["quickstart", "--data-dir", directory, "--once"], timeout: .seconds(90))
            expectSuccess(first)
            #expect(first.stdoutLines.contains("self-check: this process holds \(identity)"), "\(first)")
            #expect(first.stdout.contains("Workload API socket  \(directory)/agent/workload.sock"))
            #expect(first.stderr.contains("node attested"), "the first run attests with a join token")
            #expect(first.errorLines.isEmpty, "\(first)")

            let second = try await deployment.cli(["quickstart", "--data-dir", directory, "--once"], timeout: .seconds(90))
            expectSuccess(second)
            #expect(second.stdoutLines.contains("self-check: this process holds \(identity)"), "\(second)")
            #expect(second.stderr.contains("using saved agent identity"), "\(second)")
            #expect(!second.stderr.contains("node attested"), "no new attestation on the second run: \(second)")
            #expect(!second.stderr.contains("join token generated"), "no new join token on the second run: \(second)")

            #expect(first.stderr.contains("entry created"))
            #expect(!second.stderr.contains("entry created"), "one entry for the user, not one per run: \(second)")
        }
    }

    static func userName() -> String? {
        guard let entry = getpwuid(getuid()), let name = entry.pointee.pw_name else { return nil }
        return String(cString: name)
    }
}
