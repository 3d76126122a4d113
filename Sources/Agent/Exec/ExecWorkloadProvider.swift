import Foundation
import Logging
import MatryoshkaAPI
import SPIFFE
import WorkloadAPI

/// What an exec'd child is served once it is admitted: its one X509-SVID, and what JWT-SVIDs
/// for it are minted with.
struct ExecChild: Sendable {
    let svid: CachedSVID
    let entry: RegistrationEntry
    /// The caller's identity, whose key vouches for the child's JWT-SVIDs.
    let parent: LayerIdentity
    let bundle: SPIFFEBundle
    let client: NodeClient
}

/// The Workload API of an exec'd child: its one X509-SVID, JWT-SVIDs for it minted on demand
/// (vouched for by the caller's key), and the bundle — to the child and its descendants only.
/// It listens before the child's SVID is minted and serves nothing until the child is admitted.
struct ExecWorkloadProvider: WorkloadIdentityProvider {
    let guardian: ChildGuard<ExecChild>
    /// Revocations from the server: a revoked child SVID is no longer served.
    let watch: ExecRevocationWatch
    let logger: Logger

    private func admit(_ caller: CallerCredentials) async throws -> ExecChild {
        let child: ExecChild
        switch await guardian.admission(of: caller.pid) {
        case .refused(let refusal):
            logger.warning("refused a process on the exec socket", metadata: ["pid": "\(caller.pid)", "reason": "\(refusal)"])
            throw WorkloadAPIError.noIdentity(detail: refusal)
        case .admitted(let admitted):
            child = admitted
        }
        if let reason = await watch.revokedReason {
            throw WorkloadAPIError.noIdentity(detail: "this child's SVID was revoked: \(reason)")
        }
        return child
    }

    func x509SVIDUpdates(for caller: CallerCredentials) async throws -> AsyncThrowingStream<X509SVIDSet, any Error> {
        let child = try await admit(caller)
        return await updates { [child, watch] in
            if let reason = await watch.revokedReason {
                throw WorkloadAPIError.noIdentity(detail: "this child's SVID was revoked: \(reason)")
            }
            return AgentWorkloadProvider.x509Set([child.svid], bundle: child.bundle, crls: await watch.revocations.crls)
        }
    }

    func x509BundleUpdates(for caller: CallerCredentials) async throws -> AsyncThrowingStream<X509BundleSet, any Error> {
        let bundle = try await admit(caller).bundle
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
        let child = try await admit(caller)
        let svid = child.svid
        if let spiffeID, spiffeID != svid.spiffeID.description {
            logger.warning("refused the exec'd child a JWT-SVID for another identity", metadata: [
                "pid": "\(caller.pid)", "holds": "\(svid.spiffeID)", "asked_for": "\(spiffeID)",
            ])
            throw WorkloadAPIError.noIdentity(detail: "this child holds \(svid.spiffeID), not \(spiffeID)")
        }
        do {
            let entry = child.entry
            let link = try child.parent.childLink(for: entry, spiffeID: svid.spiffeID, publicKey: nil, ttlSeconds: entry.jwtTTL, attestor: "exec")
            let minted = try await child.client.mintJWTSVID(
                entryID: entry.id, spiffeID: entry.isWildcard ? svid.spiffeID.description : "", audience: audience, lineageLink: link)
            return [JWTSVIDMaterial(spiffeID: svid.spiffeID.description, token: minted.token)]
        } catch {
            throw WorkloadAPIError.noIdentity(detail: "\(error)")
        }
    }

    func jwtBundleUpdates(for caller: CallerCredentials) async throws -> AsyncThrowingStream<JWTBundleSet, any Error> {
        let bundle = try await admit(caller).bundle
        let set = JWTBundleSet(bundles: [bundle.trustDomain.id.description: Array((try? bundle.jwtBundle.jwks()) ?? Data())])
        return AsyncThrowingStream { $0.yield(set) }
    }

    func validateJWTSVID(_ token: String, audience: String, for caller: CallerCredentials) async throws -> ValidatedJWT {
        let bundle = try await admit(caller).bundle
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
