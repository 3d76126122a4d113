import Foundation
import SwiftASN1
import X509

extension CertificateAuthority {
    /// Signs a v2 CRL listing `entries`: issuer the CA's subject, signed with the CA key (ECDSA
    /// with SHA-256/384 or RSA PKCS#1 v1.5 with SHA-256, by key type), with the `cRLNumber` and
    /// `authorityKeyIdentifier` extensions. Times are truncated to whole seconds.
    ///
    /// - Parameters:
    ///   - entries: the revoked certificates, in the order they are listed.
    ///   - thisUpdate: when it is issued.
    ///   - nextUpdate: when the next one will be issued at the latest.
    ///   - crlNumber: increases with every CRL this CA signs.
    public func signCRL(
        entries: [CertificateRevocationList.Entry], thisUpdate: Date, nextUpdate: Date, crlNumber: UInt64
    ) throws(CRLError) -> CertificateRevocationList {
        let algorithm = key.signatureAlgorithm
        // Whole seconds, as the DER holds them (and a parsed CRL reads them).
        func whole(_ date: Date) -> Date { Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded(.down)) }
        let tbs = CRLDER.TBSCertList(
            version: 2, signatureAlgorithm: algorithm, issuer: certificate.subject, thisUpdate: whole(thisUpdate), nextUpdate: whole(nextUpdate),
            entries: entries.map { CertificateRevocationList.Entry(serialNumber: $0.serialNumber, revocationDate: whole($0.revocationDate)) },
            crlNumber: crlNumber, authorityKeyIdentifier: keyIdentifier)
        let tbsBytes = try CRLDER.encodeTBS(tbs)
        let signature: [UInt8]
        do {
            signature = try key.certificatePrivateKey.sign(bytes: tbsBytes, signatureAlgorithm: algorithm).rawRepresentation
        } catch {
            throw .signing(String(describing: error))
        }
        let der = try CRLDER.encodeCertificateList(tbsBytes: tbsBytes, algorithm: algorithm, signature: signature)
        // Built from its parts, not parsed back: the list can hold thousands of entries.
        return CertificateRevocationList(
            decoded: CRLDER.Decoded(tbs: tbs, tbsBytes: tbsBytes, signatureAlgorithm: algorithm, signature: signature), derEncoded: der)
    }
}
