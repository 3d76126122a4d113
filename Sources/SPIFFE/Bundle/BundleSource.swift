/// Something that can supply the X.509 authorities of a trust domain: a single bundle, a set of
/// bundles, or (in the agent) a live, updating view.
public protocol X509BundleSource: Sendable {
    /// The X.509 bundle for `trustDomain`.
    ///
    /// - Throws: ``BundleError/noBundle(_:)`` when the source has none for that trust domain.
    func x509Bundle(for trustDomain: TrustDomain) throws(BundleError) -> X509Bundle
}

/// Something that can supply the JWT authorities of a trust domain.
public protocol JWTBundleSource: Sendable {
    /// The JWT bundle for `trustDomain`.
    ///
    /// - Throws: ``BundleError/noBundle(_:)`` when the source has none for that trust domain.
    func jwtBundle(for trustDomain: TrustDomain) throws(BundleError) -> JWTBundle
}
