import Foundation
import SwiftASN1
import X509

/// The DER form of a certificate revocation list (RFC 5280 §5.1):
///
/// ```
/// CertificateList ::= SEQUENCE { tbsCertList TBSCertList, signatureAlgorithm AlgorithmIdentifier,
///                                signatureValue BIT STRING }
/// TBSCertList ::= SEQUENCE {
///     version             Version OPTIONAL,            -- v2 (1) when present
///     signature           AlgorithmIdentifier,
///     issuer              Name,
///     thisUpdate          Time,
///     nextUpdate          Time OPTIONAL,
///     revokedCertificates SEQUENCE OF SEQUENCE {
///         userCertificate    CertificateSerialNumber,
///         revocationDate     Time,
///         crlEntryExtensions Extensions OPTIONAL } OPTIONAL,
///     crlExtensions       [0] EXPLICIT Extensions OPTIONAL }
/// ```
enum CRLDER {
    /// The signed part, decoded.
    struct TBSCertList {
        var version: Int
        var signatureAlgorithm: Certificate.SignatureAlgorithm
        var issuer: DistinguishedName
        var thisUpdate: Date
        var nextUpdate: Date?
        var entries: [CertificateRevocationList.Entry]
        var crlNumber: UInt64?
        var authorityKeyIdentifier: [UInt8]?
    }

    /// A whole CertificateList, decoded, with the exact bytes its signature covers.
    struct Decoded {
        var tbs: TBSCertList
        var tbsBytes: [UInt8]
        var signatureAlgorithm: Certificate.SignatureAlgorithm
        var signature: [UInt8]
    }

    static let crlNumberOID: ASN1ObjectIdentifier = [2, 5, 29, 20]
    static let authorityKeyIdentifierOID: ASN1ObjectIdentifier = [2, 5, 29, 35]
    /// Entry extensions a verifier may ignore: reasonCode and invalidityDate.
    static let ignorableEntryExtensions: Set<ASN1ObjectIdentifier> = [[2, 5, 29, 21], [2, 5, 29, 24]]

    // MARK: Parsing

    static func decode(_ der: [UInt8]) throws(CRLError) -> Decoded {
        do {
            let root = try DER.parse(der)
            guard root.encodedBytes.count == der.count else { throw CRLError.malformed("trailing bytes after the CRL") }
            return try DER.sequence(root, identifier: .sequence) { nodes in
                guard let tbsNode = nodes.next() else { throw CRLError.malformed("no tbsCertList") }
                let tbs = try decodeTBS(tbsNode)
                let algorithm = try CRLSignatureAlgorithm.parse(&nodes)
                let signature = try ASN1BitString(derEncoded: &nodes)
                guard signature.paddingBits == 0 else { throw CRLError.malformed("signature has padding bits") }
                guard algorithm == tbs.signatureAlgorithm else {
                    throw CRLError.malformed("the signature algorithm differs from the one in tbsCertList")
                }
                return Decoded(tbs: tbs, tbsBytes: Array(tbsNode.encodedBytes), signatureAlgorithm: algorithm, signature: Array(signature.bytes))
            }
        } catch let error as CRLError {
            throw error
        } catch {
            throw .malformed(describe(error))
        }
    }

    private static func decodeTBS(_ node: ASN1Node) throws -> TBSCertList {
        try DER.sequence(node, identifier: .sequence) { nodes in
            var version = 1
            var lookahead = nodes
            if lookahead.next()?.identifier == .integer {
                let value = try Int(derEncoded: &nodes)
                guard value == 1 else { throw CRLError.unsupported("CRL version \(value + 1)") }
                version = 2
            }
            let algorithm = try CRLSignatureAlgorithm.parse(&nodes)
            guard let issuerNode = nodes.next() else { throw CRLError.malformed("no issuer") }
            let issuer = try DistinguishedName(derEncoded: issuerNode)
            guard let thisNode = nodes.next() else { throw CRLError.malformed("no thisUpdate") }
            let thisUpdate = try CRLTime.parse(thisNode)
            lookahead = nodes
            var nextUpdate: Date?
            if let node = lookahead.next(), CRLTime.isTime(node) {
                nextUpdate = try CRLTime.parse(node)
                nodes = lookahead
            }
            var entries: [CertificateRevocationList.Entry] = []
            lookahead = nodes
            if let node = lookahead.next(), node.identifier == .sequence {
                nodes = lookahead
                entries = try DER.sequence(node, identifier: .sequence) { list in
                    var entries: [CertificateRevocationList.Entry] = []
                    while let entry = list.next() { entries.append(try decodeEntry(entry, version: version)) }
                    return entries
                }
            }
            var tbs = TBSCertList(
                version: version, signatureAlgorithm: algorithm, issuer: issuer, thisUpdate: thisUpdate, nextUpdate: nextUpdate, entries: entries)
            let extensions = try DER.optionalExplicitlyTagged(&nodes, tagNumber: 0, tagClass: .contextSpecific) { node in
                try DER.sequence(of: Certificate.Extension.self, identifier: .sequence, rootNode: node)
            }
            if let extensions {
                guard version == 2 else { throw CRLError.malformed("a v1 CRL has extensions") }
                try apply(extensions, to: &tbs)
            }
            return tbs
        }
    }

