import Foundation

@_exported import TestSupport

typealias ProcessResult = CommandOutput
typealias SubprocessError = CommandError

extension CommandError {
    init(description: String) { self.init(description) }
}

extension CommandOutput {
    var stderrLines: [Substring] { stderr.split(separator: "\n", omittingEmptySubsequences: true) }
}

/// External tools with bounded waits that never block the concurrency pool.
typealias Subprocess = ExternalCommand

/// A directory removed when the closure returns.
func withTemporaryDirectory<T>(_ body: (URL) async throws -> T) async throws -> T {
    let directory = try makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    return try await body(directory)
}

func makeTemporaryDirectory() throws -> URL {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("matryoshka-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    return directory
}

extension URL {
    /// Writes `contents` to `name` in this directory and returns the file's path.
    @discardableResult
    func write(_ name: String, _ contents: some DataProtocol) throws -> String {
        let url = appendingPathComponent(name)
        try Data(contents).write(to: url)
        return url.path
    }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        try write(name, Data(text.utf8))
    }

    func path(_ name: String) -> String { appendingPathComponent(name).path }
}
