import Synchronization

/// The fixtures, built once by the global setup hook (building them is async: JWT signing is) and
/// read by every benchmark before it starts measuring.
final class SharedFixtures: Sendable {
    static let shared = SharedFixtures()

    private let storage = Mutex<Fixtures?>(nil)

    func prepare() async throws {
        if storage.withLock({ $0 }) != nil { return }
        let fixtures = try await Fixtures.make()
        storage.withLock { $0 = fixtures }
    }

    func get() throws -> Fixtures {
        guard let fixtures = storage.withLock({ $0 }) else { throw FixtureError("the fixtures were not prepared (Benchmark.setup did not run)") }
        return fixtures
    }
}
