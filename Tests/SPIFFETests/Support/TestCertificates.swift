import Crypto
import Foundation
import SPIFFE
import SwiftASN1
import Testing
import X509

/// Certificates built directly with swift-certificates, so each test can break exactly one
/// X509-SVID rule (our own CA refuses to make most of these).
enum TestCertificates {
    /// A certificate and the key that signs with it.
    struct Issuer {
        let certificate: Certificate
        let key: Certificate.PrivateKey
    }

    static let defaultID = "spiffe://example.org/workload"

    static func newKey() -> Certificate.PrivateKey { Certificate.PrivateKey(P256.Signing.PrivateKey()) }

    static func name(_ commonName: String) throws -> DistinguishedName {
        try DistinguishedName { CommonName(commonName) }
    }

    /// A signing certificate. `issuer == nil` makes it self-signed (a root).
    static func authority(
        _ commonName: String = "Test Root",
        trustDomain: String = "example.org",
        issuer: Issuer? = nil,
        isCA: Bool = true,
        keyUsage: KeyUsage? = KeyUsage(digitalSignature: true, keyCertSign: true, cRLSign: true),
        notBefore: Date = Date().addingTimeInterval(-3600),
        notAfter: Date = Date().addingTimeInterval(24 * 3600)
    ) throws -> Issuer {
        let key = newKey()
        let extensions = try Certificate.Extensions {
            Critical(isCA ? BasicConstraints.isCertificateAuthority(maxPathLength: nil) : .notCertificateAuthority)
            if let keyUsage { Critical(keyUsage) }
            SubjectAlternativeNames([.uniformResourceIdentifier("spiffe://\(trustDomain)")])
            SubjectKeyIdentifier(hash: key.publicKey)
        }
        let certificate = try make(
            subject: try name(commonName), publicKey: key.publicKey, issuer: issuer, selfKey: key,
            notBefore: notBefore, notAfter: notAfter, extensions: extensions)
        return Issuer(certificate: certificate, key: key)
    }

    /// A leaf whose extensions the caller chooses; the defaults make a valid X509-SVID.
    static func leaf(
        issuer: Issuer,
        uris: [String] = [defaultID],
        basicConstraints: BasicConstraints? = .notCertificateAuthority,
        keyUsage: KeyUsage? = KeyUsage(digitalSignature: true),
        notBefore: Date = Date().addingTimeInterval(-600),
        notAfter: Date = Date().addingTimeInterval(3600),
        key: Certificate.PrivateKey = newKey()
    ) throws -> Certificate {
        let extensions = try Certificate.Extensions {
            if let basicConstraints { Critical(basicConstraints) }
            if let keyUsage { Critical(keyUsage) }
            if !uris.isEmpty { SubjectAlternativeNames(uris.map { GeneralName.uniformResourceIdentifier($0) }) }
        }
        return try make(
            subject: try name("leaf"), publicKey: key.publicKey, issuer: issuer, selfKey: key,
            notBefore: notBefore, notAfter: notAfter, extensions: extensions)
    }

    static func make(
        subject: DistinguishedName,
        publicKey: Certificate.PublicKey,
        issuer: Issuer?,
        selfKey: Certificate.PrivateKey,
        notBefore: Date,
        notAfter: Date,
        extensions: Certificate.Extensions
    ) throws -> Certificate {
        try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: publicKey,
            notValidBefore: notBefore,
            notValidAfter: notAfter,
            issuer: issuer?.certificate.subject ?? subject,
            subject: subject,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: extensions,
            issuerPrivateKey: issuer?.key ?? selfKey)
    }

    /// The certificate with one bit of its signature flipped.
    static func tampered(_ certificate: Certificate) throws -> Certificate {
        var der = CertificateEncoding.der(certificate)
        der[der.count - 1] ^= 0x01
        return try Certificate(derEncoded: der)
    }
}

/// The test bundle's fixture files.
enum Fixture {
    static func url(_ name: String) throws -> URL {
        let directory = try #require(Bundle.module.url(forResource: "testdata", withExtension: nil), "testdata not bundled")
        return directory.appendingPathComponent(name)
    }

    static func bytes(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: try url(name)))
    }
}
