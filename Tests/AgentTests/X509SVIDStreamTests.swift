import Attestation
import Authority
import Foundation
import Logging
import MatryoshkaAPI
import SPIFFE
import Testing
import WorkloadAPI

@testable import Agent

@Suite("X509-SVID stream: when the first set is sent, and when a stream ends")
struct X509SVIDStreamTests {
    let fixture: AgentFixture

    init() throws { fixture = try AgentFixture() }

    func entry(_ path: String, wildcard: Bool = false) throws -> RegistrationEntry { try fixture.entry(path, wildcard: wildcard) }
    func svid(for entry: RegistrationEntry) throws -> CachedSVID { try fixture.svid(for: entry) }
    func cache(_ entries: [RegistrationEntry]) async -> IdentityCache { await fixture.cache(entries) }

    /// A stream state over `cache` and the stream it feeds.
    func makeStream(
        _ cache: IdentityCache, firstSVIDTimeout: Duration = .seconds(15)
    ) -> (X509SVIDStream, AsyncThrowingStream<X509SVIDSet, any Error>) {
        let (stream, continuation) = AsyncThrowingStream<X509SVIDSet, any Error>.makeStream()
        let state = X509SVIDStream(
            cache: cache, selectors: [fixture.selector], continuation: continuation, held: HeldSVIDs(), logger: Logger(label: "test"), pid: 1,
            firstSVIDTimeout: firstSVIDTimeout)
        return (state, stream)
    }

    /// How the stream ended: the noIdentity detail it ended with, or nil if it ended without one.
    func ending(_ stream: AsyncThrowingStream<X509SVIDSet, any Error>) async -> String? {
        do {
            for try await _ in stream {}
            return nil
        } catch WorkloadAPIError.noIdentity(let detail) {
            return detail ?? ""
        } catch {
            return "unexpected \(error)"
        }
    }

    @Test("every SVID held: the first look sends the set at once")
    func everySVIDHeld() async throws {
        let web = try entry("/web"), api = try entry("/api")
        let cache = await cache([web, api])
        await cache.store(try svid(for: web))
        await cache.store(try svid(for: api))
        var (state, stream) = makeStream(cache)
        #expect(await state.look())
        #expect(state.hasAnswered)
        #expect(state.held.current.count == 2)
        var iterator = stream.makeAsyncIterator()
        let first = try #require(try await iterator.next())
        #expect(Set(first.svids.map(\.spiffeID)) == ["spiffe://example.org/web", "spiffe://example.org/api"])
        // Nothing changed: a second look sends nothing.
        #expect(await state.look())
        state.continuation.finish()
        #expect(try await iterator.next() == nil)
    }

    @Test("one of two SVIDs held: the first answer waits for the other, then sends both")
    func waitsForTheFullSet() async throws {
        let web = try entry("/web"), api = try entry("/api")
        let cache = await cache([web, api])
        await cache.store(try svid(for: web))
        var (state, stream) = makeStream(cache)
        #expect(await state.look())
        #expect(!state.hasAnswered, "sent a partial set before its 2 s wait for the rest")
        await cache.store(try svid(for: api))
        #expect(await state.look())
        #expect(state.hasAnswered)
        var iterator = stream.makeAsyncIterator()
        let first = try #require(try await iterator.next())
        #expect(first.svids.count == 2)
    }

    @Test("a wildcard entry does not hold back the first answer")
    func wildcardDoesNotWait() async throws {
        let web = try entry("/web"), tasks = try entry("/task", wildcard: true)
        let cache = await cache([web, tasks])
        await cache.store(try svid(for: web))
        var (state, _) = makeStream(cache)
        #expect(await state.look())
        #expect(state.hasAnswered)
    }

    @Test("no SVID by the deadline: the stream ends with no identity, and says why")
    func noSVIDByTheDeadline() async throws {
        let web = try entry("/web")
        var (state, stream) = makeStream(await cache([web]), firstSVIDTimeout: .zero)
        #expect(!(await state.look()))
        #expect(await ending(stream) == "no SVID has been issued for this workload yet")
    }

    @Test("no SVID yet, before the deadline: the stream keeps waiting")
    func noSVIDYet() async throws {
        var (state, _) = makeStream(await cache([try entry("/web")]))
        #expect(await state.look())
        #expect(!state.hasAnswered)
    }

    @Test("the workload's entries removed: the stream ends")
    func entriesRemoved() async throws {
        let web = try entry("/web")
        let cache = await cache([web])
        await cache.store(try svid(for: web))
        var (state, stream) = makeStream(cache)
        #expect(await state.look())
        await cache.apply(entries: [], bundle: fixture.bundle)
        #expect(!(await state.look()))
        #expect(await ending(stream) == "the entries for this workload were removed")
    }

    @Test("every SVID it was sent revoked: the stream ends at once, naming the identity")
    func servedSVIDRevoked() async throws {
        let web = try entry("/web")
        let cache = await cache([web])
        await cache.store(try svid(for: web))
        var (state, stream) = makeStream(cache)
        #expect(await state.look())
        await cache.discardAll(reason: "the layer's SVID was revoked")
        #expect(!(await state.look()))
        let detail = await ending(stream)
        #expect(detail?.contains("its X509-SVID for spiffe://example.org/web was revoked") == true, "\(detail ?? "nil")")
    }
}
