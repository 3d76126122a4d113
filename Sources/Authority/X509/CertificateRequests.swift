import Foundation
import SPIFFE
import SwiftASN1
import X509

/// What a key holder sends to the authority: a CSR proving possession of the key, and a
/// short-lived self-signed certificate for TLS before it has an SVID.
public enum CertificateRequests {
    /// A PKCS#10 request (DER) for `key`, optionally naming the SPIFFE ID asked for.
    public static func csr(for key: SigningKey, spiffeID: SPIFFEID? = nil) throws(AuthorityError) -> [UInt8] {
        do {
            var attributes = CertificateSigningRequest.Attributes()
            if let spiffeID {
                let extensions = try Certificate.Extensions {
                    SubjectAlternativeNames([.uniformResourceIdentifier(spiffeID.description)])
                }
                attributes.insert(try CertificateSigningRequest.Attribute(ExtensionRequest(extensions: extensions)))
            }
            let request = try CertificateSigningRequest(
                version: .v1,
                subject: try DistinguishedName { OrganizationName("Matryoshka") },
                privateKey: key.certificatePrivateKey,
                attributes: attributes,
                signatureAlgorithm: key.signatureAlgorithm)
            var serializer = DER.Serializer()
            try serializer.serialize(request)
            return serializer.serializedBytes
        } catch {
            throw .signing("cannot create CSR: \(error)")
        }
    }

    /// A self-signed certificate for `key`, valid for `lifetime`, used only to hold a TLS
    /// connection to the server during node attestation.
    public static func bootstrapCertificate(for key: SigningKey, lifetime: Duration = .seconds(600), now: Date = Date()) throws(AuthorityError) -> Certificate {
        do {
            let name = try DistinguishedName {
                OrganizationName("Matryoshka")
                CommonName("agent bootstrap")
            }
            return try Certificate(
                version: .v3,
                serialNumber: .random(),
                publicKey: key.publicKey,
                notValidBefore: now.addingTimeInterval(-CertificateAuthority.backdate),
                notValidAfter: now.addingTimeInterval(lifetime.timeInterval),
                issuer: name,
                subject: name,
                signatureAlgorithm: key.signatureAlgorithm,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.notCertificateAuthority)
                    Critical(KeyUsage(digitalSignature: true))
                },
                issuerPrivateKey: key.certificatePrivateKey)
        } catch {
            throw .signing("cannot create bootstrap certificate: \(error)")
        }
    }
}
