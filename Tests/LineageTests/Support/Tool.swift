import Foundation
import TestSupport

/// Command-line tools (openssl) for the interop checks.
enum Tool {
    static func run(_ executable: String, _ arguments: [String]) async throws -> CommandOutput {
        try await ExternalCommand.run(executable, arguments)
    }
}
