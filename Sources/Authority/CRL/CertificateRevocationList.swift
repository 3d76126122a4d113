import Foundation
import SwiftASN1
import X509

/// An X.509 v2 certificate revocation list (RFC 5280 §5): the serial numbers a CA has revoked
/// before their expiry, signed by that CA.
///
/// swift-certificates has no CRL type; this one reads any DER (or PEM `X509 CRL`) CRL and is
/// built by ``CertificateAuthority/signCRL(entries:thisUpdate:nextUpdate:crlNumber:)``. It
/// understands the `cRLNumber` and `authorityKeyIdentifier` extensions and refuses CRLs with any
/// other critical extension (RFC 5280 §5.2: such a CRL must not be used).
public struct CertificateRevocationList: Sendable, Hashable {
    /// One revoked certificate.
    public struct Entry: Sendable, Hashable {
        /// The serial number of the revoked certificate.
        public var serialNumber: Certificate.SerialNumber
        /// When it was revoked.
        public var revocationDate: Date

        public init(serialNumber: Certificate.SerialNumber, revocationDate: Date) {
            self.serialNumber = serialNumber
            self.revocationDate = revocationDate
        }
    }

    /// The PEM label of a CRL.
    public static let pemDiscriminator = "X509 CRL"

    /// 1 or 2 (what the CRL's `version` field says, plus one).
    public let version: Int
    /// The CA that signed it: must equal the subject of the certificate whose key verifies it.
    public let issuer: DistinguishedName
    /// When it was signed.
    public let thisUpdate: Date
    /// When the next CRL will be issued at the latest; a CRL past it is stale.
    public let nextUpdate: Date?
    /// The revoked certificates.
    public let entries: [Entry]
    /// The `cRLNumber` extension: increases with every CRL the issuer signs. Nil when absent (or
    /// wider than 64 bits).
    public let crlNumber: UInt64?
    /// The `authorityKeyIdentifier` extension: the issuer key's identifier.
    public let authorityKeyIdentifier: [UInt8]?
    /// How it is signed.
    public let signatureAlgorithm: Certificate.SignatureAlgorithm
    /// The signature over the DER of `tbsCertList`.
    public let signature: [UInt8]
    /// The exact bytes the signature covers.
    let tbsBytes: [UInt8]
    /// The CRL as DER.
    public let derEncoded: [UInt8]
    private let revokedSerials: [Certificate.SerialNumber: Int]

    /// Parses a DER-encoded CRL. The signature is not checked here: see ``isSigned(by:)``.
    ///
    /// - Throws: ``CRLError`` when the bytes are not a CRL or it carries an unsupported critical extension.
    public init(derEncoded bytes: [UInt8]) throws(CRLError) {
        self.init(decoded: try CRLDER.decode(bytes), derEncoded: bytes)
    }

    /// The CRL whose parts are `decoded` and whose DER is `bytes`.
    init(decoded: CRLDER.Decoded, derEncoded bytes: [UInt8]) {
        version = decoded.tbs.version
        issuer = decoded.tbs.issuer
        thisUpdate = decoded.tbs.thisUpdate
        nextUpdate = decoded.tbs.nextUpdate
        entries = decoded.tbs.entries
        crlNumber = decoded.tbs.crlNumber
        authorityKeyIdentifier = decoded.tbs.authorityKeyIdentifier
        signatureAlgorithm = decoded.signatureAlgorithm
        signature = decoded.signature
        tbsBytes = decoded.tbsBytes
        derEncoded = bytes
        var index: [Certificate.SerialNumber: Int] = [:]
        for (position, entry) in decoded.tbs.entries.enumerated() where index[entry.serialNumber] == nil {
            index[entry.serialNumber] = position
        }
        revokedSerials = index
    }

    /// The entry revoking `serialNumber`, if this CRL lists it.
    public func entry(for serialNumber: Certificate.SerialNumber) -> Entry? {
        revokedSerials[serialNumber].map { entries[$0] }
    }

