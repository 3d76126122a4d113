import Foundation
import TestSupport
import Testing
import WorkloadAPI

@Suite("Server socket and lifecycle")
struct ServerLifecycleTests {
    @Test("the socket is world-connectable (0777) by default once listening")
    func defaultMode() async throws {
        let provider = try TestIdentityProvider.standard(pki: TestPKI())
        let mode = try await withTestServer(provider: provider) { _, address in
            try permissionBits(of: address.path)
        }
        #expect(mode == 0o777)
    }

    @Test("the socket mode is configurable")
    func configuredMode() async throws {
        let provider = try TestIdentityProvider.standard(pki: TestPKI())
        let mode = try await withTestServer(provider: provider, configure: { $0.socketMode = 0o660 }) { _, address in
            try permissionBits(of: address.path)
        }
        #expect(mode == 0o660)
    }

    @Test("a stale socket file is replaced, and the socket is removed on shutdown")
    func staleSocketReplaced() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("agent.sock")
        try makeStaleSocket(at: path)
        #expect(isSocket(path))
        let provider = try TestIdentityProvider.standard(pki: TestPKI())
        let staleAddress = try WorkloadAPIAddress(path: path)
        try await withTestServer(provider: provider, configure: { $0.address = staleAddress }) { _, address in
            #expect(address.path == path)
            let bundles = try await WorkloadAPIClient.withClient(address: address) { try await $0.fetchJWTBundles() }
            #expect(!bundles.bundles.isEmpty)
        }
        #expect(!fileExists(path), "the server removes its socket when it stops")
    }

    @Test("a socket another server is listening on is left alone")
    func liveSocketRefused() async throws {
        let provider = try TestIdentityProvider.standard(pki: TestPKI())
        _ = try await withTestServer(provider: provider) { _, address in
            let second = WorkloadAPIServer(configuration: .init(address: address, logger: quietLogger), provider: provider)
            let error = await #expect(throws: WorkloadAPIServerError.self) {
                try await withTimeout(10, "second server") { try await second.run() }
            }
            #expect(error == .socketInUse(path: address.path))
            // The first server still serves.
            _ = try await WorkloadAPIClient.withClient(address: address) { try await $0.fetchX509Bundles() }
        }
    }

    @Test("a regular file in the socket's place is not deleted")
    func regularFileRefused() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("agent.sock")
        try Data("not a socket".utf8).write(to: URL(fileURLWithPath: path))
        let server = WorkloadAPIServer(
            configuration: .init(address: try WorkloadAPIAddress(path: path), logger: quietLogger),
            provider: try TestIdentityProvider.standard(pki: TestPKI())
        )
        let error = await #expect(throws: WorkloadAPIServerError.self) {
            try await withTimeout(10, "server") { try await server.run() }
        }
        guard case .socketSetupFailed(let failedPath, let reason)? = error else {
            Issue.record("expected socketSetupFailed, got \(String(describing: error))")
            return
        }
        #expect(failedPath == path)
        #expect(reason.contains("not a socket"))
        #expect(fileExists(path))
        // Waiters learn that it will never listen.
        await #expect(throws: WorkloadAPIServerError.self) { try await server.waitUntilListening() }
    }

    @Test("a server runs once")
    func runsOnce() async throws {
        let provider = try TestIdentityProvider.standard(pki: TestPKI())
        try await withTestServer(provider: provider) { server, _ in
            await #expect(throws: WorkloadAPIServerError.alreadyStarted) { try await server.run() }
        }
    }

    @Test("cancelling the server ends open streams with Unavailable and stops well within the grace period")
    func gracefulShutdown() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let address = try WorkloadAPIAddress(path: directory.file("agent.sock"))
        let provider = try TestIdentityProvider.standard(pki: TestPKI())
        let server = WorkloadAPIServer(
            configuration: .init(address: address, shutdownGracePeriod: .seconds(20), logger: quietLogger),
            provider: provider
        )
        let (streamError, stopTime) = try await withTimeout(60, "graceful shutdown test") {
            try await WorkloadAPIClient.withClient(address: address) { client in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await server.run() }
                    _ = try await withTimeout(10, "server start") { try await server.waitUntilListening() }
                    let collector = StreamCollector<X509SVIDSet>()
                    let watching = Task { await collector.consume(client.watchX509Context()) }
                    defer { watching.cancel() }
                    _ = try await collector.waitForElements(1)
                    let start = ContinuousClock.now
                    group.cancelAll()
                    try await group.waitForAll()
                    let stopped = ContinuousClock.now - start
                    return (try await collector.waitForEnd(), stopped)
                }
            }
        }
        #expect(stopTime < .seconds(10), "took \(stopTime); the stream should not hold the shutdown")
        guard case .agentUnavailable(_, let detail)? = streamError as? WorkloadAPIClientError else {
            Issue.record("expected agentUnavailable, got \(String(describing: streamError))")
            return
        }
        #expect(detail.contains("shutting down"))
        #expect(!fileExists(address.path))
    }

    @Test("a request larger than the receive limit is refused with a clear error")
    func oversizedRequest() async throws {
        let provider = try TestIdentityProvider.standard(pki: TestPKI())
        let error = try await withTestServer(provider: provider, configure: { $0.maxReceiveMessageSize = 1024 }) { _, address in
            try await WorkloadAPIClient.withClient(address: address) { client in
                // A small request still works …
                _ = try await client.validateJWTSVID("valid.jwt.token", audience: "test-audience")
                // … a 4 KiB token does not.
                return await clientError {
                    try await client.validateJWTSVID(String(repeating: "a", count: 4096), audience: "test-audience")
                }
            }
        }
        guard case .messageTooLarge(let message)? = error else {
            Issue.record("expected messageTooLarge, got \(String(describing: error))")
            return
        }
        #expect(message.contains("1024"))
    }

    @Test("a client of a missing socket says so")
    func missingSocket() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("nope.sock")
        let error = try await withTimeout(30, "client of a missing socket") {
            try await WorkloadAPIClient.withClient(address: try WorkloadAPIAddress(path: path)) { client in
                await clientError { try await client.fetchX509Context() }
            }
        }
        #expect(error == .socketNotFound(path: path))
        #expect(error?.description == "agent socket \(path) not found (is the agent running?)")
    }

    @Test("a client of a stale socket says the agent is unavailable")
    func staleSocketClient() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("stale.sock")
        try makeStaleSocket(at: path)
        let error = try await withTimeout(30, "client of a stale socket") {
            try await WorkloadAPIClient.withClient(address: try WorkloadAPIAddress(path: path)) { client in
                await clientError { try await client.fetchJWTBundles() }
            }
        }
        guard case .agentUnavailable(let failedPath, _)? = error else {
            Issue.record("expected agentUnavailable, got \(String(describing: error))")
            return
        }
        #expect(failedPath == path)
    }
}
