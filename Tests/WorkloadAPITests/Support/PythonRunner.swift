import Foundation
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Runs a Python script with a bounded wait.
enum PythonRunner {
    typealias Output = CommandOutput

    /// Whether `python3 -c 'import spiffe'` works (py-spiffe installed).
    static let spiffeAvailable: Bool = ExternalCommand.runBeforeTests("python3", ["-c", "import spiffe"])?.succeeded ?? false

    /// The interpreter behind `python3` (pyenv's `python3` is a shell shim).
    static let interpreter: String? = {
        guard let output = ExternalCommand.runBeforeTests("python3", ["-c", "import sys; print(sys.executable)"]), output.succeeded else {
            return nil
        }
        let path = output.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        return path.isEmpty ? nil : path
    }()

    /// Whether a test may run Python as another user: root, `setpriv` and py-spiffe are present.
    static var canRunAsOtherUser: Bool {
        getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") && spiffeAvailable && interpreter != nil
    }

    /// Runs `python3 <arguments>` and returns its exit status and output; kills it after `timeout`.
    ///
    /// With `uid`, the interpreter runs as that user and group (through `setpriv`), keeping only
    /// `CAP_DAC_READ_SEARCH` so it can read the interpreter and script under root-only
    /// directories; it grants no write access, so connecting to the socket still depends on the
    /// socket's mode.
    static func run(_ arguments: [String], environment: [String: String], timeout: Double, uid: UInt32? = nil) async throws -> Output {
        var command = ["python3"] + arguments
        if let uid {
            guard let interpreter else { throw TestFailure("no python3 interpreter") }
            command = [
                "/usr/bin/setpriv", "--reuid=\(uid)", "--regid=\(uid)", "--clear-groups",
                "--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search", interpreter,
            ] + arguments
        }
        var merged = ProcessInfo.processInfo.environment
        merged.merge(environment) { _, new in new }
        let output = try await ExternalCommand.run("/usr/bin/env", command, environment: merged, timeout: .milliseconds(Int(timeout * 1000)))
        if output.timedOut {
            throw TestFailure("python3 \(arguments.joined(separator: " ")) did not finish within \(timeout) s; stderr: \(output.stderr)")
        }
        return output
    }
}
