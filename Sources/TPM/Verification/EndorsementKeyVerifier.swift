import Foundation
import SwiftASN1
@_spi(FixedExpiryValidationTime) import X509

/// An endorsement key the server accepted, and why.
public struct VerifiedEndorsementKey: Hashable, Sendable {
    /// How the EK was accepted.
    public enum Method: Hashable, Sendable {
        /// Its ``TPMPublicArea/identityHex`` is on the allow-list.
        case allowList
        /// Its certificate chains to a trusted EK CA; the chain runs leaf first, root last.
        case certificate(chain: [Certificate])
    }

    /// The EK public area.
    public let publicArea: TPMPublicArea
    /// The agent identity: ``TPMPublicArea/identityHex`` of the EK.
    public let identity: String
    /// How it was accepted.
    public let method: Method
}

/// Decides whether the server trusts an endorsement key (EK): by an allow-list of EK identities,
/// by an EK certificate that chains to a trusted EK CA, or both.
public struct EndorsementKeyVerifier: Sendable {
    /// Accepted EK identities: lowercase hex ``TPMPublicArea/identityHex`` values.
    public var allowedIdentities: Set<String>
    /// Trust anchors for EK certificates (the TPM manufacturers' CAs; for swtpm the
    /// `swtpm-localca` root and issuer certificates).
    public var trustedRoots: [Certificate]
    /// Extra intermediate CA certificates to build chains with.
    public var intermediates: [Certificate]
    /// Whether the EK public area must be exactly a TCG default low-range template
    /// (``EndorsementKeyTemplate``), so that one TPM has exactly one identity. On by default;
    /// turn off only for EKs made from other templates, and then rely on the allow-list.
    public var requireDefaultTemplate: Bool

    /// Creates a verifier; with both lists empty every EK is refused.
    public init(
        allowedIdentities: Set<String> = [], trustedRoots: [Certificate] = [], intermediates: [Certificate] = [],
        requireDefaultTemplate: Bool = true
    ) {
        self.allowedIdentities = Set(allowedIdentities.map { $0.lowercased() })
        self.trustedRoots = trustedRoots
        self.intermediates = intermediates
        self.requireDefaultTemplate = requireDefaultTemplate
    }

    /// Creates a verifier trusting every certificate of a PEM bundle as an anchor, as EK CA
    /// bundles mix manufacturer roots and intermediates.
    ///
    /// - Throws: ``EndorsementKeyError/invalidCABundle(reason:)``.
    public init(allowedIdentities: Set<String> = [], caBundlePEM: String) throws(EndorsementKeyError) {
        var roots: [Certificate] = []
        do {
            for document in try PEMDocument.parseMultiple(pemString: caBundlePEM) {
                roots.append(try Certificate(pemDocument: document))
            }
        } catch {
            throw .invalidCABundle(reason: "\(error)")
        }
        guard !roots.isEmpty else { throw .invalidCABundle(reason: "no certificate in the bundle") }
        self.init(allowedIdentities: allowedIdentities, trustedRoots: roots)
    }

    /// Verifies an EK.
    ///
    /// The public area must look like an EK: `restricted`, `decrypt`, `fixedTPM` and `fixedParent`
    /// set, `sign` clear, and (with ``requireDefaultTemplate``) be exactly a TCG default template.
    /// Then the EK is accepted if its identity is on the allow-list, or if
    /// `certificate` (DER; trailing NV padding is ignored) certifies exactly this public key and
    /// chains to ``trustedRoots`` under `RFC5280Policy` and ``EndorsementKeyCertificatePolicy``
    /// at `validationTime` (`nil`: the current time when validating).
    ///
    /// - Throws: ``EndorsementKeyError``: with a certificate that fails, the certificate's error
    ///   (an EK with a bad certificate is not silently accepted by nothing else); otherwise
    ///   ``EndorsementKeyError/notAllowed(identity:reason:)``.
    public func verify(
        ekPublic: TPMPublicArea, certificate: [UInt8]?, validationTime: Date? = nil
    ) async throws(EndorsementKeyError) -> VerifiedEndorsementKey {
        let required: TPMObjectAttributes = [.restricted, .decrypt, .fixedTPM, .fixedParent]
        guard ekPublic.attributes.isSuperset(of: required), !ekPublic.attributes.contains(.sign) else {
            throw .notAnEndorsementKey(reason: "attributes \(ekPublic.attributes); an EK has restricted|decrypt|fixedTPM|fixedParent and not sign")
        }
        if requireDefaultTemplate, case .failure(let mismatch) = EndorsementKeyTemplate.match(ekPublic) {
            throw .notAnEndorsementKey(reason: "not a TCG default EK template (L-1 RSA 2048 or L-2 ECC P-256): \(mismatch)")
        }
        let identity = ekPublic.identityHex
        if allowedIdentities.contains(identity) {
            return VerifiedEndorsementKey(publicArea: ekPublic, identity: identity, method: .allowList)
        }
        guard let certificate else {
            throw .notAllowed(identity: identity, reason: "not on the allow-list and no EK certificate was presented")
        }
        guard !trustedRoots.isEmpty else {
            throw .notAllowed(identity: identity, reason: "not on the allow-list and no EK CA is configured")
        }
        let chain = try await verifyCertificate(certificate, for: ekPublic, at: validationTime)
        return VerifiedEndorsementKey(publicArea: ekPublic, identity: identity, method: .certificate(chain: chain))
    }

    private func verifyCertificate(
        _ der: [UInt8], for ekPublic: TPMPublicArea, at time: Date?
    ) async throws(EndorsementKeyError) -> [Certificate] {
        let leaf: Certificate
        do {
            leaf = try Certificate(derEncoded: EndorsementKeyCertificate.trimmed(der))
        } catch {
            throw .malformedCertificate(reason: "\(error)")
        }
        let key: TPMPublicKey
        do {
            key = try ekPublic.publicKey()
        } catch {
            throw .notAnEndorsementKey(reason: error.description)
        }
        guard key.certificatePublicKey == leaf.publicKey else { throw .certificateKeyMismatch }

        let rfc5280 = time.map { RFC5280Policy(fixedExpiryValidationTime: $0) } ?? RFC5280Policy()
        var verifier = Verifier(rootCertificates: CertificateStore(trustedRoots)) {
            rfc5280
            EndorsementKeyCertificatePolicy()
        }
        let diagnostics = DiagnosticLog()
        let result = await verifier.validate(leaf: leaf, intermediates: CertificateStore(intermediates)) { diagnostic in
            diagnostics.append(String(describing: diagnostic))
        }
        switch result {
        case .validCertificate(let chain):
            return Array(chain)
        case .couldNotValidate(let failures):
            let reasons = failures.map { $0.policyFailureReason.description }
            let detail = reasons.isEmpty ? diagnostics.lines.suffix(3).joined(separator: "; ") : reasons.joined(separator: "; ")
            throw .certificateNotTrusted(reason: detail.isEmpty ? "no chain to a trusted EK CA" : detail)
        }
    }
}

/// Collects verifier diagnostics; the verifier calls back synchronously on the validating task.
private final class DiagnosticLog {
    private(set) var lines: [String] = []
    func append(_ line: String) { lines.append(line) }
}
