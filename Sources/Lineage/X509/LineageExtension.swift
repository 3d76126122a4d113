import SwiftASN1
import X509

/// Lineage in an X509-SVID: a non-critical extension whose value is the DER lineage.
///
/// OID `1.2.840.113556.1.8000.2554.8768.25982.23187.19540.42859.10827560.3949345.1`: the lineage
/// arc derived from UUID 2240657e-5a93-4c54-a76b-a537283c4321 by the GUID-to-OID scheme (arcs of at
/// most 24 bits). DESIGN.md's `2.25.45528117389783537703822271915228939041.1` names the same UUID,
/// but its 126-bit arc cannot be parsed by swift-asn1 (UInt arcs) nor by Go's crypto/x509 (31-bit
/// arcs), so a certificate carrying it would be refused by go-spiffe and by this library.
public enum LineageExtension {
    public static let oid: ASN1ObjectIdentifier = [1, 2, 840, 113556, 1, 8000, 2554, 8768, 25982, 23187, 19540, 42859, 10827560, 3949345, 1]

    /// The extension carrying `lineage`.
    public static func make(_ lineage: Lineage) throws(LineageError) -> Certificate.Extension {
        Certificate.Extension(oid: oid, critical: false, value: try LineageDER.encode(lineage)[...])
    }

    /// The lineage in a certificate; nil when it has none.
    public static func lineage(of certificate: Certificate) throws(LineageError) -> Lineage? {
        guard let ext = certificate.extensions[oid: oid] else { return nil }
        return try LineageDER.decodeLineage(Array(ext.value))
    }
}
