/// One X509-SVID as served by the Workload API: the certificate chain, its private key and the
/// X.509 bundle of its trust domain (the `X509SVID` message of the Workload API).
///
/// All certificates and keys are DER encoded; nothing here is parsed or validated, which is the
/// job of the `SPIFFE` module.
public struct X509SVIDMaterial: Sendable, Hashable {
    /// The SPIFFE ID of the SVID, e.g. `spiffe://example.org/ci/runner`.
    public var spiffeID: String
    /// The certificate chain, leaf (the SVID itself) first, then any intermediates; one DER
    /// certificate per element.
    public var certificateChain: [[UInt8]]
    /// The SVID's private key, unencrypted PKCS#8 DER.
    public var privateKey: [UInt8]
    /// The X.509 bundle (trusted CA certificates) of the SVID's trust domain; one DER
    /// certificate per element.
    public var bundle: [[UInt8]]
    /// An operator-chosen hint telling the workload what this SVID is for (e.g. `internal`) when
    /// it has more than one; empty when unset.
    public var hint: String

    /// Creates the material for one X509-SVID.
    public init(
        spiffeID: String,
        certificateChain: [[UInt8]],
        privateKey: [UInt8],
        bundle: [[UInt8]],
        hint: String = ""
    ) {
        self.spiffeID = spiffeID
        self.certificateChain = certificateChain
        self.privateKey = privateKey
        self.bundle = bundle
        self.hint = hint
    }
}

/// Everything a workload receives from `FetchX509SVID` at one moment: its X509-SVIDs, the
/// certificate revocation lists, and the bundles of federated trust domains (the
/// `X509SVIDResponse` message; go-spiffe calls this the X.509 context).
public struct X509SVIDSet: Sendable, Hashable {
    /// The caller's X509-SVIDs; the first one is the default. An empty list means the caller has
    /// no identity, and the server answers `PermissionDenied`.
    public var svids: [X509SVIDMaterial]
    /// DER-encoded X.509 certificate revocation lists.
    public var crls: [[UInt8]]
    /// CA certificates of foreign trust domains the workload should trust, keyed by the SPIFFE ID
    /// of the trust domain (`spiffe://other.example`); one DER certificate per element.
    public var federatedBundles: [String: [[UInt8]]]

    /// Creates a set of X509-SVIDs.
    public init(
        svids: [X509SVIDMaterial],
        crls: [[UInt8]] = [],
        federatedBundles: [String: [[UInt8]]] = [:]
    ) {
        self.svids = svids
        self.crls = crls
        self.federatedBundles = federatedBundles
    }
}
