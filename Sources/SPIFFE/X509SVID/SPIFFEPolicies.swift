import SwiftASN1
import X509

/// The X509-SVID leaf rules as a swift-certificates ``VerifierPolicy``: exactly one URI SAN with
/// a valid SPIFFE ID in the expected trust domain, `cA=false`, keyUsage digitalSignature without
/// keyCertSign or cRLSign.
public struct X509SVIDLeafPolicy: VerifierPolicy, Sendable {
    /// The leaf's SPIFFE ID must be in this trust domain.
    public let trustDomain: TrustDomain

    public init(trustDomain: TrustDomain) { self.trustDomain = trustDomain }

    public let verifyingCriticalExtensions: [ASN1ObjectIdentifier] = [
        .X509ExtensionID.keyUsage,
        .X509ExtensionID.basicConstraints,
        .X509ExtensionID.subjectAlternativeName,
    ]

    public func chainMeetsPolicyRequirements(chain: UnverifiedCertificateChain) -> PolicyEvaluationResult {
        do {
            let id = try X509SVID.checkLeaf(chain.leaf)
            guard id.trustDomain == trustDomain else {
                return .failsToMeetPolicy(reason: "leaf SPIFFE ID \(id) is not in trust domain \(trustDomain)")
            }
            return .meetsPolicy
        } catch {
            return .failsToMeetPolicy(reason: error.description)
        }
    }
}

/// The X509-SVID signing-certificate rules: every certificate above the leaf is a CA
/// (`cA=true`) whose keyUsage allows keyCertSign.
public struct X509SVIDSigningCertificatePolicy: VerifierPolicy, Sendable {
    public init() {}

    public let verifyingCriticalExtensions: [ASN1ObjectIdentifier] = [
        .X509ExtensionID.keyUsage,
        .X509ExtensionID.basicConstraints,
    ]

    public func chainMeetsPolicyRequirements(chain: UnverifiedCertificateChain) -> PolicyEvaluationResult {
        for certificate in chain.dropFirst() {
            do {
                try Self.check(certificate)
            } catch {
                return .failsToMeetPolicy(reason: error.description)
            }
        }
        return .meetsPolicy
    }

    static func check(_ certificate: Certificate) throws(X509SVIDError) {
        let subject = String(describing: certificate.subject)
        let basicConstraints: BasicConstraints?
        let keyUsage: KeyUsage?
        do {
            basicConstraints = try certificate.extensions.basicConstraints
            keyUsage = try certificate.extensions.keyUsage
        } catch {
            throw .unreadableExtension(String(describing: error))
        }
        guard case .isCertificateAuthority = basicConstraints else { throw .signingCertificateNotCA(subject: subject) }
        guard let keyUsage, keyUsage.keyCertSign else { throw .signingCertificateMissingKeyCertSign(subject: subject) }
    }
}
