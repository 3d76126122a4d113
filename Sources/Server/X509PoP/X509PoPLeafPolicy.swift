import SwiftASN1
import X509

/// The node-certificate rules of x509pop, used with `RFC5280Policy` by ``X509PoPAttestor``: the
/// leaf has a keyUsage allowing digitalSignature (it signs the proof) and is not a CA (a
/// provisioning CA's key is not a node). It claims the leaf's keyUsage, Subject Alternative Name
/// and Extended Key Usage, so a node certificate with these marked critical still verifies; any
/// extended key usage is accepted, as in SPIRE.
public struct X509PoPLeafPolicy: VerifierPolicy, Sendable {
    public let verifyingCriticalExtensions: [ASN1ObjectIdentifier] = [
        .X509ExtensionID.keyUsage,
        .X509ExtensionID.subjectAlternativeName,
        .X509ExtensionID.extendedKeyUsage,
    ]

    public init() {}

    public func chainMeetsPolicyRequirements(chain: UnverifiedCertificateChain) -> PolicyEvaluationResult {
        let leaf = chain.leaf
        do {
            guard let usage = try leaf.extensions.keyUsage else {
                return .failsToMeetPolicy(reason: "node certificate has no key usage extension; x509pop needs digitalSignature")
            }
            guard usage.digitalSignature else {
                return .failsToMeetPolicy(reason: "node certificate's key usage (\(usage)) does not allow digitalSignature")
            }
            if case .isCertificateAuthority = try leaf.extensions.basicConstraints {
                return .failsToMeetPolicy(reason: "node certificate is a CA certificate (basicConstraints cA=true); x509pop admits end-entity certificates only")
            }
            _ = try leaf.extensions.subjectAlternativeNames
            _ = try leaf.extensions.extendedKeyUsage
        } catch {
            return .failsToMeetPolicy(reason: "node certificate has an undecodable extension: \(error)")
        }
        return .meetsPolicy
    }
}
