import X509

/// The X.509 authorities (root CA certificates) of one trust domain.
public struct X509Bundle: Hashable, Sendable, X509BundleSource {
    /// The trust domain these authorities vouch for.
    public let trustDomain: TrustDomain
    /// The authorities, in the order they were added.
    public private(set) var authorities: [Certificate]

    /// A bundle of the given authorities (duplicates are dropped).
    public init(trustDomain: TrustDomain, authorities: [Certificate]) {
        self.trustDomain = trustDomain
        self.authorities = []
        for authority in authorities { add(authority) }
    }

    /// Reads a bundle from PEM (any number of `CERTIFICATE` blocks) or DER (concatenated certificates).
    public init(trustDomain: TrustDomain, parsing bytes: some Collection<UInt8>) throws(BundleError) {
        do {
            self.init(trustDomain: trustDomain, authorities: try CertificateEncoding.certificates(from: bytes))
        } catch {
            throw .invalidCertificates(error)
        }
    }

    /// Adds an authority unless it is already present.
    public mutating func add(_ authority: Certificate) {
        if !authorities.contains(authority) { authorities.append(authority) }
    }

    /// Removes an authority.
    public mutating func remove(_ authority: Certificate) {
        authorities.removeAll { $0 == authority }
    }

    /// The authorities as PEM.
    public var pem: String { CertificateEncoding.pem(authorities) }

    /// The authorities as concatenated DER, the form the Workload API uses.
    public var der: [UInt8] { CertificateEncoding.concatenatedDER(authorities) }

    public func x509Bundle(for trustDomain: TrustDomain) throws(BundleError) -> X509Bundle {
        guard trustDomain == self.trustDomain else { throw .noBundle(trustDomain) }
        return self
    }
}
