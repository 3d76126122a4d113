import SwiftASN1
import X509

/// The AlgorithmIdentifier of a CRL's signature (RFC 5280 §4.1.1.2, RFC 5758, RFC 4055, RFC 8410):
/// the mapping between swift-certificates' signature algorithms and their OIDs, which that
/// library keeps internal.
enum CRLSignatureAlgorithm {
    private static let table: [(Certificate.SignatureAlgorithm, ASN1ObjectIdentifier, nullParameters: Bool)] = [
        (.ecdsaWithSHA256, [1, 2, 840, 10045, 4, 3, 2], false),
        (.ecdsaWithSHA384, [1, 2, 840, 10045, 4, 3, 3], false),
        (.ecdsaWithSHA512, [1, 2, 840, 10045, 4, 3, 4], false),
        (.sha1WithRSAEncryption, [1, 2, 840, 113549, 1, 1, 5], true),
        (.sha256WithRSAEncryption, [1, 2, 840, 113549, 1, 1, 11], true),
        (.sha384WithRSAEncryption, [1, 2, 840, 113549, 1, 1, 12], true),
        (.sha512WithRSAEncryption, [1, 2, 840, 113549, 1, 1, 13], true),
        (.ed25519, [1, 3, 101, 112], false),
    ]

    /// Writes the AlgorithmIdentifier: ECDSA and Ed25519 without parameters, RSA with NULL.
    static func serialize(_ algorithm: Certificate.SignatureAlgorithm, into coder: inout DER.Serializer) throws {
        guard let row = table.first(where: { $0.0 == algorithm }) else {
            throw CRLError.unsupported("signature algorithm \(algorithm)")
        }
        try coder.appendConstructedNode(identifier: .sequence) { coder in
            try coder.serialize(row.1)
            if row.nullParameters { try coder.serialize(ASN1Null()) }
        }
    }

    /// Reads an AlgorithmIdentifier (absent or NULL parameters).
    static func parse(_ nodes: inout ASN1NodeCollection.Iterator) throws -> Certificate.SignatureAlgorithm {
        let (oid, parameters) = try CRLDER.nextSequence(&nodes, "signature algorithm") { nodes in
            (try ASN1ObjectIdentifier(derEncoded: &nodes), nodes.next())
        }
        guard let row = table.first(where: { $0.1 == oid }) else {
            throw CRLError.unsupported("signature algorithm \(oid)")
        }
        if let parameters, parameters.identifier != .null {
            throw CRLError.malformed("signature algorithm \(oid) has unexpected parameters")
        }
        return row.0
    }
}
