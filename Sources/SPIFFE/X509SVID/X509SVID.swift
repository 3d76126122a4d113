import Foundation
import SwiftASN1
import X509

/// An X509-SVID: a leaf certificate carrying one SPIFFE ID, its intermediates and, for the
/// holder, its private key.
///
/// Creating one checks the leaf's shape (exactly one URI SAN with a valid SPIFFE ID, `cA=false`,
/// keyUsage digitalSignature without keyCertSign or cRLSign) but not its trust: use
/// ``X509SVIDVerifier`` for that.
public struct X509SVID: Sendable, Hashable {
    /// The SPIFFE ID in the leaf's URI SAN.
    public let spiffeID: SPIFFEID
    /// Leaf first, then intermediates.
    public let certificates: [Certificate]
    /// The leaf's private key, when this is the holder's SVID.
    public let privateKey: Certificate.PrivateKey?
    /// The Workload API's free-form hint for choosing among several SVIDs.
    public var hint: String

    public init(certificates: [Certificate], privateKey: Certificate.PrivateKey? = nil, hint: String = "") throws(X509SVIDError) {
        guard let leaf = certificates.first else { throw .emptyChain }
        self.spiffeID = try Self.checkLeaf(leaf)
        if let privateKey, privateKey.publicKey != leaf.publicKey { throw .keyMismatch }
        self.certificates = certificates
        self.privateKey = privateKey
        self.hint = hint
    }

    /// Reads an SVID from PEM or DER certificates (leaf first) and an optional PEM or DER
    /// (PKCS#8, SEC1 or PKCS#1) private key.
    public init(certificateBytes: some Collection<UInt8>, keyBytes: (some Collection<UInt8>)? = [UInt8]?.none) throws(X509SVIDError) {
        let certificates: [Certificate]
        do {
            certificates = try CertificateEncoding.certificates(from: certificateBytes)
        } catch {
            throw .parsing(error)
        }
        var key: Certificate.PrivateKey?
        if let keyBytes { key = try PrivateKeyEncoding.privateKey(from: keyBytes) }
        try self.init(certificates: certificates, privateKey: key)
    }

    /// The leaf certificate.
    public var leaf: Certificate { certificates[0] }
    /// The intermediates, leaf excluded.
    public var intermediates: ArraySlice<Certificate> { certificates.dropFirst() }
    /// When the leaf expires.
    public var expiry: Date { leaf.notValidAfter }

    /// Checks the leaf rules of the X509-SVID specification and returns its SPIFFE ID.
    public static func checkLeaf(_ leaf: Certificate) throws(X509SVIDError) -> SPIFFEID {
        let spiffeID = try spiffeID(of: leaf)
        let basicConstraints: BasicConstraints?
        let keyUsage: KeyUsage?
        do {
            basicConstraints = try leaf.extensions.basicConstraints
            keyUsage = try leaf.extensions.keyUsage
        } catch {
            throw .unreadableExtension(String(describing: error))
        }
        if case .isCertificateAuthority = basicConstraints { throw .leafIsCA }
        guard let keyUsage else { throw .missingKeyUsage }
        guard keyUsage.digitalSignature else { throw .leafMissingDigitalSignature }
        if keyUsage.keyCertSign { throw .leafHasKeyCertSign }
        if keyUsage.cRLSign { throw .leafHasCRLSign }
        return spiffeID
    }

    /// The SPIFFE ID in a certificate's single URI SAN.
    public static func spiffeID(of certificate: Certificate) throws(X509SVIDError) -> SPIFFEID {
        let names: SubjectAlternativeNames?
        do {
            names = try certificate.extensions.subjectAlternativeNames
        } catch {
            throw .unreadableExtension(String(describing: error))
        }
        var uris: [String] = []
        for name in names ?? SubjectAlternativeNames() {
            if case .uniformResourceIdentifier(let uri) = name { uris.append(uri) }
        }
        guard let uri = uris.first else { throw .noURISAN }
        guard uris.count == 1 else { throw .multipleURISANs(count: uris.count) }
        do {
            return try SPIFFEID(uri)
        } catch {
            throw .invalidSPIFFEID(uri: uri, reason: error)
        }
    }
}
