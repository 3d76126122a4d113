/// The X.509 trust material from `FetchX509Bundles`: the CA certificates of every trust domain
/// the workload should trust, and the revocation lists (the `X509BundlesResponse` message).
public struct X509BundleSet: Sendable, Hashable {
    /// CA certificates keyed by the SPIFFE ID of their trust domain (`spiffe://example.org`),
    /// including the workload's own trust domain; one DER certificate per element.
    public var bundles: [String: [[UInt8]]]
    /// DER-encoded X.509 certificate revocation lists.
    public var crls: [[UInt8]]

    /// Creates a set of X.509 bundles.
    public init(bundles: [String: [[UInt8]]], crls: [[UInt8]] = []) {
        self.bundles = bundles
        self.crls = crls
    }
}
