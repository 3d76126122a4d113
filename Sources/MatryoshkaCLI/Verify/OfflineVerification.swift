import Foundation
import SPIFFE
import X509

/// `svid verify` and `jwt verify`: offline checks of SVIDs against a bundle file.
public enum OfflineVerification {
    /// Verifies the X509-SVID in `certificatePath` (PEM or DER, leaf first) against the bundle in
    /// `bundlePath` (PEM, DER, JWKS or SPIFFE bundle).
    ///
    /// The bundle formats do not name their trust domain: the bundle is taken to be the SVID's
    /// trust domain's, unless `trustDomain` is given, in which case the SVID must belong to it.
    ///
    /// With `crlPaths` (DER or PEM CRLs), every certificate of the verified chain below the trust
    /// anchor is also checked against the CRL its issuer signed; the leaf's issuer must have one.
    public static func verifyX509SVID(
        certificatePath: String, bundlePath: String, trustDomain: String? = nil, crlPaths: [String] = [], at time: Date? = nil
    ) async throws(CLIError) -> X509SVIDReport {
        let certificateBytes = try InputFile.read(certificatePath)
        let certificates: [Certificate]
        do {
            certificates = try CertificateEncoding.certificates(from: certificateBytes)
        } catch {
            throw CLIError("\(certificatePath): \(error)")
        }
        let leafID: SPIFFEID
        do {
            leafID = try X509SVID.spiffeID(of: certificates[0])
        } catch {
            throw CLIError(error.description)
        }
        let bundleTrustDomain = try resolveTrustDomain(trustDomain, svidTrustDomain: leafID.trustDomain)
        let bundle = try readBundle(bundlePath, trustDomain: bundleTrustDomain)
        do {
            let verified = try await X509SVIDVerifier(bundles: bundle, validationTime: time).verify(certificates)
            if !crlPaths.isEmpty {
                try RevocationCheck.check(verified, crls: try RevocationCheck.read(crlPaths), at: time ?? Date())
            }
            return X509SVIDReport(verified)
        } catch let error as CLIError {
            throw error
        } catch let error as X509SVIDError {
            throw CLIError(error.description)
        } catch {
            throw CLIError("\(error)")
        }
    }

    /// Verifies a JWT-SVID for `audience` against the bundle in `bundlePath`.
    public static func verifyJWTSVID(
        token: String, bundlePath: String, audience: String, trustDomain: String? = nil, leeway: Duration = .seconds(10), at time: Date? = nil
    ) async throws(CLIError) -> JWTSVIDReport {
        let unverified: JWTSVID
        do {
            unverified = try JWTSVID(parsing: token)
        } catch {
            throw CLIError(error.description)
        }
        let bundleTrustDomain = try resolveTrustDomain(trustDomain, svidTrustDomain: unverified.spiffeID.trustDomain)
        let bundle = try readBundle(bundlePath, trustDomain: bundleTrustDomain)
        do {
            let verified = try await JWTSVIDVerifier(bundles: bundle, leeway: leeway).verify(token, audience: audience, now: time ?? Date())
            return JWTSVIDReport(verified)
        } catch {
            throw CLIError(error.description)
        }
    }

    /// Reads a bundle file in any supported format as the bundle of `trustDomain`.
    public static func readBundle(_ path: String, trustDomain: TrustDomain) throws(CLIError) -> SPIFFEBundle {
        let bytes = try InputFile.read(path)
        do {
            return try BundleFile.parse(bytes, trustDomain: trustDomain)
        } catch {
            throw CLIError("\(path): \(error)")
        }
    }

    static func resolveTrustDomain(_ given: String?, svidTrustDomain: TrustDomain) throws(CLIError) -> TrustDomain {
        guard let given else { return svidTrustDomain }
        let trustDomain: TrustDomain
        do {
            trustDomain = try TrustDomain(given)
        } catch {
            throw CLIError("--trust-domain: \(error)")
        }
        guard trustDomain == svidTrustDomain else {
            throw CLIError("SVID is in trust domain '\(svidTrustDomain)', not '\(trustDomain)'")
        }
        return trustDomain
    }
}
