import SwiftASN1
import X509

/// The swift-certificates policy for TPM endorsement-key certificates (TCG EK Credential
/// Profile for TPM 2.0), used with `RFC5280Policy` by ``EndorsementKeyVerifier``.
///
/// EK certificates commonly have an empty subject and a **critical** Subject Alternative Name
/// holding the TPM manufacturer, model and firmware version as a `directoryName` (OIDs
/// 2.23.133.2.1–3). swift-certificates rejects any leaf with a critical extension no policy in the
/// verifier claims, so this policy claims the SAN and the Extended Key Usage and really enforces
/// what it claims: the SAN must decode (its TPM attributes identify the chip, not a name to
/// match, so no name is matched), and an EKU, if present, must contain `tcg-kp-EKCertificate`
/// (2.23.133.8.1). Other critical extensions (e.g. a critical Subject Directory Attributes or
/// certificate policies) still fail verification.
public struct EndorsementKeyCertificatePolicy: VerifierPolicy, Sendable {
    /// `tcg-kp-EKCertificate`.
    public static let ekCertificateUsage: ASN1ObjectIdentifier = [2, 23, 133, 8, 1]

    /// The Subject Alternative Name and Extended Key Usage extensions.
    public let verifyingCriticalExtensions: [ASN1ObjectIdentifier] = [
        .X509ExtensionID.subjectAlternativeName,
        .X509ExtensionID.extendedKeyUsage,
    ]

    /// Creates the policy.
    public init() {}

    /// Checks the leaf's SAN and EKU; issuers are left to `RFC5280Policy`.
    public mutating func chainMeetsPolicyRequirements(chain: UnverifiedCertificateChain) async -> PolicyEvaluationResult {
        let leaf = chain.leaf
        do {
            _ = try leaf.extensions.subjectAlternativeNames
        } catch {
            return .failsToMeetPolicy(reason: "EK certificate: undecodable Subject Alternative Name: \(error)")
        }
        do {
            if let usage = try leaf.extensions.extendedKeyUsage,
               !usage.contains(ExtendedKeyUsage.Usage(oid: Self.ekCertificateUsage)) {
                return .failsToMeetPolicy(reason: "EK certificate: Extended Key Usage \(usage) lacks tcg-kp-EKCertificate (2.23.133.8.1)")
            }
        } catch {
            return .failsToMeetPolicy(reason: "EK certificate: undecodable Extended Key Usage: \(error)")
        }
        return .meetsPolicy
    }
}
