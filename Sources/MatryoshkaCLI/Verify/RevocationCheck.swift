import Authority
import Foundation
import SPIFFE
import X509

/// `svid verify --crl`: checks a verified chain against certificate revocation lists, as
/// `openssl verify -crl_check` does for the leaf, and for the intermediates when their issuer's
/// CRL is given too.
enum RevocationCheck {
    /// Every CRL in the files (each DER or PEM, any number of CRLs).
    static func read(_ paths: [String]) throws(CLIError) -> [CertificateRevocationList] {
        var lists: [CertificateRevocationList] = []
        for path in paths {
            do {
                lists += try CertificateRevocationList.parseAll(try InputFile.read(path))
            } catch let error as CLIError {
                throw error
            } catch {
                throw CLIError("\(path): \(error)")
            }
        }
        return lists
    }

    /// Refuses the chain if a certificate below the trust anchor is on the CRL its issuer signed.
    ///
    /// - Throws: when the leaf's issuer has no CRL among `crls`, when a CRL naming an issuer of the
    ///   chain is not signed by it or is past its nextUpdate, and when a certificate is revoked:
    ///   "certificate <serial> (<SPIFFE ID or subject>) was revoked at <time>".
    static func check(_ verified: VerifiedX509SVID, crls: [CertificateRevocationList], at time: Date) throws(CLIError) {
        let chain = verified.chain
        for index in chain.indices.dropLast() {
            let certificate = chain[index]
            let issuer = chain[index + 1]
            let named = crls.filter { $0.issuer == certificate.issuer }
            if named.isEmpty {
                guard index > 0 else {
                    throw CLIError("no CRL from \(issuer.subject) among the --crl files: cannot check the SVID for revocation")
                }
                continue
            }
            let signed = named.filter { $0.isSigned(by: issuer) }
            guard !signed.isEmpty else {
                throw CLIError("the CRL from \(issuer.subject) is not signed by that CA's key (wrong or forged CRL)")
            }
            let current = signed.filter { !$0.isStale(at: time) }
            guard !current.isEmpty else {
                let expiry = signed.compactMap(\.nextUpdate).max().map { $0.formatted(.iso8601) } ?? "?"
                throw CLIError("the CRL from \(issuer.subject) is out of date (its nextUpdate was \(expiry)); fetch a new one")
            }
            for crl in current {
                if let entry = crl.entry(for: certificate.serialNumber) {
                    let name = (try? X509SVID.spiffeID(of: certificate).description) ?? "\(certificate.subject)"
                    throw CLIError("certificate \(certificate.serialNumber.hexString) (\(name)) was revoked at \(entry.revocationDate.formatted(.iso8601))")
                }
            }
        }
    }
}
