import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import SPIFFE

@testable import Server

#if canImport(Glibc)
import Glibc
#endif

struct AdminTestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

let quietServerLogger = Logger(label: "server-tests") { _ in SwiftLogNoOpLogHandler() }

/// A fresh directory with a short path (the admin socket's path must stay under 108 bytes),
/// removed when the body returns or throws.
func withShortTemporaryDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
    var template = Array("/tmp/msv-XXXXXX".utf8CString)
    guard let created = template.withUnsafeMutableBufferPointer({ buffer in buffer.baseAddress.flatMap { mkdtemp($0) } }) else {
        throw AdminTestFailure("mkdtemp failed: errno \(errno)")
    }
    let path = String(cString: created)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(path)
}

/// A server configuration for tests: loopback, any port, no HTTP endpoint.
func adminTestConfig(dataDirectory: String) throws -> ServerConfig {
    ServerConfig(
        trustDomain: try TrustDomain("example.org"), dataDirectory: dataDirectory,
        bindAddress: HostAndPort(host: "127.0.0.1", port: 0))
}

/// Runs `body`, failing if it takes longer than `seconds`.
func withDeadline<T: Sendable>(_ seconds: Double, _ what: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: .seconds(seconds))
            throw AdminTestFailure("\(what) did not finish within \(seconds) s")
        }
        defer { group.cancelAll() }
        guard let result = try await group.next() else { throw AdminTestFailure("\(what): no result") }
        return result
    }
}

/// Runs a real server in this process until `body` returns, then stops it (a cancellation, as
/// SIGTERM would) and waits until it has.
func whileServerRuns<T: Sendable>(
    _ config: ServerConfig,
    _ body: @escaping @Sendable (MatryoshkaServer) async throws -> T
) async throws -> T {
    let server = MatryoshkaServer(config: config, logger: quietServerLogger)
    return try await withDeadline(90, "test with a running server") {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                do {
                    try await server.run()
                } catch is CancellationError {
                    // Stopped as asked.
                }
                return nil
            }
            let outcome: Result<T, any Error>
            do {
                try await withDeadline(30, "server start") { try await server.waitUntilReady() }
                outcome = .success(try await body(server))
            } catch {
                outcome = .failure(error)
            }
            group.cancelAll()
            while let _ = try await group.next() {}
            return try outcome.get()
        }
    }
}

/// Runs `body` with the generated admin client connected to the socket at `path`.
func withAdminClient<T: Sendable>(
    socket path: String,
    _ body: @escaping @Sendable (Matryoshka_V1_Admin.Client<HTTP2ClientTransport.Posix>) async throws -> T
) async throws -> T {
    let transport = try HTTP2ClientTransport.Posix(target: .unixDomainSocket(path: path), transportSecurity: .plaintext)
    return try await withGRPCClient(transport: transport) { client in
        try await body(Matryoshka_V1_Admin.Client(wrapping: client))
    }
}

/// The permission bits and type of the file at `path`.
func socketMode(of path: String) throws -> (isSocket: Bool, mode: UInt32) {
    var info = stat()
    guard lstat(path, &info) == 0 else { throw AdminTestFailure("lstat(\(path)) failed: errno \(errno)") }
    return ((info.st_mode & S_IFMT) == S_IFSOCK, UInt32(info.st_mode) & 0o7777)
}
