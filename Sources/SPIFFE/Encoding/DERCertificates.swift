import SwiftASN1
import X509

/// Reading and writing certificates as PEM, single DER, or concatenated DER (the Workload API's form).
public enum CertificateEncoding {
    /// The largest certificate, bundle or key file the parsers accept.
    public static let maximumInputSize = 4 * 1024 * 1024

    /// Parses every certificate in `bytes`, which may be PEM (any number of `CERTIFICATE` blocks)
    /// or DER (one or more concatenated certificates).
    ///
    /// - Throws: ``CertificateParsingError`` saying what was wrong with the input.
    public static func certificates(from bytes: some Collection<UInt8>) throws(CertificateParsingError) -> [Certificate] {
        if bytes.count > maximumInputSize { throw .tooLarge(size: bytes.count, limit: maximumInputSize) }
        if bytes.isEmpty { throw .empty }
        if looksLikePEM(bytes) {
            return try certificates(fromPEM: String(decoding: bytes, as: UTF8.self))
        }
        // DER certificates start with a SEQUENCE tag.
        guard bytes.first == 0x30 else { throw .notCertificates }
        return try certificates(fromConcatenatedDER: Array(bytes))
    }

    /// Parses the `CERTIFICATE` blocks of a PEM string; other block types are refused.
    public static func certificates(fromPEM pem: String) throws(CertificateParsingError) -> [Certificate] {
        let documents: [PEMDocument]
        do {
            documents = try PEMDocument.parseMultiple(pemString: pem)
        } catch {
            throw .invalidPEM(pemProblem(error))
        }
        if documents.isEmpty { throw .noCertificates }
        var certificates: [Certificate] = []
        for (index, document) in documents.enumerated() {
            guard document.discriminator == "CERTIFICATE" else {
                throw .unexpectedPEMBlock(document.discriminator, index: index)
            }
            do {
                certificates.append(try Certificate(derEncoded: document.derBytes))
            } catch {
                throw .invalidCertificate(index: index, reason: String(describing: error))
            }
        }
        return certificates
    }

    /// Parses one or more DER certificates laid end to end.
    public static func certificates(fromConcatenatedDER der: [UInt8]) throws(CertificateParsingError) -> [Certificate] {
        var certificates: [Certificate] = []
        var remaining = der[...]
        while !remaining.isEmpty {
            let index = certificates.count
            guard let length = derElementLength(remaining) else {
                throw .invalidCertificate(index: index, reason: "truncated or not DER")
            }
            do {
                certificates.append(try Certificate(derEncoded: Array(remaining.prefix(length))))
            } catch {
                throw .invalidCertificate(index: index, reason: String(describing: error))
            }
            remaining = remaining.dropFirst(length)
        }
        if certificates.isEmpty { throw .noCertificates }
        return certificates
    }

    /// DER bytes of a certificate.
    public static func der(_ certificate: Certificate) -> [UInt8] {
        var serializer = DER.Serializer()
        // Serializing a parsed or built certificate cannot fail: all its parts were already encoded.
        try? serializer.serialize(certificate)
        return serializer.serializedBytes
    }

    /// DER bytes of certificates, laid end to end.
    public static func concatenatedDER(_ certificates: [Certificate]) -> [UInt8] {
        certificates.flatMap(der)
    }

    /// PEM text of certificates, one block each.
    public static func pem(_ certificates: [Certificate]) -> String {
        certificates.map { PEMDocument(type: "CERTIFICATE", derBytes: der($0)).pemString + "\n" }.joined()
    }

    /// swift-asn1's PEM errors quote the whole input; say what is wrong instead.
    static func pemProblem(_ error: any Error) -> String {
        let text = String(describing: error)
        if text.contains("but not") { return "a BEGIN line has no matching END line (truncated?)" }
        if text.contains("base64") { return "a block's body is not valid base64" }
        if text.contains("empty body") { return "a block is empty" }
        return "malformed PEM block"
    }

    static func looksLikePEM(_ bytes: some Collection<UInt8>) -> Bool {
        let prefix = bytes.prefix(4096)
        return String(decoding: prefix, as: UTF8.self).contains("-----BEGIN ")
    }

    /// The total length (header + content) of the DER element at the start of `bytes`, if well formed.
    static func derElementLength(_ bytes: ArraySlice<UInt8>) -> Int? {
        var index = bytes.startIndex
        guard index < bytes.endIndex else { return nil }
        index += 1  // tag (certificates use single-byte tags)
        guard index < bytes.endIndex else { return nil }
        let first = bytes[index]
        index += 1
        var length = 0
        if first & 0x80 == 0 {
            length = Int(first)
        } else {
            let count = Int(first & 0x7F)
            guard count > 0, count <= 4, index + count <= bytes.endIndex else { return nil }
            for byte in bytes[index..<(index + count)] { length = length << 8 | Int(byte) }
            index += count
        }
        let total = (index - bytes.startIndex) + length
        guard total <= bytes.count else { return nil }
        return total
    }
}

/// Why bytes could not be read as certificates.
public enum CertificateParsingError: Error, Hashable, Sendable, CustomStringConvertible {
    case empty
    case tooLarge(size: Int, limit: Int)
    case invalidPEM(String)
    case unexpectedPEMBlock(String, index: Int)
    case noCertificates
    case notCertificates
    case invalidCertificate(index: Int, reason: String)

    public var description: String {
        switch self {
        case .empty: return "no data: the input is empty"
        case .tooLarge(let size, let limit): return "input is \(size) bytes; the limit is \(limit) bytes"
        case .invalidPEM(let reason): return "invalid PEM: \(reason)"
        case .unexpectedPEMBlock(let type, let index): return "PEM block \(index + 1) is '\(type)', expected 'CERTIFICATE'"
        case .noCertificates: return "no certificates found in the input"
        case .notCertificates: return "input is neither PEM (no '-----BEGIN' line) nor DER certificates"
        case .invalidCertificate(let index, let reason): return "certificate \(index + 1) is not a valid X.509 certificate: \(reason)"
        }
    }
}
