/// The JWT trust material from `FetchJWTBundles` (the `JWTBundlesResponse` message).
public struct JWTBundleSet: Sendable, Hashable {
    /// JWKS documents (RFC 7517 JSON, UTF-8 bytes) keyed by the SPIFFE ID of their trust domain
    /// (`spiffe://example.org`).
    public var bundles: [String: [UInt8]]

    /// Creates a set of JWT bundles.
    public init(bundles: [String: [UInt8]]) {
        self.bundles = bundles
    }
}
