/// What the Workload API service asks of the agent: the identities and trust material for one
/// caller, identified by the kernel-reported credentials of its connection.
///
/// The service enforces the protocol rules (the `workload.spiffe.io` header, non-empty
/// audiences, one message per change on streams, status codes); the provider only answers for a
/// caller. Throw ``WorkloadAPIError`` to choose the status the caller sees; any other error
/// becomes `Internal` without its details.
///
/// Streams must yield the current value at once and again on every change (rotation, bundle
/// change, revocation). Finishing a stream ends the call with status `OK`; throwing ends it with
/// the mapped status.
public protocol WorkloadIdentityProvider: Sendable {
    /// The caller's X509-SVIDs and related material, now and on every change.
    ///
    /// An update with no SVIDs ends the stream with `PermissionDenied` (the caller lost its
    /// identity, e.g. because its entry was deleted or revoked).
    /// - Throws: ``WorkloadAPIError/noIdentity(detail:)`` when the caller matches nothing.
    func x509SVIDUpdates(for caller: CallerCredentials) async throws -> AsyncThrowingStream<X509SVIDSet, any Error>

    /// The X.509 bundles and CRLs the caller should trust, now and on every change.
    /// - Throws: ``WorkloadAPIError/noIdentity(detail:)`` when the caller matches nothing.
    func x509BundleUpdates(for caller: CallerCredentials) async throws -> AsyncThrowingStream<X509BundleSet, any Error>

    /// JWT-SVIDs for the caller, for the given audiences (never empty).
    ///
    /// - Parameters:
    ///   - audience: The audiences the token is for; the service guarantees at least one.
    ///   - spiffeID: When set, only the SVID for this SPIFFE ID (already syntax-checked).
    /// - Returns: At least one SVID; an empty list is answered with `PermissionDenied`.
    /// - Throws: ``WorkloadAPIError/noIdentity(detail:)`` when the caller matches nothing or is
    ///   not entitled to `spiffeID`.
    func jwtSVIDs(for caller: CallerCredentials, audience: [String], spiffeID: String?) async throws -> [JWTSVIDMaterial]

    /// The JWT bundles (JWKS) the caller should trust, now and on every change.
    /// - Throws: ``WorkloadAPIError/noIdentity(detail:)`` when the caller matches nothing.
    func jwtBundleUpdates(for caller: CallerCredentials) async throws -> AsyncThrowingStream<JWTBundleSet, any Error>

    /// Validates a JWT-SVID for the caller, against `audience`, with the bundles the caller trusts.
    ///
    /// The service guarantees `token` and `audience` are non-empty.
    /// - Throws: ``WorkloadAPIError/invalidJWT(reason:)`` when the token is not valid.
    func validateJWTSVID(_ token: String, audience: String, for caller: CallerCredentials) async throws -> ValidatedJWT
}
