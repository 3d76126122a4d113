import Foundation
import X509

/// The JWT authorities (public keys by key ID) of one trust domain.
public struct JWTBundle: Hashable, Sendable, JWTBundleSource {
    /// The trust domain these authorities vouch for.
    public let trustDomain: TrustDomain
    /// Public keys by key ID (`kid`).
    public private(set) var authorities: [String: Certificate.PublicKey]

    /// A bundle of the given authorities.
    public init(trustDomain: TrustDomain, authorities: [String: Certificate.PublicKey] = [:]) {
        self.trustDomain = trustDomain
        self.authorities = authorities
    }

    /// Reads a JWKS document (RFC 7517). Every key needs a `kid`; keys whose `use` is set to
    /// something other than `jwt-svid` are skipped.
    public init(trustDomain: TrustDomain, jwks bytes: some Collection<UInt8>) throws(BundleError) {
        let document = try JWKSDocument.decode(bytes)
        guard let keys = document.keys else { throw .missingKeys }
        var authorities: [String: Certificate.PublicKey] = [:]
        for (index, key) in keys.enumerated() where key.use == nil || key.use == JWK.jwtSVIDUse {
            guard let kid = key.kid, !kid.isEmpty else { throw .missingKeyID(index: index) }
            guard authorities[kid] == nil else { throw .duplicateKeyID(kid) }
            do {
                authorities[kid] = try key.publicKey()
            } catch {
                switch error {
                case .unsupported(let reason): throw .unsupportedKey(index: index, reason: reason)
                case .invalid(let reason): throw .invalidKey(index: index, reason: reason)
                }
            }
        }
        self.init(trustDomain: trustDomain, authorities: authorities)
    }

    /// The key for `kid`, if present.
    public func authority(keyID kid: String) -> Certificate.PublicKey? { authorities[kid] }

    /// Adds or replaces the key for `kid`.
    public mutating func setAuthority(_ key: Certificate.PublicKey, keyID kid: String) { authorities[kid] = key }

    /// Removes the key for `kid`.
    public mutating func removeAuthority(keyID kid: String) { authorities[kid] = nil }

    /// The bundle as a JWKS document (keys sorted by `kid`, `use: jwt-svid`).
    public func jwks() throws(JWKError) -> Data {
        var keys: [JWK] = []
        for kid in authorities.keys.sorted() {
            keys.append(try JWK(publicKey: authorities[kid]!, kid: kid, use: JWK.jwtSVIDUse))
        }
        return JWKSDocument(keys: keys).encoded()
    }

    public func jwtBundle(for trustDomain: TrustDomain) throws(BundleError) -> JWTBundle {
        guard trustDomain == self.trustDomain else { throw .noBundle(trustDomain) }
        return self
    }
}
