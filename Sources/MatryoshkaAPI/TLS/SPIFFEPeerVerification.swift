import Foundation
import NIOCore
import NIOSSL
import SPIFFE
import X509

/// TLS peer verification by SPIFFE rules instead of host names: the peer's chain must be a valid
/// X509-SVID for the current bundle, and its SPIFFE ID must be one the caller accepts.
public enum SPIFFEPeerVerification {
    /// What a peer may present.
    public enum Expectation: Sendable {
        /// Exactly this SPIFFE ID (e.g. the server's).
        case id(SPIFFEID)
        /// Any SVID of the bundle's trust domain, or a single self-signed certificate (an agent's
        /// bootstrap certificate during node attestation). Handlers decide what the caller may do.
        case svidOrSelfSigned
    }

    /// A verification callback for grpc-swift-nio-transport's TLS configuration.
    ///
    /// `onFailure` hears why a peer was refused (for logs that say more than "handshake failed").
    public static func callback(
        expecting expectation: Expectation,
        bundle: @escaping @Sendable () async -> any X509BundleSource,
        onFailure: @escaping @Sendable (String) -> Void = { _ in }
    ) -> @Sendable ([NIOSSLCertificate], EventLoopPromise<NIOSSLVerificationResultWithMetadata>) -> Void {
        { presented, promise in
            Task {
                switch await verify(presented, expecting: expectation, bundle: await bundle()) {
                case .success(let chain):
                    promise.succeed(.certificateVerified(VerificationMetadata(ValidatedCertificateChain(chain))))
                case .failure(let reason):
                    onFailure(reason.message)
                    promise.succeed(.failed)
                }
            }
        }
    }

    struct Refusal: Error {
        let message: String
    }

    static func verify(
        _ presented: [NIOSSLCertificate], expecting expectation: Expectation, bundle: any X509BundleSource
    ) async -> Result<[NIOSSLCertificate], Refusal> {
        guard !presented.isEmpty else { return .failure(Refusal(message: "no certificate presented")) }
        var certificates: [Certificate] = []
        for certificate in presented {
            guard let der = try? certificate.toDERBytes(), let parsed = try? Certificate(derEncoded: der) else {
                return .failure(Refusal(message: "unreadable certificate"))
            }
            certificates.append(parsed)
        }
        let verification: VerifiedX509SVID
        do {
            verification = try await X509SVIDVerifier(bundles: bundle).verify(certificates)
        } catch {
            if case .svidOrSelfSigned = expectation, certificates.count == 1, isValidSelfSigned(certificates[0]) {
                return .success(presented)
            }
            return .failure(Refusal(message: "peer certificate refused: \(error)"))
        }
        if case .id(let expected) = expectation, verification.spiffeID != expected {
            return .failure(Refusal(message: "peer is \(verification.spiffeID), expected \(expected)"))
        }
        let chain = verification.chain.compactMap { try? NIOSSLCertificate(bytes: CertificateEncoding.der($0), format: .der) }
        guard chain.count == verification.chain.count, !chain.isEmpty else {
            return .failure(Refusal(message: "cannot re-encode the verified chain"))
        }
        return .success(chain)
    }

    static func isValidSelfSigned(_ certificate: Certificate) -> Bool {
        let now = Date()
        return certificate.issuer == certificate.subject
            && certificate.publicKey.isValidSignature(certificate.signature, for: certificate)
            && certificate.notValidBefore <= now.addingTimeInterval(60) && now <= certificate.notValidAfter
    }
}
