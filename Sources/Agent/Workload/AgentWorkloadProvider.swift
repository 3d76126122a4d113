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
    /// How long a stream waits for the first SVID of a freshly matched entry.
    var firstSVIDTimeout: Duration = .seconds(15)

    func x509SVIDUpdates(for caller: CallerCredentials) async throws -> AsyncThrowingStream<X509SVIDSet, any Error> {
        let selectors = try await attest(caller)
        guard !(await cache.matchingEntries(selectors)).isEmpty else { throw noIdentity(caller, selectors) }
        let changes = await cache.changes()
        let (stream, continuation) = AsyncThrowingStream<X509SVIDSet, any Error>.makeStream()
        let task = Task { [cache, logger, firstSVIDTimeout] in
            // Wake on every cache change, and once at the deadline for the first SVID.
            let deadline = ContinuousClock.now.advanced(by: firstSVIDTimeout)
            let (wake, wakeUp) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
            let forward = Task {
                for await _ in changes { wakeUp.yield() }
                wakeUp.finish()
            }
            let timer = Task {
                try? await Task.sleep(until: deadline)
                wakeUp.yield()
            }
            defer {
                forward.cancel()
                timer.cancel()
            }
            wakeUp.yield()
            var last: X509SVIDSet?
            for await _ in wake {
                let entries = await cache.matchingEntries(selectors)
                if entries.isEmpty {
                    continuation.finish(throwing: WorkloadAPIError.noIdentity(detail: "the entries for this workload were removed"))
                    return
                }
                let svids = await cache.svids(for: entries)
                if svids.isEmpty {
                    if last == nil, ContinuousClock.now >= deadline {
                        logger.warning("workload matched entries but no SVID is available", metadata: ["pid": "\(caller.pid)"])
                        continuation.finish(throwing: WorkloadAPIError.noIdentity(detail: "no SVID has been issued for this workload yet"))
                        return
                    }
                    continue
                }
                let set = Self.x509Set(svids, bundle: await cache.bundle)
                if set != last {
                    continuation.yield(set)
                    last = set
                }
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    func x509BundleUpdates(for caller: CallerCredentials) async throws -> AsyncThrowingStream<X509BundleSet, any Error> {
        try await requireIdentity(caller)
        return await bundleStream { bundle in
            X509BundleSet(bundles: [bundle.trustDomain.name: bundle.x509Authorities.map { CertificateEncoding.der($0) }])
        }
    }

    func jwtSVIDs(for caller: CallerCredentials, audience: [String], spiffeID: String?) async throws -> [JWTSVIDMaterial] {
        let selectors = try await attest(caller)
        var entries = await cache.matchingEntries(selectors)
        if let spiffeID {
            entries = entries.filter { $0.spiffeID.description == spiffeID }
            guard !entries.isEmpty else {
                throw WorkloadAPIError.noIdentity(detail: "this workload is not entitled to \(spiffeID)")
            }
        }
        guard !entries.isEmpty else { throw noIdentity(caller, selectors) }
        var result: [JWTSVIDMaterial] = []
        for entry in entries {
            if let cached = await cache.jwt(entryID: entry.id, audience: audience) {
                result.append(JWTSVIDMaterial(spiffeID: entry.spiffeID.description, token: cached.token))
                continue
            }
            do {
                let minted = try await link.mintJWTSVID(entryID: entry.id, audience: audience)
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
        try await requireIdentity(caller)
        return await bundleStream { bundle in
            JWTBundleSet(bundles: [bundle.trustDomain.name: Array((try? bundle.jwtBundle.jwks()) ?? Data())])
        }
    }

    func validateJWTSVID(_ token: String, audience: String, for caller: CallerCredentials) async throws -> ValidatedJWT {
        try await requireIdentity(caller)
        let bundle = await cache.bundle
        do {
            let svid = try await JWTSVIDVerifier(bundles: bundle).verify(token, audience: audience)
            return ValidatedJWT(spiffeID: svid.spiffeID.description, claims: svid.claims.mapValues(Self.claim))
        } catch {
            throw WorkloadAPIError.invalidJWT(reason: error.description)
        }
    }

    // MARK: Helpers

    private func attest(_ caller: CallerCredentials) async throws -> [Selector] {
        do {
            return try await attestor.attest(PeerProcess(pid: caller.pid, uid: caller.uid, gid: caller.gid))
        } catch {
            logger.warning("workload attestation failed", metadata: ["pid": "\(caller.pid)", "reason": "\(error)"])
            throw WorkloadAPIError.noIdentity(detail: error.description)
        }
    }

    private func requireIdentity(_ caller: CallerCredentials) async throws {
        let selectors = try await attest(caller)
        guard !(await cache.matchingEntries(selectors)).isEmpty else { throw noIdentity(caller, selectors) }
    }

    private func noIdentity(_ caller: CallerCredentials, _ selectors: [Selector]) -> WorkloadAPIError {
        logger.info("no entry matches workload", metadata: [
            "pid": "\(caller.pid)", "uid": "\(caller.uid)",
            "selectors": "\(selectors.filter { !$0.value.hasPrefix("sha256:") }.map(\.description).joined(separator: " "))",
        ])
        return WorkloadAPIError.noIdentity(detail: "no registration entry matches this workload (uid \(caller.uid), pid \(caller.pid))")
    }

    private func bundleStream<Value: Equatable & Sendable>(_ make: @escaping @Sendable (SPIFFEBundle) -> Value) async -> AsyncThrowingStream<Value, any Error> {
        let changes = await cache.changes()
        let (stream, continuation) = AsyncThrowingStream<Value, any Error>.makeStream()
        let task = Task { [cache] in
            var last: Value?
            var iterator = changes.makeAsyncIterator()
            repeat {
                let value = make(await cache.bundle)
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

    static func x509Set(_ svids: [CachedSVID], bundle: SPIFFEBundle) -> X509SVIDSet {
        let bundleDER = bundle.x509Authorities.map { CertificateEncoding.der($0) }
        return X509SVIDSet(svids: svids.map { svid in
            X509SVIDMaterial(
                spiffeID: svid.spiffeID.description,
                certificateChain: svid.chain.map { CertificateEncoding.der($0) },
                privateKey: (try? PrivateKeyEncoding.pkcs8DER(svid.key.certificatePrivateKey)) ?? [],
                bundle: bundleDER)
        })
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
