import Crypto
import Foundation
import SPIFFE
import SwiftASN1
import X509
import _CryptoExtras

/// An X.509 certificate authority for one trust domain: a signing certificate (a self-signed
/// root, or an intermediate under an upstream CA) with its key, issuing X509-SVIDs.
public struct CertificateAuthority: Sendable {
    /// How far certificates are back-dated, to tolerate clock skew between machines.
    public static let backdate: TimeInterval = 10

    public let trustDomain: TrustDomain
    /// The CA certificate that signs SVIDs.
    public let certificate: Certificate
    /// Certificates between `certificate` and the trust anchor (empty for a self-signed root).
    /// Issued SVIDs carry them so peers can build the path.
    public let upstreamChain: [Certificate]
    public let key: SigningKey
    /// Whether the CA certificate is its own issuer (same name, and its signature verifies under
    /// its own key). Decided once here: `issue` needs it for every SVID, and the check is a
    /// signature verification, as costly as the CSR check of an issuance.
    public let isSelfSigned: Bool
    /// The CA certificate's subject key identifier (or, if it has none, one derived from its key):
    /// what issued certificates and CRLs name in their authorityKeyIdentifier.
    public let keyIdentifier: [UInt8]

    /// Loads a CA from its certificate and key, checking that they match and that the
    /// certificate may sign certificates.
    public init(trustDomain: TrustDomain, certificate: Certificate, key: SigningKey, upstreamChain: [Certificate] = []) throws(AuthorityError) {
        guard key.publicKey == certificate.publicKey else { throw .keyDoesNotMatchCertificate }
        do {
            guard case .isCertificateAuthority = try certificate.extensions.basicConstraints else {
                throw AuthorityError.notACertificateAuthority("basicConstraints cA is not true")
            }
            if let keyUsage = try certificate.extensions.keyUsage, !keyUsage.keyCertSign {
                throw AuthorityError.notACertificateAuthority("keyUsage lacks keyCertSign")
            }
        } catch let error as AuthorityError {
            throw error
        } catch {
            throw .invalidCertificate(String(describing: error))
        }
        self.trustDomain = trustDomain
        self.certificate = certificate
        self.upstreamChain = upstreamChain
        self.key = key
        self.isSelfSigned = certificate.subject == certificate.issuer
            && certificate.publicKey.isValidSignature(certificate.signature, for: certificate)
        self.keyIdentifier = Array(try subjectKeyIdentifier(of: certificate))
    }

    /// Creates a self-signed root CA for `trustDomain`, valid for `ttl` from `now`.
    public static func createRoot(
        trustDomain: TrustDomain,
        keyAlgorithm: KeyAlgorithm = .default,
        ttl: Duration = .seconds(24 * 3600),
        now: Date = Date(),
        commonName: String? = nil
    ) throws(AuthorityError) -> CertificateAuthority {
        let key = try SigningKey(generating: keyAlgorithm)
        let subject = caSubject(trustDomain: trustDomain, commonName: commonName)
        let certificate = try makeCACertificate(
            trustDomain: trustDomain, subjectKey: key.publicKey, subject: subject, issuer: subject,
            issuerKey: key, authorityKeyIdentifier: nil, ttl: ttl, now: now, notAfterLimit: nil)
        return try CertificateAuthority(trustDomain: trustDomain, certificate: certificate, key: key)
    }

    /// Creates an intermediate CA signed by this CA (for an upstream-rooted deployment, or for the
    /// next CA in a rotation chain). Its validity never exceeds this CA's.
    public func createIntermediate(
        keyAlgorithm: KeyAlgorithm = .default,
        ttl: Duration,
        now: Date = Date(),
        commonName: String? = nil
    ) throws(AuthorityError) -> CertificateAuthority {
        let key = try SigningKey(generating: keyAlgorithm)
        // Each CA needs its own name: path building goes by issuer name, and a CA named like its
        // issuer looks self-signed. The default name carries the start of the key's identifier.
        let keyID = SubjectKeyIdentifier(hash: key.publicKey).keyIdentifier.prefix(6).map { String(format: "%02x", $0) }.joined()
        let subject = Self.caSubject(trustDomain: trustDomain, commonName: commonName ?? "\(trustDomain) intermediate CA \(keyID)")
        let certificate = try Self.makeCACertificate(
            trustDomain: trustDomain, subjectKey: key.publicKey, subject: subject, issuer: self.certificate.subject,
            issuerKey: self.key, authorityKeyIdentifier: keyIdentifier[...],
            ttl: ttl, now: now, notAfterLimit: self.certificate.notValidAfter)
        return try CertificateAuthority(
            trustDomain: trustDomain, certificate: certificate, key: key,
            upstreamChain: self.upstreamChain.isEmpty && isSelfSigned ? [] : [self.certificate] + self.upstreamChain)
    }

