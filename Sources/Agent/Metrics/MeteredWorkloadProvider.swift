import WorkloadAPI

/// Counts the Workload API calls a provider answers, and the streams it has open.
struct MeteredWorkloadProvider<Base: WorkloadIdentityProvider>: WorkloadIdentityProvider {
    let base: Base
    let metrics: AgentMetrics

    func x509SVIDUpdates(for caller: CallerCredentials) async throws -> AsyncThrowingStream<X509SVIDSet, any Error> {
        metrics.requested(.fetchX509SVID)
        return metered(try await base.x509SVIDUpdates(for: caller), .fetchX509SVID)
    }

    func x509BundleUpdates(for caller: CallerCredentials) async throws -> AsyncThrowingStream<X509BundleSet, any Error> {
        metrics.requested(.fetchX509Bundles)
        return metered(try await base.x509BundleUpdates(for: caller), .fetchX509Bundles)
    }

    func jwtSVIDs(for caller: CallerCredentials, audience: [String], spiffeID: String?) async throws -> [JWTSVIDMaterial] {
        metrics.requested(.fetchJWTSVID)
        return try await base.jwtSVIDs(for: caller, audience: audience, spiffeID: spiffeID)
    }

    func jwtBundleUpdates(for caller: CallerCredentials) async throws -> AsyncThrowingStream<JWTBundleSet, any Error> {
        metrics.requested(.fetchJWTBundles)
        return metered(try await base.jwtBundleUpdates(for: caller), .fetchJWTBundles)
    }

    func validateJWTSVID(_ token: String, audience: String, for caller: CallerCredentials) async throws -> ValidatedJWT {
        metrics.requested(.validateJWTSVID)
        return try await base.validateJWTSVID(token, audience: audience, for: caller)
    }

    /// The same stream, counted open until it ends or its consumer goes away.
    private func metered<Element: Sendable>(
        _ stream: AsyncThrowingStream<Element, any Error>, _ method: AgentMetrics.Method
    ) -> AsyncThrowingStream<Element, any Error> {
        metrics.streamOpened(method)
        let (output, continuation) = AsyncThrowingStream<Element, any Error>.makeStream()
        let forward = Task {
            do {
                for try await element in stream { continuation.yield(element) }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { [metrics] _ in
            forward.cancel()
            metrics.streamClosed(method)
        }
        return output
    }
}
