import Foundation
import Testing

/// What a finished command left behind.
struct CommandResult: Sendable, CustomStringConvertible {
    let command: String
    let exit: ProcessExit
    let stdout: String
    let stderr: String

    /// The exit status (128 + signal when killed by a signal, as shells report it).
    var status: Int32 { exit.signaled ? 128 + exit.status : exit.status }

    var succeeded: Bool { exit == .success }

    var stdoutLines: [String] { Self.lines(stdout) }

    var stderrLines: [String] { Self.lines(stderr) }

    /// stdout without surrounding whitespace (a token, an ID).
    var output: String { stdout.trimmingCharacters(in: .whitespacesAndNewlines) }

    /// Lines the CLI wrote as its error report (`error: …`).
    var errorLines: [String] { stderrLines.filter { $0.hasPrefix("error: ") } }

    var description: String {
        "`\(command)` → \(exit)\nstdout:\n\(stdout.prefix(4000))\nstderr:\n\(stderr.prefix(4000))"
    }

    /// Decodes stdout as JSON (`--json` output).
    func json<T: Decodable>(_ type: T.Type) throws -> T {
        do {
            return try JSONDecoder.endToEnd.decode(T.self, from: Data(stdout.utf8))
        } catch {
            throw TestProcessError(description: "cannot decode \(T.self) from the output of \(self): \(error)")
        }
    }

    private static func lines(_ text: String) -> [String] {
        text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
    }
}

extension JSONDecoder {
    /// Dates as the CLI writes them (ISO 8601).
    static var endToEnd: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}

// MARK: Expectations

/// Expects the command to have succeeded; records its output otherwise.
@discardableResult
func expectSuccess(_ result: CommandResult, sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
    #expect(result.succeeded, "\(result)", sourceLocation: sourceLocation)
    return result.succeeded
}

/// Expects a refusal the way the CLI contract says: exit status 1, nothing on stdout, and one line
/// `error: …` on stderr that contains every fragment.
///
/// With `logs: true` (long-running commands such as `agent run`, which log to stderr before they
/// give up), other log lines may precede it, but the `error:` line must be the only one and the last.
func expectError(
    _ result: CommandResult, _ fragments: String..., logs: Bool = false, sourceLocation: SourceLocation = #_sourceLocation
) {
    expectError(result, fragments, logs: logs, sourceLocation: sourceLocation)
}

/// ``expectError(_:_:logs:sourceLocation:)`` with the fragments in an array.
func expectError(
    _ result: CommandResult, _ fragments: [String], logs: Bool = false, sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(result.exit == ProcessExit(status: 1, signaled: false), "\(result)", sourceLocation: sourceLocation)
    #expect(result.stdout.isEmpty, "nothing expected on stdout: \(result)", sourceLocation: sourceLocation)
    if logs {
        #expect(result.errorLines.count == 1, "exactly one error line expected: \(result)", sourceLocation: sourceLocation)
        #expect(result.stderrLines.last?.hasPrefix("error: ") == true, "the error line must be last: \(result)", sourceLocation: sourceLocation)
    } else {
        #expect(result.stderrLines.count == 1 && result.errorLines.count == 1, "exactly one line, `error: …`, expected on stderr: \(result)",
                sourceLocation: sourceLocation)
    }
    let message = result.errorLines.last ?? ""
    for fragment in fragments {
        #expect(message.contains(fragment), "error line should contain '\(fragment)': \(result)", sourceLocation: sourceLocation)
    }
}

// MARK: Waiting for conditions

/// Retries `attempt` until it returns a value, for at most `timeout`; an error it throws counts as
/// "not yet" and is reported if time runs out.
@discardableResult
func eventually<T>(
    _ what: String, timeout: Duration = .seconds(30), interval: Duration = .milliseconds(100),
    _ attempt: () async throws -> T?
) async throws -> T {
    let deadline = ContinuousClock.now + timeout
    var lastProblem = "no result"
    while true {
        do {
            if let value = try await attempt() { return value }
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            lastProblem = "\(error)"
        }
        guard ContinuousClock.now < deadline else {
            throw TestProcessError(description: "\(what): not within \(timeout) (last: \(lastProblem))")
        }
        try await Task.sleep(for: interval)
    }
}
