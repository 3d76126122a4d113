import Foundation
import LocalSocket
import TestSupport
import Testing

@Suite("LocalSocketServer: the socket file and the server's lifecycle")
struct LocalSocketServerTests {
    @Test("the socket is owner-only (0600) by default once listening, and the mode is configurable")
    func socketMode() async throws {
        let defaultMode = try await withWhoAmIServer { path in try permissionBits(of: path) }
        #expect(defaultMode == 0o600)
        let configured = try await withWhoAmIServer(configure: { $0.socketMode = 0o660 }) { path in try permissionBits(of: path) }
        #expect(configured == 0o660)
    }

    @Test("waitUntilListening returns the socket path, and the server answers there")
    func listeningPath() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let configuration = testConfiguration(in: directory)
        let server = LocalSocketServer(configuration: configuration, services: [WhoAmIService()])
        let answer = try await whileServing(server) { path in
            #expect(path == configuration.path)
            return try await askWhoAmI(path: path, payload: [1, 2, 3])
        }
        #expect(answer.receivedBytes == 3)
    }

    @Test("a stale socket is replaced, and the socket is removed on shutdown")
    func staleSocketReplaced() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let configuration = testConfiguration(in: directory)
        try makeStaleSocket(at: configuration.path)
        #expect(isSocket(configuration.path))
        let server = LocalSocketServer(configuration: configuration, services: [WhoAmIService()])
        try await whileServing(server) { path in
            _ = try await askWhoAmI(path: path)
        }
        #expect(!fileExists(configuration.path), "the server removes its socket when it stops")
    }

    @Test("a socket another server is listening on is left alone")
    func liveSocketRefused() async throws {
        try await withWhoAmIServer { path in
            let second = LocalSocketServer(
                configuration: .init(path: path, logger: quietLogger), services: [WhoAmIService()])
            let error = await #expect(throws: LocalSocketServerError.self) {
                try await withTimeout(10, "second server") { try await second.run() }
            }
            #expect(error == .socketInUse(path: path))
            #expect(error?.description == "socket \(path) is in use by another running server")
            // The first server still serves.
            _ = try await askWhoAmI(path: path)
        }
    }

    @Test("a file that is not a socket is never deleted, and waiters learn the server will not listen")
    func regularFileRefused() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let configuration = testConfiguration(in: directory)
        try Data("not a socket".utf8).write(to: URL(fileURLWithPath: configuration.path))
        let server = LocalSocketServer(configuration: configuration, services: [WhoAmIService()])
        let error = await #expect(throws: LocalSocketServerError.self) {
            try await withTimeout(10, "server") { try await server.run() }
        }
        guard case .socketSetupFailed(let failedPath, let reason)? = error else {
            Issue.record("expected socketSetupFailed, got \(String(describing: error))")
            return
        }
        #expect(failedPath == configuration.path)
        #expect(reason.contains("not a socket"))
        #expect(fileExists(configuration.path))
        let waitError = await #expect(throws: LocalSocketServerError.self) { try await server.waitUntilListening() }
        guard case .notListening(let why)? = waitError else {
            Issue.record("expected notListening, got \(String(describing: waitError))")
            return
        }
        #expect(why.contains("not a socket"))
    }

    @Test("a socket path in a missing directory is refused with the reason")
    func missingDirectory() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("nope/test.sock")
        let server = LocalSocketServer(configuration: .init(path: path, logger: quietLogger), services: [WhoAmIService()])
        let error = await #expect(throws: LocalSocketServerError.self) {
            try await withTimeout(10, "server") { try await server.run() }
        }
        #expect(error == .socketSetupFailed(path: path, reason: "directory \(directory.file("nope")) does not exist"))
    }

    @Test("a configuration that cannot work is refused before anything is touched")
    func invalidConfiguration() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var configuration = testConfiguration(in: directory)
        configuration.socketMode = 0o4755
        let badMode = LocalSocketServer(configuration: configuration, services: [])
        await #expect(throws: LocalSocketServerError.invalidConfiguration("socket mode 4755 is not a permission mode (at most 777)")) {
            try await badMode.run()
        }
        configuration = testConfiguration(in: directory)
        configuration.maxReceiveMessageSize = 0
        let badSize = LocalSocketServer(configuration: configuration, services: [])
        await #expect(throws: LocalSocketServerError.invalidConfiguration("maximum receive message size must be positive, not 0")) {
            try await badSize.run()
        }
        #expect(!fileExists(configuration.path))
    }

    @Test("a server runs once")
    func runsOnce() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let server = LocalSocketServer(configuration: testConfiguration(in: directory), services: [WhoAmIService()])
        try await whileServing(server) { _ in
            await #expect(throws: LocalSocketServerError.alreadyStarted) { try await server.run() }
        }
        await #expect(throws: LocalSocketServerError.alreadyStarted) { try await server.run() }
    }

    @Test("a socket replaced by someone else while serving is not removed on shutdown")
    func replacedSocketKept() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let configuration = testConfiguration(in: directory)
        let server = LocalSocketServer(configuration: configuration, services: [WhoAmIService()])
        let ours = directory.file("ours.sock")
        try await whileServing(server) { path in
            // Ours moves aside (keeping its inode busy) and another socket takes the path.
            try FileManager.default.moveItem(atPath: path, toPath: ours)
            try makeStaleSocket(at: path)
        }
        #expect(isSocket(configuration.path), "another server's socket must survive our shutdown")
        #expect(isSocket(ours), "only the path is checked, never a file elsewhere")
    }

    @Test("cancelling the server calls onShutdown, drains, and stops well within the grace period")
    func gracefulShutdown() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var configuration = testConfiguration(in: directory)
        configuration.shutdownGracePeriod = .seconds(20)
        let shutdowns = ShutdownCounter()
        let server = LocalSocketServer(
            configuration: configuration, services: [WhoAmIService()], onShutdown: { await shutdowns.increment() })
        let stopTime = try await withTimeout(60, "graceful shutdown") {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await server.run() }
                let path = try await withTimeout(10, "server start") { try await server.waitUntilListening() }
                _ = try await askWhoAmI(path: path)
                let start = ContinuousClock.now
                group.cancelAll()
                try await group.waitForAll()
                return ContinuousClock.now - start
            }
        }
        #expect(stopTime < .seconds(10), "took \(stopTime)")
        #expect(await shutdowns.count == 1)
        #expect(!fileExists(configuration.path))
        await #expect(throws: LocalSocketServerError.self) { try await server.waitUntilListening() }
    }
}

/// Counts `onShutdown` calls.
actor ShutdownCounter {
    private(set) var count = 0
    func increment() { count += 1 }
}
