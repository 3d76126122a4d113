import Crypto
import Foundation
import SPIFFE
import SwiftASN1
import X509

enum TestValues {
    static let trustDomain: TrustDomain = {
        guard let trustDomain = try? TrustDomain("example.org") else { fatalError("invalid literal") }
        return trustDomain
    }()

    static let workload: SPIFFEID = {
        guard let id = try? SPIFFEID("spiffe://example.org/workload") else { fatalError("invalid literal") }
        return id
    }()

    /// Whole seconds, as certificates and JWTs store time.
    static func wholeSeconds(_ date: Date = Date()) -> Date {
        Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded(.down))
    }

    static func newPublicKey() -> Certificate.PublicKey { Certificate.PublicKey(P256.Signing.PrivateKey().publicKey) }
}

enum Base64URLTest {
    static func decode(_ string: some StringProtocol) -> Data? {
        var base64 = string.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64)
    }

    /// The decoded JSON object of one part (0 = header, 1 = claims) of a compact JWS.
    static func part(_ token: String, _ index: Int) throws -> [String: Any] {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let data = decode(parts[index]),
              let object = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { throw CocoaError(.coderReadCorrupt) }
        return object
    }
}

extension Certificate {
    /// The URI SANs of a certificate.
    var uriSANs: [String] {
        get throws {
            (try extensions.subjectAlternativeNames ?? SubjectAlternativeNames()).compactMap {
                if case .uniformResourceIdentifier(let uri) = $0 { return uri } else { return nil }
            }
        }
    }

    var dnsSANs: [String] {
        get throws {
            (try extensions.subjectAlternativeNames ?? SubjectAlternativeNames()).compactMap {
                if case .dnsName(let name) = $0 { return name } else { return nil }
            }
        }
    }

    func isCritical(_ oid: ASN1ObjectIdentifier) -> Bool? {
        extensions[oid: oid]?.critical
    }
}
