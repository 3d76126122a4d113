/// Bundles keyed by trust domain: the local trust domain's and any federated ones.
public struct BundleSet: Hashable, Sendable, X509BundleSource, JWTBundleSource {
    private var bundles: [TrustDomain: SPIFFEBundle]

    public init(_ bundles: [SPIFFEBundle] = []) {
        self.bundles = [:]
        for bundle in bundles { self.bundles[bundle.trustDomain] = bundle }
    }

    /// The bundle for `trustDomain`, if any.
    public subscript(trustDomain: TrustDomain) -> SPIFFEBundle? {
        get { bundles[trustDomain] }
        set { bundles[trustDomain] = newValue }
    }

    /// Adds or replaces the bundle of its trust domain.
    public mutating func set(_ bundle: SPIFFEBundle) { bundles[bundle.trustDomain] = bundle }

    /// Removes the bundle of `trustDomain`.
    public mutating func remove(_ trustDomain: TrustDomain) { bundles[trustDomain] = nil }

    /// The trust domains present, sorted.
    public var trustDomains: [TrustDomain] { bundles.keys.sorted() }

    /// The bundles, sorted by trust domain.
    public var all: [SPIFFEBundle] { trustDomains.map { bundles[$0]! } }

    public var count: Int { bundles.count }

    public func x509Bundle(for trustDomain: TrustDomain) throws(BundleError) -> X509Bundle {
        guard let bundle = bundles[trustDomain] else { throw .noBundle(trustDomain) }
        return bundle.x509Bundle
    }

    public func jwtBundle(for trustDomain: TrustDomain) throws(BundleError) -> JWTBundle {
        guard let bundle = bundles[trustDomain] else { throw .noBundle(trustDomain) }
        return bundle.jwtBundle
    }
}
