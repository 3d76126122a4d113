import WorkloadAPI

/// A stand-in for the agent: answers from values the test sets, records who asked, and lets the
/// test push changes to every open stream.
actor TestIdentityProvider: WorkloadIdentityProvider {
    /// The X.509 context served; `nil` means "no identity".
    var x509Context: X509SVIDSet?
    var x509Bundles: X509BundleSet
    var jwtBundles: JWTBundleSet
    /// JWT-SVIDs by SPIFFE ID; the token is `<spiffeID>|<audiences joined by ,>`.
    var jwtIdentities: [String]
    /// The only token `validateJWTSVID` accepts, and what it returns for it.
    var validToken: String = "valid.jwt.token"
    var validatedJWT: ValidatedJWT

    /// When set, JWT-SVIDs are real tokens signed by this PKI instead of placeholders.
    var jwtIssuer: TestPKI?

    /// Tokens issued by ``jwtSVIDs(for:audience:spiffeID:)``; `validateJWTSVID` accepts them.
    private var issuedTokens: Set<String> = []
    private(set) var callers: [CallerCredentials] = []
    private var x509Subscribers: [AsyncThrowingStream<X509SVIDSet, any Error>.Continuation] = []
    private var jwtBundleSubscribers: [AsyncThrowingStream<JWTBundleSet, any Error>.Continuation] = []

    init(x509Context: X509SVIDSet?, x509Bundles: X509BundleSet, jwtBundles: JWTBundleSet, jwtIdentities: [String]) {
        self.x509Context = x509Context
        self.x509Bundles = x509Bundles
        self.jwtBundles = jwtBundles
        self.jwtIdentities = jwtIdentities
        self.validatedJWT = ValidatedJWT(spiffeID: jwtIdentities.first ?? "", claims: [:])
    }

    static func standard(pki: TestPKI) throws -> TestIdentityProvider {
        let svid = try pki.svid(path: "/workload")
        let td = "spiffe://\(pki.trustDomain)"
        let provider = TestIdentityProvider(
            x509Context: X509SVIDSet(svids: [svid], crls: [[0x30, 0x00]], federatedBundles: ["spiffe://other.org": [pki.caDER]]),
            x509Bundles: X509BundleSet(bundles: [td: [pki.caDER]], crls: [[0x30, 0x00]]),
            jwtBundles: JWTBundleSet(bundles: [td: pki.jwks]),
            jwtIdentities: [svid.spiffeID]
        )
        return provider
    }

    func setValidated(_ validated: ValidatedJWT) { validatedJWT = validated }
    func setValidToken(_ token: String) { validToken = token }
    func setJWTIssuer(_ pki: TestPKI) { jwtIssuer = pki }
    func setX509Context(_ context: X509SVIDSet?) { x509Context = context }
    var x509SubscriberCount: Int { x509Subscribers.count }
    /// X.509 streams whose consumer went away (the server stopped reading them).
    private(set) var x509StreamsEnded = 0
    private func x509StreamEnded() { x509StreamsEnded += 1 }
    var jwtBundleSubscriberCount: Int { jwtBundleSubscribers.count }

    /// Sends a new X.509 context to every open stream.
    func publishX509(_ context: X509SVIDSet) {
        x509Context = context
        for subscriber in x509Subscribers { subscriber.yield(context) }
    }

    /// Ends every open X.509 stream with `error`.
    func failX509Streams(_ error: any Error) {
        for subscriber in x509Subscribers { subscriber.finish(throwing: error) }
        x509Subscribers.removeAll()
    }

    /// Sends new JWT bundles to every open stream.
    func publishJWTBundles(_ bundles: JWTBundleSet) {
        jwtBundles = bundles
        for subscriber in jwtBundleSubscribers { subscriber.yield(bundles) }
    }

    // MARK: WorkloadIdentityProvider

    func x509SVIDUpdates(for caller: CallerCredentials) throws -> AsyncThrowingStream<X509SVIDSet, any Error> {
        callers.append(caller)
        guard let x509Context else { throw WorkloadAPIError.noIdentity(detail: nil) }
        let (stream, continuation) = AsyncThrowingStream<X509SVIDSet, any Error>.makeStream()
        continuation.yield(x509Context)
        continuation.onTermination = { [weak self] _ in
            Task { await self?.x509StreamEnded() }
        }
        x509Subscribers.append(continuation)
        return stream
    }

    func x509BundleUpdates(for caller: CallerCredentials) throws -> AsyncThrowingStream<X509BundleSet, any Error> {
        callers.append(caller)
        guard x509Context != nil else { throw WorkloadAPIError.noIdentity(detail: nil) }
        let (stream, continuation) = AsyncThrowingStream<X509BundleSet, any Error>.makeStream()
        continuation.yield(x509Bundles)
        return stream
    }

    func jwtSVIDs(for caller: CallerCredentials, audience: [String], spiffeID: String?) throws -> [JWTSVIDMaterial] {
        callers.append(caller)
        guard x509Context != nil else { throw WorkloadAPIError.noIdentity(detail: nil) }
        let identities = jwtIdentities.filter { spiffeID == nil || $0 == spiffeID }
        guard !identities.isEmpty else { throw WorkloadAPIError.noIdentity(detail: "not entitled to \(spiffeID ?? "")") }
        return try identities.map { spiffeID in
            let token = try jwtIssuer?.jwtSVID(spiffeID: spiffeID, audience: audience) ?? "\(spiffeID)|\(audience.joined(separator: ","))"
            issuedTokens.insert(token)
            return JWTSVIDMaterial(spiffeID: spiffeID, token: token)
        }
    }

    func jwtBundleUpdates(for caller: CallerCredentials) throws -> AsyncThrowingStream<JWTBundleSet, any Error> {
        callers.append(caller)
        guard x509Context != nil else { throw WorkloadAPIError.noIdentity(detail: nil) }
        let (stream, continuation) = AsyncThrowingStream<JWTBundleSet, any Error>.makeStream()
        continuation.yield(jwtBundles)
        jwtBundleSubscribers.append(continuation)
        return stream
    }

    func validateJWTSVID(_ token: String, audience: String, for caller: CallerCredentials) throws -> ValidatedJWT {
        callers.append(caller)
        guard token == validToken || issuedTokens.contains(token) else { throw WorkloadAPIError.invalidJWT(reason: "token has an invalid signature") }
        guard audience == "test-audience" else { throw WorkloadAPIError.invalidJWT(reason: "audience \(audience) not in token") }
        return validatedJWT
    }
}
