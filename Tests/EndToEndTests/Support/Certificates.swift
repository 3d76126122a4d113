import Foundation
import SPIFFE
import X509

/// Reading the certificates the CLI writes.
enum Certificates {
    /// The certificates in a PEM (or DER) file.
    static func read(_ path: String) throws -> [Certificate] {
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        return try CertificateEncoding.certificates(from: bytes)
    }

    /// Serial numbers as lower-case hex without leading zeros (as Python prints them).
    static func serials(pemFile path: String) throws -> [String] {
        try read(path).map { serial($0) }
    }

    static func serial(_ certificate: Certificate) -> String {
        let hex = certificate.serialNumber.bytes.map { String(format: "%02x", $0) }.joined()
        let trimmed = hex.drop { $0 == "0" }
        return trimmed.isEmpty ? "0" : String(trimmed)
    }

    /// The validity period in whole seconds.
    static func lifetime(_ certificate: Certificate) -> Int {
        Int(certificate.notValidAfter.timeIntervalSince(certificate.notValidBefore).rounded())
    }
}
