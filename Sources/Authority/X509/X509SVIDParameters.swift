import Foundation
import SPIFFE
import SwiftASN1
import X509

/// What to put in an X509-SVID: whose identity, which public key, for how long, with which DNS
/// names and extra extensions (lineage uses one).
public struct X509SVIDParameters: Sendable {
    public var spiffeID: SPIFFEID
    public var publicKey: Certificate.PublicKey
    public var ttl: Duration
    public var dnsNames: [String]
    /// Extra, non-SPIFFE extensions (for example the lineage extension). They must not repeat
    /// an extension the authority sets itself.
    public var extraExtensions: [Certificate.Extension]
    /// `publicKey` as SubjectPublicKeyInfo DER, when the caller has it already: the subject key
    /// identifier is then hashed from these bytes instead of encoding the key again (for an EC
    /// key, a field inversion). Must be the encoding of `publicKey`.
    public var publicKeySPKI: [UInt8]?

    public init(
        spiffeID: SPIFFEID,
        publicKey: Certificate.PublicKey,
        ttl: Duration = .seconds(3600),
        dnsNames: [String] = [],
        extraExtensions: [Certificate.Extension] = []
    ) {
        self.spiffeID = spiffeID
        self.publicKey = publicKey
        self.ttl = ttl
        self.dnsNames = dnsNames
        self.extraExtensions = extraExtensions
    }

    /// Parameters from a PKCS#10 certificate signing request: its signature is checked (proof of
    /// possession of the private key) and its public key used. If the CSR carries a URI SAN, it
    /// must be `spiffeID`; the identity itself is decided by the caller, never by the CSR.
    public init(
        spiffeID: SPIFFEID,
        csrDER: [UInt8],
        ttl: Duration = .seconds(3600),
        dnsNames: [String] = [],
        extraExtensions: [Certificate.Extension] = []
    ) throws(AuthorityError) {
        let csr = try Self.verifiedCSR(der: csrDER)
        if let requested = try Self.uriSAN(of: csr), requested != spiffeID.description {
            throw .csrIdentityMismatch(requested: spiffeID.description, csr: requested)
        }
        self.init(spiffeID: spiffeID, publicKey: csr.publicKey, ttl: ttl, dnsNames: dnsNames, extraExtensions: extraExtensions)
    }

    /// Parses a DER CSR and checks its self-signature.
    public static func verifiedCSR(der: [UInt8]) throws(AuthorityError) -> CertificateSigningRequest {
        if der.isEmpty { throw .invalidCSR("empty") }
        if der.count > 64 * 1024 { throw .invalidCSR("\(der.count) bytes; the limit is 65536") }
        let csr: CertificateSigningRequest
        do {
            csr = try CertificateSigningRequest(derEncoded: der)
        } catch {
            throw .invalidCSR(String(describing: error))
        }
        guard csr.publicKey.isValidSignature(csr.signature, for: csr) else { throw .csrSignatureInvalid }
        return csr
    }

    private static func uriSAN(of csr: CertificateSigningRequest) throws(AuthorityError) -> String? {
        do {
            guard let extensions = try csr.attributes.extensionRequest?.extensions,
                  let names = try extensions.subjectAlternativeNames
            else { return nil }
            for name in names {
                if case .uniformResourceIdentifier(let uri) = name { return uri }
            }
            return nil
        } catch {
            throw .invalidCSR("unreadable extension request: \(error)")
        }
    }

    /// Checks a DNS name: labels of letters, digits and hyphens (a leading `*.` wildcard label is
    /// allowed), at most 253 bytes.
    public static func validate(dnsName: String) throws(AuthorityError) {
        guard !dnsName.isEmpty, dnsName.utf8.count <= 253 else { throw .invalidDNSName(dnsName) }
        var labels = dnsName.split(separator: ".", omittingEmptySubsequences: false)
        if labels.first == "*", labels.count > 1 { labels.removeFirst() }
        for label in labels {
            guard !label.isEmpty, label.utf8.count <= 63, label.first != "-", label.last != "-" else {
                throw .invalidDNSName(dnsName)
            }
            for scalar in label.unicodeScalars {
                switch scalar {
                case "a"..."z", "A"..."Z", "0"..."9", "-": continue
                default: throw .invalidDNSName(dnsName)
                }
            }
        }
    }
}
