import ArgumentParser
import Foundation
import MatryoshkaCLI

/// Prints a command's result, or its failure as one line on stderr with exit status 1.
func report<Report>(json: Bool, _ operation: () async throws(CLIError) -> Report, text: (Report) -> String) async
where Report: Encodable {
    do {
        let result = try await operation()
        print(json ? ReportFormat.json(result) : text(result), terminator: "")
    } catch {
        fail(error)
    }
}

/// Runs an operation that prints nothing on success.
func perform(_ operation: () async throws(CLIError) -> Void) async {
    do {
        try await operation()
    } catch {
        fail(error)
    }
}

/// Writes `error: <message>` to stderr and exits with status 1.
func fail(_ error: CLIError) -> Never {
    FileHandle.standardError.write(Data("error: \(error.message)\n".utf8))
    Foundation.exit(1)
}
