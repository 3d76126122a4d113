import Foundation
@_spi(FixedExpiryValidationTime) import X509

/// Verifies X509-SVIDs against trust bundles, per the X509-SVID specification: the leaf rules,
/// the signing-certificate rules, validity periods and RFC 5280 path validation to an authority
/// in the bundle of the leaf's trust domain, using swift-certificates' ``Verifier``.
public struct X509SVIDVerifier: Sendable {
    /// Where the authorities come from.
    public var bundles: any X509BundleSource
    /// The time to validate at; `nil` means the current time at each verification.
    public var validationTime: Date?

    public init(bundles: any X509BundleSource, validationTime: Date? = nil) {
        self.bundles = bundles
        self.validationTime = validationTime
    }

    /// Verifies a chain (leaf first, then any intermediates the peer sent).
    ///
    /// - Returns: the SVID and the chain that was built, leaf to root.
    /// - Throws: ``X509SVIDError`` naming the first rule the chain broke.
    public func verify(_ certificates: [Certificate]) async throws(X509SVIDError) -> VerifiedX509SVID {
        guard let leaf = certificates.first else { throw .emptyChain }
        let spiffeID = try X509SVID.checkLeaf(leaf)
        let now = validationTime ?? Date()
        // Name the time rule precisely for the leaf; the chain is checked by the RFC 5280 policy.
        if now < leaf.notValidBefore { throw .notYetValid(notBefore: leaf.notValidBefore) }
        if now > leaf.notValidAfter { throw .expired(notAfter: leaf.notValidAfter) }
        for intermediate in certificates.dropFirst() {
            try X509SVIDSigningCertificatePolicy.check(intermediate)
        }
        // swift-certificates reports a certificate with a critical extension no policy handles as
        // "no chain found"; name the extension instead.
        let handled = RFC5280Policy().verifyingCriticalExtensions
            + X509SVIDLeafPolicy(trustDomain: spiffeID.trustDomain).verifyingCriticalExtensions
        for certificate in certificates {
            if let unhandled = certificate.extensions.first(where: { $0.critical && !handled.contains($0.oid) }) {
                throw .chainPolicyFailure(
                    "certificate '\(certificate.subject)' has critical extension \(unhandled.oid), which SPIFFE verification does not support")
            }
        }
        let bundle: X509Bundle
        do {
            bundle = try bundles.x509Bundle(for: spiffeID.trustDomain)
        } catch {
            throw .noBundle(error)
        }
        if bundle.authorities.contains(leaf) { throw .leafIsTrustAnchor }
        let result: CertificateValidationResult
        let trustDomain = spiffeID.trustDomain
        let roots = CertificateStore(bundle.authorities)
        let intermediates = CertificateStore(certificates.dropFirst())
        if let validationTime {
            var verifier = Verifier(rootCertificates: roots) {
                RFC5280Policy(fixedExpiryValidationTime: validationTime)
                X509SVIDLeafPolicy(trustDomain: trustDomain)
                X509SVIDSigningCertificatePolicy()
            }
            result = await verifier.validate(leaf: leaf, intermediates: intermediates)
        } else {
            var verifier = Verifier(rootCertificates: roots) {
                RFC5280Policy()
                X509SVIDLeafPolicy(trustDomain: trustDomain)
                X509SVIDSigningCertificatePolicy()
            }
            result = await verifier.validate(leaf: leaf, intermediates: intermediates)
        }
        switch result {
        case .validCertificate(let chain):
            return VerifiedX509SVID(spiffeID: spiffeID, chain: Array(chain))
        case .couldNotValidate(let failures):
            guard let failure = failures.first else { throw .untrusted(trustDomain: trustDomain) }
            // Name the time rule precisely when a CA certificate is outside its validity period.
            for certificate in failure.chain.dropFirst() {
                let subject = String(describing: certificate.subject)
                if now < certificate.notValidBefore {
                    throw .caNotYetValid(subject: subject, notBefore: certificate.notValidBefore)
                }
                if now > certificate.notValidAfter { throw .caExpired(subject: subject, notAfter: certificate.notValidAfter) }
            }
            throw .chainPolicyFailure(Self.summarize(failure.policyFailureReason.description))
        }
    }
}

extension X509SVIDVerifier {
    /// swift-certificates' reasons embed whole certificate descriptions; keep only their subjects.
    static func summarize(_ reason: String) -> String {
        let certificate = /Certificate\(version: .*?subject: "(?<subject>[^"]*)".*?extensions: \[.*?\]\)/
        return reason.replacing(certificate) { match in "'\(match.output.subject)'" }
    }
}

/// The outcome of a successful X509-SVID verification.
public struct VerifiedX509SVID: Sendable, Hashable {
    /// The SPIFFE ID of the leaf.
    public let spiffeID: SPIFFEID
    /// The verified chain, leaf first, ending at a bundle authority.
    public let chain: [Certificate]

    /// The leaf certificate.
    public var leaf: Certificate { chain[0] }
    /// When the leaf expires.
    public var expiry: Date { leaf.notValidAfter }
}
