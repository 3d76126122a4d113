import Authority
import Foundation
import Lineage
import SPIFFE
import X509

/// An X509-SVID the agent holds for an entry: the chain the server signed and the key the agent
/// generated for it (the key never left the agent).
///
/// It keeps what the Workload API sends and what revocation and renewal check, not the parsed
/// certificates or the key object beside them (~2.7 KB per SVID; BENCHMARKS.md, *Agent RSS*).
struct CachedSVID: Sendable {
    let entryID: String
    let spiffeID: SPIFFEID
    /// The chain and the key as the Workload API sends them (DER, PKCS#8), encoded once here
    /// rather than on every fetch.
    let chainDER: [[UInt8]]
    let keyPKCS8: [UInt8]
    /// The leaf's serial number (lower-case hex) and the key hashes of the layers of its lineage:
    /// what a revocation is checked against, without parsing the certificate again.
    let serialNumber: String
    let lineageKeyHashes: [String]
    let notBefore: Date
    let expiresAt: Date

    /// When the agent received it: the life it was issued with starts about then.
    var receivedAt: Date

    init(entryID: String, spiffeID: SPIFFEID, chain: [Certificate], key: SigningKey, receivedAt: Date = Date()) {
        self.entryID = entryID
        self.spiffeID = spiffeID
        self.receivedAt = receivedAt
        // Copied to exact size: the serializer's buffer grows by doubling, and a ~1.2 KB leaf (lineage
        // included) would keep 2 KB for as long as the SVID is cached.
        chainDER = chain.map { Array(CertificateEncoding.der($0)[...]) }
        keyPKCS8 = (try? PrivateKeyEncoding.pkcs8DER(key.certificatePrivateKey)) ?? []
        serialNumber = chain[0].serialNumber.hexString
        lineageKeyHashes = ((try? LineageExtension.lineage(of: chain[0])) ?? nil)?.links.compactMap(\.publicKeyHash) ?? []
        notBefore = chain[0].notValidBefore
        expiresAt = chain[0].notValidAfter
    }

    /// When to replace it: half-way through the life it was issued with, as SPIRE does. Not
    /// counted from notBefore: the CA backdates that (``CertificateAuthority/backdate``) for clock
    /// skew, which would put a short-lived SVID past its half-life the moment it is issued.
    var renewAt: Date {
        let start = min(max(receivedAt, notBefore), expiresAt)
        return start.addingTimeInterval(expiresAt.timeIntervalSince(start) / 2)
    }
}

/// A JWT-SVID the agent holds for an entry and a set of audiences.
struct CachedJWTSVID: Sendable {
    let token: String
    let issuedAt: Date
    let expiresAt: Date

    var renewAt: Date { issuedAt.addingTimeInterval(expiresAt.timeIntervalSince(issuedAt) / 2) }
}
