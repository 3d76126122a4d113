import Foundation
import SPIFFE
import SwiftASN1
import X509

extension SPIFFEBundle {
    /// The bundle as sent on the wire.
    public var wire: Matryoshka_V1_Bundle {
        Matryoshka_V1_Bundle.with {
            $0.trustDomain = trustDomain.name
            $0.x509Authorities = x509Authorities.map { CertificateEncoding.der($0) }.map { Data($0) }
            $0.jwtAuthorities = jwtAuthorities.keys.sorted().compactMap { kid in
                guard let key = jwtAuthorities[kid] else { return nil }
                let spki = key.spkiDER
                return Matryoshka_V1_JWTAuthority.with {
                    $0.keyID = kid
                    $0.publicKey = Data(spki)
                }
            }
            $0.sequenceNumber = sequenceNumber ?? 0
            $0.refreshHintSeconds = refreshHint ?? 0
        }
    }

    /// A bundle from the wire, every certificate and key parsed.
    public init(wire: Matryoshka_V1_Bundle) throws(WireConversionError) {
        let trustDomain: TrustDomain
        do {
            trustDomain = try TrustDomain(wire.trustDomain)
        } catch {
            throw WireConversionError("bundle trust domain: \(error)")
        }
        var x509: [Certificate] = []
        for der in wire.x509Authorities {
            do {
                x509.append(try Certificate(derEncoded: Array(der)))
            } catch {
                throw WireConversionError("bundle X.509 authority: \(error)")
            }
        }
        var jwt: [String: Certificate.PublicKey] = [:]
        for authority in wire.jwtAuthorities {
            do {
                jwt[authority.keyID] = try Certificate.PublicKey(derEncoded: Array(authority.publicKey))
            } catch {
                throw WireConversionError("bundle JWT authority '\(authority.keyID)': \(error)")
            }
        }
        self.init(
            trustDomain: trustDomain, x509Authorities: x509, jwtAuthorities: jwt,
            sequenceNumber: wire.sequenceNumber == 0 ? nil : wire.sequenceNumber,
            refreshHint: wire.refreshHintSeconds == 0 ? nil : wire.refreshHintSeconds)
    }
}
