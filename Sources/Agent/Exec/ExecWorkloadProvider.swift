import Foundation
import Logging
import MatryoshkaAPI
import SPIFFE
import WorkloadAPI

/// The Workload API of an exec'd child: its one X509-SVID, JWT-SVIDs for it minted on demand
/// (vouched for by the caller's key), and the bundle — to the child and its descendants only.
struct ExecWorkloadProvider: WorkloadIdentityProvider {
    let svid: CachedSVID
    let entry: RegistrationEntry
    let parent: LayerIdentity
    let bundle: SPIFFEBundle
    let client: NodeClient
    let guardian: ChildGuard
    /// Revocations from the server: a revoked child SVID is no longer served.
    let watch: ExecRevocationWatch
    let logger: Logger

    private func admit(_ caller: CallerCredentials) async throws {
        if let refusal = await guardian.refusal(for: caller.pid) {
            logger.warning("refused a process on the exec socket", metadata: ["pid": "\(caller.pid)", "reason": "\(refusal)"])
            throw WorkloadAPIError.noIdentity(detail: refusal)
        }
        if let reason = await watch.revokedReason {
            throw WorkloadAPIError.noIdentity(detail: "this child's SVID was revoked: \(reason)")
        }
    }

    func x509SVIDUpdates(for caller: CallerCredentials) async throws -> AsyncThrowingStream<X509SVIDSet, any Error> {
        try await admit(caller)
        return await updates { [svid, bundle, watch] in
            if let reason = await watch.revokedReason {
                throw WorkloadAPIError.noIdentity(detail: "this child's SVID was revoked: \(reason)")
            }
            return AgentWorkloadProvider.x509Set([svid], bundle: bundle, crls: await watch.revocations.crls)
        }
    }

    func x509BundleUpdates(for caller: CallerCredentials) async throws -> AsyncThrowingStream<X509BundleSet, any Error> {
        try await admit(caller)
        return await updates { [bundle, watch] in
            X509BundleSet(
                bundles: [bundle.trustDomain.id.description: bundle.x509Authorities.map { CertificateEncoding.der($0) }],
                crls: await watch.revocations.crls)
        }
    }

    /// A stream of `make()`, now and whenever the revocations change it; it ends with the error
    /// `make` throws. It stays open otherwise (the spec's streams end only on error or shutdown).
    private func updates<Value: Equatable & Sendable>(
        _ make: @escaping @Sendable () async throws -> Value
    ) async -> AsyncThrowingStream<Value, any Error> {
        let changes = await watch.changes()
        let (stream, continuation) = AsyncThrowingStream<Value, any Error>.makeStream()
        let task = Task {
            var last: Value?
            var iterator = changes.makeAsyncIterator()
            repeat {
                do {
                    let value = try await make()
                    if value != last {
                        continuation.yield(value)
                        last = value
                    }
                } catch {
                    continuation.finish(throwing: error)
                    return
                }
            } while await iterator.next() != nil
            continuation.finish()
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    func jwtSVIDs(for caller: CallerCredentials, audience: [String], spiffeID: String?) async throws -> [JWTSVIDMaterial] {
        try await admit(caller)
        if let spiffeID, spiffeID != svid.spiffeID.description {
            logger.warning("refused the exec'd child a JWT-SVID for another identity", metadata: [
                "pid": "\(caller.pid)", "holds": "\(svid.spiffeID)", "asked_for": "\(spiffeID)",
            ])
            throw WorkloadAPIError.noIdentity(detail: "this child holds \(svid.spiffeID), not \(spiffeID)")
        }
        do {
            let link = try parent.childLink(for: entry, spiffeID: svid.spiffeID, publicKey: nil, ttlSeconds: entry.jwtTTL, attestor: "exec")
            let minted = try await client.mintJWTSVID(
                entryID: entry.id, spiffeID: entry.isWildcard ? svid.spiffeID.description : "", audience: audience, lineageLink: link)
            return [JWTSVIDMaterial(spiffeID: svid.spiffeID.description, token: minted.token)]
        } catch {
            throw WorkloadAPIError.noIdentity(detail: "\(error)")
        }
    }

    func jwtBundleUpdates(for caller: CallerCredentials) async throws -> AsyncThrowingStream<JWTBundleSet, any Error> {
        try await admit(caller)
        let set = JWTBundleSet(bundles: [bundle.trustDomain.id.description: Array((try? bundle.jwtBundle.jwks()) ?? Data())])
        return AsyncThrowingStream { $0.yield(set) }
    }

    func validateJWTSVID(_ token: String, audience: String, for caller: CallerCredentials) async throws -> ValidatedJWT {
        try await admit(caller)
        let verified: JWTSVID
        do {
            verified = try await JWTSVIDVerifier(bundles: bundle).verify(token, audience: audience)
        } catch {
            throw WorkloadAPIError.invalidJWT(reason: error.description)
        }
        if let refusal = await watch.revocations.refusal(forToken: token, claims: verified.claims) {
            throw WorkloadAPIError.invalidJWT(reason: "the JWT-SVID is revoked: \(refusal)")
        }
        return ValidatedJWT(spiffeID: verified.spiffeID.description, claims: verified.claims.mapValues(AgentWorkloadProvider.claim))
    }
}
