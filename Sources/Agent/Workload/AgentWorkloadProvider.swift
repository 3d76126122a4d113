import Attestation
import Foundation
import GRPCCore
import Logging
import MatryoshkaAPI
import SPIFFE
import WorkloadAPI

/// The agent's answers to the Workload API: it attests the caller from its kernel credentials,
/// matches the entries whose selectors the caller has, and serves what the cache holds for them.
struct AgentWorkloadProvider: WorkloadIdentityProvider {
    let cache: IdentityCache
    let attestor: any WorkloadAttestor
    let link: ServerLink
    let logger: Logger
    /// Which processes may be served at all.
    var callerPolicy: CallerPolicy = .any
    /// How long a stream waits for the first SVID of a freshly matched entry.
    var firstSVIDTimeout: Duration = .seconds(15)
    /// Where workload attestation decisions go (the server's audit log); nil: nowhere.
    var reporter: WorkloadAttestationReporter?
    /// How often a process holding an X509-SVID stream is checked again (``WorkloadRecheck``);
    /// nil: never.
    var recheckInterval: Duration?

    func x509SVIDUpdates(for caller: CallerCredentials) async throws -> AsyncThrowingStream<X509SVIDSet, any Error> {
        let selectors = try await attest(caller, call: .x509)
        let matched = await cache.matchingEntries(selectors)
        guard !matched.isEmpty else { throw await noIdentity(caller, selectors, call: .x509) }
        await report(caller, selectors, .served, ids: matched.map(\.spiffeID.description), call: .x509)
        let changes = await cache.changes()
        let (stream, continuation) = AsyncThrowingStream<X509SVIDSet, any Error>.makeStream()
        let held = HeldSVIDs()
        var state = X509SVIDStream(
            cache: cache, selectors: selectors, continuation: continuation, held: held, logger: logger, pid: caller.pid,
            firstSVIDTimeout: firstSVIDTimeout)
        // The usual case: every SVID is held, and the first set is sent before the stream is even
        // returned, with nothing to wait for (no timers, no task to wake).
        guard await state.look(entries: matched) else { return stream }
        let first = state
        let recheck = recheckInterval.map { interval in
            Task { await self.recheckLoop(caller, every: interval, held: held, continuation: continuation) }
        }
        let task = Task {
            var state = first
            if state.hasAnswered {
                for await _ in changes {
                    guard await state.look() else { return }
                }
            } else {
                await Self.waitForFirstSet(&state, changes: changes)
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in
            task.cancel()
            recheck?.cancel()
        }
        return stream
    }

    /// Looks again on every cache change and at each of the stream's deadlines, for a stream that
    /// has not sent its first set; returns when the changes end, or when `look` finished the stream.
    private static func waitForFirstSet(_ state: inout X509SVIDStream, changes: AsyncStream<Void>) async {
        let (wake, wakeUp) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let forward = Task {
            for await _ in changes { wakeUp.yield() }
            wakeUp.finish()
        }
        let timers = [state.fullSetDeadline, state.firstSVIDDeadline].map { deadline in
            Task {
                guard (try? await Task.sleep(until: deadline)) != nil else { return }
                wakeUp.yield()
            }
        }
        defer {
            forward.cancel()
            for timer in timers { timer.cancel() }
        }
        for await _ in wake {
            guard await state.look() else { return }
        }
    }

    func x509BundleUpdates(for caller: CallerCredentials) async throws -> AsyncThrowingStream<X509BundleSet, any Error> {
        try await requireIdentity(caller, call: .x509Bundles)
        return await bundleStream { bundle, crls in
            X509BundleSet(bundles: [bundle.trustDomain.name: bundle.x509Authorities.map { CertificateEncoding.der($0) }], crls: crls)
        }
    }

    func jwtSVIDs(for caller: CallerCredentials, audience: [String], spiffeID: String?) async throws -> [JWTSVIDMaterial] {
        let selectors = try await attest(caller, call: .jwt)
        var entries = await cache.matchingEntries(selectors)
        if let spiffeID {
            entries = entries.filter { $0.spiffeID.description == spiffeID }
            guard !entries.isEmpty else {
                logger.warning("refused a JWT-SVID for an identity the workload is not entitled to", metadata: [
                    "pid": "\(caller.pid)", "uid": "\(caller.uid)", "spiffe_id": "\(spiffeID)",
                ])
                await report(caller, selectors, .noMatch, reason: "asked for \(spiffeID), which it is not entitled to", call: .jwt)
                throw WorkloadAPIError.noIdentity(detail: "this workload is not entitled to \(spiffeID)")
            }
        }
        guard !entries.isEmpty else { throw await noIdentity(caller, selectors, call: .jwt) }
        await report(caller, selectors, .served, ids: entries.map(\.spiffeID.description), call: .jwt)
        if spiffeID == nil {
            // Every identity of the workload that may have these audiences: one restricted to
            // other audiences must not cost it the rest. When none may, the server says why below.
            let allowed = entries.filter { $0.audiences.isEmpty || audience.allSatisfy($0.audiences.contains) }
            if !allowed.isEmpty { entries = allowed }
        }
        var result: [JWTSVIDMaterial] = []
        for entry in entries {
            if let cached = await cache.jwt(entryID: entry.id, audience: audience) {
                result.append(JWTSVIDMaterial(spiffeID: entry.spiffeID.description, token: cached.token))
                continue
            }
            do {
                let minted = try await link.mintJWTSVID(entry: entry, spiffeID: entry.spiffeID, audience: audience)
                await cache.storeJWT(CachedJWTSVID(token: minted.token, issuedAt: Date(), expiresAt: minted.expiresAt), entryID: entry.id, audience: audience)
                result.append(JWTSVIDMaterial(spiffeID: entry.spiffeID.description, token: minted.token))
            } catch let error as RPCError where error.code == .permissionDenied || error.code == .invalidArgument {
                throw WorkloadAPIError.noIdentity(detail: error.message)
            } catch {
                throw WorkloadAPIError.unavailable("\(error)")
            }
        }
        return result
    }

    func jwtBundleUpdates(for caller: CallerCredentials) async throws -> AsyncThrowingStream<JWTBundleSet, any Error> {
        try await requireIdentity(caller, call: .jwtBundles)
        return await bundleStream { bundle, _ in
            JWTBundleSet(bundles: [bundle.trustDomain.name: Array((try? bundle.jwtBundle.jwks()) ?? Data())])
        }
    }

    func validateJWTSVID(_ token: String, audience: String, for caller: CallerCredentials) async throws -> ValidatedJWT {
        try await requireIdentity(caller, call: .validate)
        let bundle = await cache.bundle
        let svid: JWTSVID
        do {
            svid = try await JWTSVIDVerifier(bundles: bundle).verify(token, audience: audience)
        } catch {
            throw WorkloadAPIError.invalidJWT(reason: error.description)
        }
        if let refusal = await cache.revocations.refusal(forToken: token, claims: svid.claims) {
            throw WorkloadAPIError.invalidJWT(reason: "the JWT-SVID is revoked: \(refusal)")
        }
        return ValidatedJWT(spiffeID: svid.spiffeID.description, claims: svid.claims.mapValues(Self.claim))
    }

    // MARK: Helpers

    private func attest(_ caller: CallerCredentials, call: WorkloadDecision.Call) async throws -> [Selector] {
        if let refusal = callerPolicy.refusal(for: caller) {
            logger.warning("refused a caller that is not a descendant of this nested agent", metadata: ["pid": "\(caller.pid)", "uid": "\(caller.uid)"])
            await report(caller, [], .refused, reason: refusal, call: call)
            throw WorkloadAPIError.noIdentity(detail: refusal)
        }
        do {
            return try await attestor.attest(PeerProcess(pid: caller.pid, uid: caller.uid, gid: caller.gid))
        } catch {
            logger.warning("workload attestation failed", metadata: ["pid": "\(caller.pid)", "reason": "\(error)"])
            await report(caller, [], .failed, reason: error.description, call: call)
            throw WorkloadAPIError.noIdentity(detail: error.description)
        }
    }

    private func requireIdentity(_ caller: CallerCredentials, call: WorkloadDecision.Call) async throws {
        let selectors = try await attest(caller, call: call)
        let matched = await cache.matchingEntries(selectors)
        guard !matched.isEmpty else { throw await noIdentity(caller, selectors, call: call) }
        await report(caller, selectors, .served, ids: matched.map(\.spiffeID.description), call: call)
    }

    private func noIdentity(_ caller: CallerCredentials, _ selectors: [Selector], call: WorkloadDecision.Call) async -> WorkloadAPIError {
        logger.info("no entry matches workload", metadata: [
            "pid": "\(caller.pid)", "uid": "\(caller.uid)",
            "selectors": "\(selectors.filter { !$0.value.hasPrefix("sha256:") }.map(\.description).joined(separator: " "))",
        ])
        await report(caller, selectors, .noMatch, reason: "no registration entry matches", call: call)
        return WorkloadAPIError.noIdentity(detail: "no registration entry matches this workload (uid \(caller.uid), pid \(caller.pid))")
    }

    /// Keeps a decision for the server's audit log.
    func report(
        _ caller: CallerCredentials, _ selectors: [Selector], _ outcome: WorkloadDecision.Outcome, ids: [String] = [], reason: String = "",
        call: WorkloadDecision.Call
    ) async {
        guard let reporter else { return }
        await reporter.record(WorkloadDecision(
            caller: CallerIdentity(pid: caller.pid, uid: caller.uid, gid: caller.gid), selectors: selectors, spiffeIDs: ids,
            outcome: outcome, reason: reason, call: call))
    }

    /// A stream of `make(bundle, CRLs)`, now and whenever it changes.
    private func bundleStream<Value: Equatable & Sendable>(_ make: @escaping @Sendable (SPIFFEBundle, [[UInt8]]) -> Value) async -> AsyncThrowingStream<Value, any Error> {
        let changes = await cache.changes()
        let (stream, continuation) = AsyncThrowingStream<Value, any Error>.makeStream()
        let task = Task { [cache] in
            var last: Value?
            var iterator = changes.makeAsyncIterator()
            repeat {
                let value = make(await cache.bundle, await cache.revocations.crls)
                if value != last {
                    continuation.yield(value)
                    last = value
                }
            } while await iterator.next() != nil
            continuation.finish()
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    static func x509Set(_ svids: [CachedSVID], bundle: SPIFFEBundle, crls: [[UInt8]] = []) -> X509SVIDSet {
        let bundleDER = bundle.x509Authorities.map { CertificateEncoding.der($0) }
        let materials = svids.map { svid in
            X509SVIDMaterial(
                spiffeID: svid.spiffeID.description,
                certificateChain: svid.chainDER,
                privateKey: svid.keyPKCS8,
                bundle: bundleDER)
        }
        return X509SVIDSet(svids: materials, crls: crls)
    }

    static func claim(_ value: JSONValue) -> ValidatedJWT.ClaimValue {
        switch value {
        case .null: return .null
        case .bool(let bool): return .bool(bool)
        case .integer(let integer): return .number(Double(integer))
        case .double(let double): return .number(double)
        case .string(let string): return .string(string)
        case .array(let array): return .array(array.map(claim))
        case .object(let object): return .object(object.mapValues(claim))
        }
    }
}
