import Crypto
import Foundation
import SwiftASN1
import WorkloadAPI
import X509

/// Real certificates and keys for the tests: a self-signed CA and X509-SVIDs it signs, shaped as
/// the SPIFFE X509-SVID profile requires (so independent SPIFFE libraries accept them).
struct TestPKI {
    let trustDomain: String
    let caKey: P256.Signing.PrivateKey
    let caCertificate: Certificate
    /// The CA certificate, DER.
    let caDER: [UInt8]
    /// A JWT signing key and its JWKS document.
    let jwtKey: P256.Signing.PrivateKey
    let jwtKeyID: String

    init(trustDomain: String = "example.org") throws {
        self.trustDomain = trustDomain
        caKey = P256.Signing.PrivateKey()
        let name = try DistinguishedName {
            OrganizationName("Matryoshka tests")
            CommonName("\(trustDomain) test CA")
        }
        let now = Date()
        caCertificate = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: Certificate.PublicKey(caKey.publicKey),
            notValidBefore: now.addingTimeInterval(-60),
            notValidAfter: now.addingTimeInterval(3600),
            issuer: name,
            subject: name,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectAlternativeNames([.uniformResourceIdentifier("spiffe://\(trustDomain)")])
            },
            issuerPrivateKey: Certificate.PrivateKey(caKey)
        )
        caDER = try Self.der(caCertificate)
        jwtKey = P256.Signing.PrivateKey()
        jwtKeyID = "test-key-1"
    }

    /// An X509-SVID for `path` in the trust domain, signed by the CA, with its PKCS#8 key.
    func svid(path: String, hint: String = "") throws -> X509SVIDMaterial {
        let key = P256.Signing.PrivateKey()
        let spiffeID = "spiffe://\(trustDomain)\(path)"
        let now = Date()
        let leaf = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: Certificate.PublicKey(key.publicKey),
            notValidBefore: now.addingTimeInterval(-60),
            notValidAfter: now.addingTimeInterval(1800),
            issuer: caCertificate.subject,
            subject: try DistinguishedName { OrganizationName("SPIRE-compatible test") },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth, .clientAuth])
                SubjectAlternativeNames([.uniformResourceIdentifier(spiffeID)])
            },
            issuerPrivateKey: Certificate.PrivateKey(caKey)
        )
        return X509SVIDMaterial(
            spiffeID: spiffeID,
            certificateChain: [try Self.der(leaf)],
            privateKey: Array(key.derRepresentation),
            bundle: [caDER],
            hint: hint
        )
    }

    /// A JWKS document with the JWT signing key, as the Workload API carries it.
    var jwks: [UInt8] {
        let raw = Array(jwtKey.publicKey.rawRepresentation)
        let x = Self.base64URL(raw[0..<32])
        let y = Self.base64URL(raw[32..<64])
        let json = #"{"keys":[{"kty":"EC","crv":"P-256","x":"\#(x)","y":"\#(y)","kid":"\#(jwtKeyID)","use":"jwt-svid"}]}"#
        return Array(json.utf8)
    }

    /// A real ES256 JWT-SVID for `spiffeID`, signed with the JWT key, valid for five minutes.
    func jwtSVID(spiffeID: String, audience: [String]) throws -> String {
        let header = #"{"alg":"ES256","kid":"\#(jwtKeyID)","typ":"JWT"}"#
        let audienceJSON = audience.map { "\"\($0)\"" }.joined(separator: ",")
        let expiry = Int(Date().timeIntervalSince1970) + 300
        let payload = #"{"sub":"\#(spiffeID)","aud":[\#(audienceJSON)],"exp":\#(expiry)}"#
        let signingInput = Self.base64URL(Array(header.utf8)) + "." + Self.base64URL(Array(payload.utf8))
        let signature = try jwtKey.signature(for: Array(signingInput.utf8))
        return signingInput + "." + Self.base64URL(signature.rawRepresentation)
    }

    static func der(_ certificate: Certificate) throws -> [UInt8] {
        var serializer = DER.Serializer()
        try serializer.serialize(certificate)
        return serializer.serializedBytes
    }

    static func base64URL(_ bytes: some Sequence<UInt8>) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