    /// Whether `certificate` (the CA) signed this CRL: its subject is the CRL's issuer and its key
    /// verifies the signature.
    public func isSigned(by certificate: Certificate) -> Bool {
        certificate.subject == issuer && certificate.publicKey.isValidSignature(signature, for: tbsBytes, signatureAlgorithm: signatureAlgorithm)
    }

    /// Whether the CRL is past its `nextUpdate` at `time`.
    public func isStale(at time: Date) -> Bool {
        nextUpdate.map { time > $0 } ?? false
    }

    /// The CRL as one PEM block (`-----BEGIN X509 CRL-----`).
    public var pemEncoded: String {
        PEMDocument(type: Self.pemDiscriminator, derBytes: derEncoded).pemString + "\n"
    }

    /// Every CRL in `bytes`: PEM (any number of `X509 CRL` blocks) or one or more DER CRLs laid
    /// end to end.
    ///
    /// - Throws: ``CRLError`` naming the first CRL that cannot be read.
    public static func parseAll(_ bytes: some Collection<UInt8>) throws(CRLError) -> [CertificateRevocationList] {
        let bytes = Array(bytes)
        guard !bytes.isEmpty else { throw .malformed("the input is empty") }
        if bytes.first != 0x30 {
            let text = String(decoding: bytes, as: UTF8.self)
            guard text.contains("-----BEGIN") else { throw .malformed("neither DER nor PEM") }
            let documents: [PEMDocument]
            do {
                documents = try PEMDocument.parseMultiple(pemString: text)
            } catch {
                throw .malformed("invalid PEM: \(CRLDER.describe(error))")
            }
            var lists: [CertificateRevocationList] = []
            for (index, document) in documents.enumerated() {
                guard document.discriminator == pemDiscriminator else {
                    throw .malformed("PEM block \(index + 1) is \(document.discriminator), not \(pemDiscriminator)")
                }
                do {
                    lists.append(try CertificateRevocationList(derEncoded: document.derBytes))
                } catch {
                    throw Self.numbered(error, index)
                }
            }
            guard !lists.isEmpty else { throw .malformed("no \(pemDiscriminator) PEM block") }
            return lists
        }
        var lists: [CertificateRevocationList] = []
        var remaining = bytes[...]
        while !remaining.isEmpty {
            guard let length = Self.elementLength(remaining) else {
                throw Self.numbered(.malformed("truncated or not DER"), lists.count)
            }
            do {
                lists.append(try CertificateRevocationList(derEncoded: Array(remaining.prefix(length))))
            } catch {
                throw Self.numbered(error, lists.count)
            }
            remaining = remaining.dropFirst(length)
        }
        return lists
    }

    private static func numbered(_ error: CRLError, _ index: Int) -> CRLError {
        switch error {
        case .malformed(let reason): return .malformed("CRL \(index + 1): \(reason)")
        case .unsupported(let reason): return .unsupported("CRL \(index + 1): \(reason)")
        case .signing(let reason): return .signing(reason)
        }
    }

    /// The total length (header and content) of the DER element at the start of `bytes`.
    static func elementLength(_ bytes: ArraySlice<UInt8>) -> Int? {
        var index = bytes.startIndex
        guard index < bytes.endIndex else { return nil }
        index += 1  // tag (CRLs are SEQUENCEs: one byte)
        guard index < bytes.endIndex else { return nil }
        let first = bytes[index]
        index += 1
        var length = 0
        if first < 0x80 {
            length = Int(first)
        } else {
            let count = Int(first & 0x7F)
            guard count > 0, count <= 4, index + count <= bytes.endIndex else { return nil }
            for byte in bytes[index..<index + count] { length = length << 8 | Int(byte) }
            index += count
        }
        let total = index - bytes.startIndex + length
        return total <= bytes.count ? total : nil
    }
}
