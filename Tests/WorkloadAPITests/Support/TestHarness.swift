import Foundation
import Logging
import WorkloadAPI

#if canImport(Glibc)
import Glibc
#endif

/// A short-lived directory under /tmp (Unix socket paths must stay under 108 bytes).
final class TemporaryDirectory: Sendable {
    let path: String

    init() throws {
        var template = Array("/tmp/mwa-XXXXXX".utf8CString)
        guard let result = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw TestFailure("mkdtemp failed: errno \(errno)")
        }
        path = String(cString: result)
    }

    func file(_ name: String) -> String { "\(path)/\(name)" }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs `body`, failing if it takes longer than `seconds`.
func withTimeout<T: Sendable>(
    _ seconds: Double,
    _ what: String = "operation",
    _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: .seconds(seconds))
            throw TestFailure("\(what) did not finish within \(seconds) s")
        }
        defer { group.cancelAll() }
        guard let result = try await group.next() else { throw TestFailure("\(what): no result") }
        return result
    }
}

let quietLogger = Logger(label: "workload-api-tests") { _ in SwiftLogNoOpLogHandler() }

/// Starts a real Workload API server on a fresh socket, runs `body` with it, then stops it and
/// checks it stopped in time.
@discardableResult
func withTestServer<T: Sendable>(
    provider: any WorkloadIdentityProvider,
    configure: (inout WorkloadAPIServer.Configuration) -> Void = { _ in },
    _ body: @escaping @Sendable (WorkloadAPIServer, WorkloadAPIAddress) async throws -> T
) async throws -> T {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let address = try WorkloadAPIAddress(path: directory.file("agent.sock"))
    var configuration = WorkloadAPIServer.Configuration(address: address, shutdownGracePeriod: .seconds(2), logger: quietLogger)
    configure(&configuration)
    let finalAddress = configuration.address
    let server = WorkloadAPIServer(configuration: configuration, provider: provider)
    return try await withTimeout(60, "test with a Workload API server") {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                try await server.run()
                return nil
            }
            let outcome: Result<T, any Error>
            do {
                _ = try await withTimeout(10, "server start") { try await server.waitUntilListening() }
                outcome = .success(try await body(server, finalAddress))
            } catch {
                outcome = .failure(error)
            }
            group.cancelAll()
            // The server must stop by itself after cancellation (graceful, bounded).
            while let _ = try await group.next() {}
            return try outcome.get()
        }
    }
}

/// The first element of an async sequence, within `seconds`.
func firstElement<S: AsyncSequence & Sendable>(
    of sequence: S,
    within seconds: Double = 10
) async throws -> S.Element where S.Element: Sendable {
    try await withTimeout(seconds, "waiting for a stream message") {
        var iterator = sequence.makeAsyncIterator()
        guard let element = try await iterator.next() else { throw TestFailure("stream ended") }
        return element
    }
}

/// The error a client call throws, or `nil` (recorded as an issue by the caller) if it succeeds.
func clientError<T>(_ body: () async throws -> T) async -> WorkloadAPIClientError? {
    do {
        _ = try await body()
        return nil
    } catch let error as WorkloadAPIClientError {
        return error
    } catch {
        return .callFailed(code: "not a WorkloadAPIClientError", message: "\(error)")
    }
}
