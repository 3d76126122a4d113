import Foundation
import Lineage
import SPIFFE
import X509

/// `lineage show` and `lineage verify`: a credential's chain of custody, read from the X.509
/// lineage extension of an X509-SVID or the `lineage` claim of a JWT-SVID.
public enum LineageOperations {
    /// The lineage of `argument` (see ``LineageCredential/read(_:)``), unverified. A credential
    /// without lineage gives a report with no links.
    public static func show(_ argument: String) throws(CLIError) -> LineageReport {
        let credential = try LineageCredential.read(argument)
        let (kind, id, lineage) = try credential.inspect()
        return LineageReport(credential: kind, spiffeID: id, lineage: lineage, verified: false)
    }

    /// Verifies the SVID in `argument` against the bundle in `bundlePath` (as `svid verify` and
    /// `jwt verify` do; a JWT-SVID needs `audience`), then every hop of its lineage offline: the
    /// first link signed by a CA of the bundle, each next one by the key of the layer before, and
    /// the last one the SVID's own identity and key.
    public static func verify(
        _ argument: String, bundlePath: String, audience: String?, leeway: Duration = .seconds(10), at time: Date? = nil
    ) async throws(CLIError) -> LineageReport {
        switch try LineageCredential.read(argument) {
        case .x509(let chain):
            return try await verifyX509(chain, bundlePath: bundlePath, at: time)
        case .jwt(let token):
            guard let audience else { throw CLIError("--audience is required to verify a JWT-SVID") }
            return try await verifyJWT(token, bundlePath: bundlePath, audience: audience, leeway: leeway, at: time)
        }
    }

    static func verifyX509(_ chain: [Certificate], bundlePath: String, at time: Date?) async throws(CLIError) -> LineageReport {
        let (_, id, _) = try LineageCredential.x509(chain).inspect()
        let bundle = try OfflineVerification.readBundle(bundlePath, trustDomain: id.trustDomain)
        let verified: VerifiedX509SVID
        do {
            verified = try await X509SVIDVerifier(bundles: bundle, validationTime: time).verify(chain)
        } catch {
            throw CLIError(error.description)
        }
        guard let lineage = try LineageCredential.lineage(of: verified.leaf) else {
            throw CLIError("\(id): the X509-SVID carries no lineage (no extension \(LineageExtension.oid))")
        }
        // Only the verified chain's CA certificates may sign first links, never what the peer sent.
        let verifier = LineageVerifier(bundle: bundle, chain: verified.chain)
        try check(lineage, of: id, key: verified.leaf.publicKey, with: verifier, bundle: bundle, bundlePath: bundlePath)
        return LineageReport(credential: .x509SVID, spiffeID: id, lineage: lineage, verified: true, hardware: try HardwareEvidence.check(lineage))
    }

    static func verifyJWT(
        _ token: String, bundlePath: String, audience: String, leeway: Duration, at time: Date?
    ) async throws(CLIError) -> LineageReport {
        let (_, id, _) = try LineageCredential.jwt(token).inspect()
        let bundle = try OfflineVerification.readBundle(bundlePath, trustDomain: id.trustDomain)
        let svid: JWTSVID
        do {
            svid = try await JWTSVIDVerifier(bundles: bundle, leeway: leeway).verify(token, audience: audience, now: time ?? Date())
        } catch {
            throw CLIError(error.description)
        }
        guard let lineage = try LineageCredential.lineage(in: svid.claims) else {
            throw CLIError("\(id): the JWT-SVID carries no lineage (no 'lineage' claim)")
        }
        try check(lineage, of: id, key: nil, with: LineageVerifier(bundle: bundle), bundle: bundle, bundlePath: bundlePath)
        // Tools that only know RFC 8693 read `act`: it must tell the same story.
        if let act = svid.claims["act"], act != LineageJSON.actClaim(lineage) {
            let ancestors = lineage.parent.spiffeIDs.reversed()
            throw CLIError("the JWT-SVID's act claim does not match its lineage (ancestors, nearest first: \(ancestors.isEmpty ? "none" : ancestors.joined(separator: ", ")))")
        }
        return LineageReport(credential: .jwtSVID, spiffeID: id, lineage: lineage, verified: true, hardware: try HardwareEvidence.check(lineage))
    }

    static func check(
        _ lineage: Lineage, of id: SPIFFEID, key: Certificate.PublicKey?, with verifier: LineageVerifier, bundle: SPIFFEBundle, bundlePath: String
    ) throws(CLIError) {
        guard !bundle.x509Authorities.isEmpty else {
            throw CLIError("""
                \(bundlePath) has no X.509 authorities: a lineage's first link is signed by the trust domain's CA, \
                so the bundle must hold its certificates (PEM, DER or a SPIFFE bundle)
                """)
        }
        do {
            try verifier.verify(lineage, subject: id, subjectKey: key)
        } catch {
            throw CLIError(error.description)
        }
    }
}