    /// Issues an X509-SVID. The leaf never outlives the CA.
    ///
    /// - Returns: the leaf followed by the CA certificates a peer needs to reach the trust anchor
    ///   (none for a root CA, whose certificate is in the bundle).
    public func issue(_ parameters: X509SVIDParameters, now: Date = Date()) throws(AuthorityError) -> [Certificate] {
        guard parameters.spiffeID.trustDomain == trustDomain else {
            throw .trustDomainMismatch(expected: trustDomain, found: parameters.spiffeID.trustDomain)
        }
        guard parameters.ttl > .zero else { throw .invalidTTL("must be positive") }
        guard now < certificate.notValidAfter else { throw .caExpired(notAfter: certificate.notValidAfter) }
        for name in parameters.dnsNames { try X509SVIDParameters.validate(dnsName: name) }

        let notBefore = max(now.addingTimeInterval(-Self.backdate), certificate.notValidBefore)
        let notAfter = min(now.addingTimeInterval(parameters.ttl.timeInterval), certificate.notValidAfter)
        var subject = DistinguishedName()
        do {
            subject = try DistinguishedName {
                OrganizationName("Matryoshka")
                if let first = parameters.dnsNames.first { CommonName(first) }
            }
            var sans: [GeneralName] = [.uniformResourceIdentifier(parameters.spiffeID.description)]
            sans += parameters.dnsNames.map { GeneralName.dnsName($0) }
            let isRSA = Self.isRSA(parameters.publicKey)
            var extensions = try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true, keyEncipherment: isRSA, keyAgreement: !isRSA))
                try ExtendedKeyUsage([.serverAuth, .clientAuth])
                SubjectAlternativeNames(sans)
                try parameters.publicKeySPKI.map(Self.keyIdentifier(ofSPKI:)) ?? SubjectKeyIdentifier(hash: parameters.publicKey)
                AuthorityKeyIdentifier(keyIdentifier: keyIdentifier[...])
            }
            for extraExtension in parameters.extraExtensions {
                guard extensions[oid: extraExtension.oid] == nil else {
                    throw AuthorityError.signing("extra extension \(extraExtension.oid) duplicates one the CA sets")
                }
                try extensions.append(extraExtension)
            }
            let leaf = try Certificate(
                version: .v3,
                serialNumber: .random(),
                publicKey: parameters.publicKey,
                notValidBefore: notBefore,
                notValidAfter: notAfter,
                issuer: certificate.subject,
                subject: subject,
                signatureAlgorithm: key.signatureAlgorithm,
                extensions: extensions,
                issuerPrivateKey: key.certificatePrivateKey)
            return [leaf] + (isSelfSigned ? [] : [certificate] + upstreamChain.filter { $0.subject != $0.issuer })
        } catch let error as AuthorityError {
            throw error
        } catch {
            throw .signing(String(describing: error))
        }
    }

    /// RFC 5280 4.2.1.2 method 1, as `SubjectKeyIdentifier(hash:)` computes it: the SHA-1 of the
    /// subjectPublicKey BIT STRING's bytes, here taken from SubjectPublicKeyInfo DER.
    static func keyIdentifier(ofSPKI spki: [UInt8]) throws -> SubjectKeyIdentifier {
        let node = try DER.parse(spki)
        guard case .constructed(let children) = node.content else {
            throw AuthorityError.invalidKey("SubjectPublicKeyInfo is not a SEQUENCE")
        }
        var iterator = children.makeIterator()
        guard iterator.next() != nil, let keyNode = iterator.next(), iterator.next() == nil else {
            throw AuthorityError.invalidKey("SubjectPublicKeyInfo does not hold an algorithm and a key")
        }
        let key = try ASN1BitString(derEncoded: keyNode)
        return SubjectKeyIdentifier(keyIdentifier: ArraySlice(Insecure.SHA1.hash(data: key.bytes)))
    }

    static func isRSA(_ key: Certificate.PublicKey) -> Bool {
        _RSA.Signing.PublicKey(key) != nil
    }

    static func caSubject(trustDomain: TrustDomain, commonName: String?) -> DistinguishedName {
        // Building a name from fixed attribute types cannot fail.
        (try? DistinguishedName {
            OrganizationName("Matryoshka")
            CommonName(commonName ?? "\(trustDomain) CA")
        }) ?? DistinguishedName()
    }

    static func makeCACertificate(
        trustDomain: TrustDomain,
        subjectKey: Certificate.PublicKey,
        subject: DistinguishedName,
        issuer: DistinguishedName,
        issuerKey: SigningKey,
        authorityKeyIdentifier: ArraySlice<UInt8>?,
        ttl: Duration,
        now: Date,
        notAfterLimit: Date?
    ) throws(AuthorityError) -> Certificate {
        guard ttl > .zero else { throw .invalidTTL("CA TTL must be positive") }
        var notAfter = now.addingTimeInterval(ttl.timeInterval)
        if let notAfterLimit { notAfter = min(notAfter, notAfterLimit) }
        do {
            let extensions = try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(digitalSignature: true, keyCertSign: true, cRLSign: true))
                SubjectAlternativeNames([.uniformResourceIdentifier(trustDomain.id.description)])
                SubjectKeyIdentifier(hash: subjectKey)
                if let authorityKeyIdentifier { AuthorityKeyIdentifier(keyIdentifier: authorityKeyIdentifier) }
            }
            return try Certificate(
                version: .v3,
                serialNumber: .random(),
                publicKey: subjectKey,
                notValidBefore: now.addingTimeInterval(-backdate),
                notValidAfter: notAfter,
                issuer: issuer,
                subject: subject,
                signatureAlgorithm: issuerKey.signatureAlgorithm,
                extensions: extensions,
                issuerPrivateKey: issuerKey.certificatePrivateKey)
        } catch {
            throw .signing(String(describing: error))
        }
    }
}

func subjectKeyIdentifier(of certificate: Certificate) throws(AuthorityError) -> ArraySlice<UInt8> {
    do {
        if let identifier = try certificate.extensions.subjectKeyIdentifier { return identifier.keyIdentifier }
    } catch {
        throw .invalidCertificate("unreadable subjectKeyIdentifier: \(error)")
    }
    return SubjectKeyIdentifier(hash: certificate.publicKey).keyIdentifier
}

extension Duration {
    /// The duration in seconds, as Foundation counts time.
    public var timeInterval: TimeInterval {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
