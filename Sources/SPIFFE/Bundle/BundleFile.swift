/// Reads a trust bundle file in whichever format an operator has: PEM or DER certificates
/// (X.509 authorities), a JWKS (JWT authorities) or a SPIFFE bundle (both).
///
/// None of these formats names its trust domain, so the caller says which one it is for.
public enum BundleFile {
    /// Parses `bytes` as the bundle of `trustDomain`, detecting the format.
    public static func parse(_ bytes: some Collection<UInt8>, trustDomain: TrustDomain) throws(BundleError) -> SPIFFEBundle {
        if bytes.isEmpty { throw .empty }
        if bytes.count > CertificateEncoding.maximumInputSize {
            throw .tooLarge(size: bytes.count, limit: CertificateEncoding.maximumInputSize)
        }
        let firstByte = bytes.first { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }
        switch firstByte {
        case UInt8(ascii: "{"):
            let document = try JWKSDocument.decode(bytes)
            let isSPIFFEBundle = document.spiffe_sequence != nil || document.spiffe_refresh_hint != nil
                || (document.keys ?? []).contains { $0.use == JWK.x509SVIDUse }
            if isSPIFFEBundle {
                return try SPIFFEBundle(trustDomain: trustDomain, json: bytes)
            }
            let jwt = try JWTBundle(trustDomain: trustDomain, jwks: bytes)
            return SPIFFEBundle(trustDomain: trustDomain, jwtAuthorities: jwt.authorities)
        case UInt8(ascii: "-"), UInt8(ascii: "0"):
            // PEM text, or DER (a certificate starts with SEQUENCE, 0x30 — also ASCII '0').
            let x509 = try X509Bundle(trustDomain: trustDomain, parsing: bytes)
            return SPIFFEBundle(trustDomain: trustDomain, x509Authorities: x509.authorities)
        default:
            if CertificateEncoding.looksLikePEM(bytes) {
                let x509 = try X509Bundle(trustDomain: trustDomain, parsing: bytes)
                return SPIFFEBundle(trustDomain: trustDomain, x509Authorities: x509.authorities)
            }
            throw .unrecognizedFormat
        }
    }
}
