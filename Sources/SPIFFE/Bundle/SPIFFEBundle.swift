import Foundation
import X509

/// A SPIFFE bundle: the X.509 and JWT authorities of one trust domain, with the bundle
/// format's sequence number and refresh hint (SPIFFE Trust Domain and Bundle specification).
public struct SPIFFEBundle: Hashable, Sendable, X509BundleSource, JWTBundleSource {
    public let trustDomain: TrustDomain
    public var x509Authorities: [Certificate]
    public var jwtAuthorities: [String: Certificate.PublicKey]
    /// `spiffe_sequence`: increases with every change of the bundle.
    public var sequenceNumber: UInt64?
    /// `spiffe_refresh_hint`: how often, in seconds, consumers should refresh the bundle.
    public var refreshHint: Int64?

    public init(
        trustDomain: TrustDomain,
        x509Authorities: [Certificate] = [],
        jwtAuthorities: [String: Certificate.PublicKey] = [:],
        sequenceNumber: UInt64? = nil,
        refreshHint: Int64? = nil
    ) {
        self.trustDomain = trustDomain
        self.x509Authorities = x509Authorities
        self.jwtAuthorities = jwtAuthorities
        self.sequenceNumber = sequenceNumber
        self.refreshHint = refreshHint
    }

    /// Reads a SPIFFE bundle (a JWKS whose keys carry `use: x509-svid` or `use: jwt-svid`).
    /// Keys with another `use` are ignored, as the specification asks.
    public init(trustDomain: TrustDomain, json bytes: some Collection<UInt8>) throws(BundleError) {
        let document = try JWKSDocument.decode(bytes)
        guard let keys = document.keys else { throw .missingKeys }
        self.init(trustDomain: trustDomain, sequenceNumber: document.spiffe_sequence, refreshHint: document.spiffe_refresh_hint)
        for (index, key) in keys.enumerated() {
            switch key.use {
            case JWK.x509SVIDUse:
                let certificate = try key.x509Authority(index: index)
                if !x509Authorities.contains(certificate) { x509Authorities.append(certificate) }
            case JWK.jwtSVIDUse:
                guard let kid = key.kid, !kid.isEmpty else { throw .missingKeyID(index: index) }
                guard jwtAuthorities[kid] == nil else { throw .duplicateKeyID(kid) }
                do {
                    jwtAuthorities[kid] = try key.publicKey()
                } catch {
                    switch error {
                    case .unsupported(let reason): throw .unsupportedKey(index: index, reason: reason)
                    case .invalid(let reason): throw .invalidKey(index: index, reason: reason)
                    }
                }
            default:
                continue
            }
        }
    }

    /// The bundle in SPIFFE bundle format (X.509 authorities first, then JWT authorities by `kid`).
    public func json() throws(JWKError) -> Data {
        var keys: [JWK] = []
        for certificate in x509Authorities { keys.append(try JWK(x509Authority: certificate)) }
        for kid in jwtAuthorities.keys.sorted() {
            keys.append(try JWK(publicKey: jwtAuthorities[kid]!, kid: kid, use: JWK.jwtSVIDUse))
        }
        return JWKSDocument(keys: keys, spiffe_sequence: sequenceNumber, spiffe_refresh_hint: refreshHint).encoded()
    }

    /// The X.509 part of the bundle.
    public var x509Bundle: X509Bundle { X509Bundle(trustDomain: trustDomain, authorities: x509Authorities) }

    /// The JWT part of the bundle.
    public var jwtBundle: JWTBundle { JWTBundle(trustDomain: trustDomain, authorities: jwtAuthorities) }

    public func x509Bundle(for trustDomain: TrustDomain) throws(BundleError) -> X509Bundle {
        guard trustDomain == self.trustDomain else { throw .noBundle(trustDomain) }
        return x509Bundle
    }

    public func jwtBundle(for trustDomain: TrustDomain) throws(BundleError) -> JWTBundle {
        guard trustDomain == self.trustDomain else { throw .noBundle(trustDomain) }
        return jwtBundle
    }
}
