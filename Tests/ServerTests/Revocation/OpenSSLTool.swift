import Foundation
import TestSupport

/// The `openssl` command line, an X.509 implementation independent of ours; nil when it is not
/// installed (the interop checks are then skipped with a recorded note).
enum OpenSSL {
    static let path: String? = ExternalCommand.find("openssl")

    static func run(_ arguments: [String], in directory: URL) async throws -> CommandOutput {
        guard let path else { throw RevocationTestFailure("openssl is not installed") }
        return try await ExternalCommand.run(path, arguments, in: directory)
    }
}

struct RevocationTestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
