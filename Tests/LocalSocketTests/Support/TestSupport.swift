import Foundation
import GRPCCore
import LocalSocket
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// A short-lived directory under /tmp (Unix socket paths must stay under 108 bytes).
final class TemporaryDirectory: Sendable {
    let path: String

    init() throws {
        var template = Array("/tmp/mls-XXXXXX".utf8CString)
        guard let result = template.withUnsafeMutableBufferPointer({ buffer in buffer.baseAddress.flatMap { mkdtemp($0) } }) else {
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

let quietLogger = Logger(label: "local-socket-tests") { _ in SwiftLogNoOpLogHandler() }

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

/// A server configuration on `test.sock` in `directory`, quiet and quick to drain.
func testConfiguration(in directory: TemporaryDirectory) -> LocalSocketServer.Configuration {
    LocalSocketServer.Configuration(
        path: directory.file("test.sock"), name: "test API", shutdownGracePeriod: .seconds(2), logger: quietLogger)
}

/// Starts `server`, runs `body` once it listens, then cancels it and waits (bounded) until it
/// has stopped.
@discardableResult
func whileServing<T: Sendable>(
    _ server: LocalSocketServer,
    _ body: @escaping @Sendable (String) async throws -> T
) async throws -> T {
    try await withTimeout(60, "test with a local socket server") {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                try await server.run()
                return nil
            }
            let outcome: Result<T, any Error>
            do {
                let path = try await withTimeout(10, "server start") { try await server.waitUntilListening() }
                outcome = .success(try await body(path))
            } catch {
                outcome = .failure(error)
            }
            group.cancelAll()
            while let _ = try await group.next() {}
            return try outcome.get()
        }
    }
}

/// A ``WhoAmIService`` server on a fresh socket, with the credentials interceptor unless told
/// otherwise.
func withWhoAmIServer<T: Sendable>(
    interceptors: [any ServerInterceptor] = [CallerCredentialsInterceptor()],
    configure: (inout LocalSocketServer.Configuration) -> Void = { _ in },
    _ body: @escaping @Sendable (String) async throws -> T
) async throws -> T {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    var configuration = testConfiguration(in: directory)
    configure(&configuration)
    let server = LocalSocketServer(configuration: configuration, services: [WhoAmIService()], interceptors: interceptors)
    return try await whileServing(server, body)
}