    private static func decodeEntry(_ node: ASN1Node, version: Int) throws -> CertificateRevocationList.Entry {
        try DER.sequence(node, identifier: .sequence) { nodes in
            let serial = try ArraySlice<UInt8>(derEncoded: &nodes)
            guard let dateNode = nodes.next() else { throw CRLError.malformed("a revoked certificate has no revocationDate") }
            let date = try CRLTime.parse(dateNode)
            if let extensionsNode = nodes.next() {
                guard version == 2 else { throw CRLError.malformed("a v1 CRL has entry extensions") }
                let extensions = try DER.sequence(of: Certificate.Extension.self, identifier: .sequence, rootNode: extensionsNode)
                for ext in extensions where ext.critical && !ignorableEntryExtensions.contains(ext.oid) {
                    throw CRLError.unsupported("an entry has the critical extension \(ext.oid)")
                }
            }
            return CertificateRevocationList.Entry(serialNumber: Certificate.SerialNumber(bytes: serial), revocationDate: date)
        }
    }

    private static func apply(_ extensions: [Certificate.Extension], to tbs: inout TBSCertList) throws {
        for ext in extensions {
            switch ext.oid {
            case crlNumberOID:
                let node = try DER.parse(ext.value)
                let bytes = try ArraySlice<UInt8>(derEncoded: node)
                let significant = bytes.drop { $0 == 0 }
                // CRL numbers wider than 64 bits are kept as absent rather than refused.
                tbs.crlNumber = significant.count <= 8 ? significant.reduce(UInt64(0)) { $0 << 8 | UInt64($1) } : nil
            case authorityKeyIdentifierOID:
                tbs.authorityKeyIdentifier = try AuthorityKeyIdentifier(ext).keyIdentifier.map(Array.init)
            default:
                if ext.critical { throw CRLError.unsupported("the critical CRL extension \(ext.oid)") }
            }
        }
    }

    // MARK: Serializing

    static func encodeTBS(_ tbs: TBSCertList) throws(CRLError) -> [UInt8] {
        var coder = DER.Serializer()
        do {
            try coder.appendConstructedNode(identifier: .sequence) { coder in
                try coder.serialize(1)  // v2
                try CRLSignatureAlgorithm.serialize(tbs.signatureAlgorithm, into: &coder)
                try coder.serialize(tbs.issuer)
                try CRLTime.serialize(tbs.thisUpdate, into: &coder)
                if let nextUpdate = tbs.nextUpdate { try CRLTime.serialize(nextUpdate, into: &coder) }
                // RFC 5280: an empty list is left out, not encoded empty.
                if !tbs.entries.isEmpty {
                    try coder.appendConstructedNode(identifier: .sequence) { coder in
                        for entry in tbs.entries {
                            try coder.appendConstructedNode(identifier: .sequence) { coder in
                                try coder.serialize(entry.serialNumber.bytes)
                                try CRLTime.serialize(entry.revocationDate, into: &coder)
                            }
                        }
                    }
                }
                var extensions: [Certificate.Extension] = []
                if let authorityKeyIdentifier = tbs.authorityKeyIdentifier {
                    extensions.append(try AuthorityKeyIdentifier(keyIdentifier: authorityKeyIdentifier[...]).makeCertificateExtension())
                }
                if let crlNumber = tbs.crlNumber {
                    var number = DER.Serializer()
                    try number.serialize(crlNumber)
                    extensions.append(Certificate.Extension(oid: crlNumberOID, critical: false, value: number.serializedBytes[...]))
                }
                if !extensions.isEmpty {
                    try coder.serialize(explicitlyTaggedWithTagNumber: 0, tagClass: .contextSpecific) { coder in
                        try coder.serializeSequenceOf(extensions)
                    }
                }
            }
        } catch let error as CRLError {
            throw error
        } catch {
            throw .signing("cannot encode tbsCertList: \(error)")
        }
        return coder.serializedBytes
    }

    static func encodeCertificateList(tbsBytes: [UInt8], algorithm: Certificate.SignatureAlgorithm, signature: [UInt8]) throws(CRLError) -> [UInt8] {
        var coder = DER.Serializer()
        do {
            try coder.appendConstructedNode(identifier: .sequence) { coder in
                coder.serializeRawBytes(tbsBytes)
                try CRLSignatureAlgorithm.serialize(algorithm, into: &coder)
                try coder.serialize(ASN1BitString(bytes: signature[...]))
            }
        } catch let error as CRLError {
            throw error
        } catch {
            throw .signing("cannot encode the CRL: \(error)")
        }
        return coder.serializedBytes
    }

    // MARK: Helpers

    /// Reads the next element of `nodes` as a SEQUENCE with `body`, which must consume all of it.
    static func nextSequence<T>(
        _ nodes: inout ASN1NodeCollection.Iterator, _ what: String, _ body: (inout ASN1NodeCollection.Iterator) throws -> T
    ) throws -> T {
        guard let node = nodes.next() else { throw CRLError.malformed("\(what) is missing") }
        return try DER.sequence(node, identifier: .sequence, body)
    }

    /// swift-asn1 errors name source files; keep the reason.
    static func describe(_ error: any Error) -> String {
        let text = String(describing: error)
        if text.hasPrefix("ASN1Error"), let colon = text.firstIndex(of: ":") {
            let reason = text[text.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            return "not valid DER (\(reason.split(separator: " ").prefix(while: { !$0.contains(".swift") }).joined(separator: " ")))"
        }
        return "not valid DER (\(text))"
    }
}
