import Foundation
import Lineage
import SPIFFE
import X509

extension Revocation {
    /// Why a credential with this certificate and lineage must be refused, or nil: its own serial
    /// number is revoked, or a layer of its lineage holds the key of a revoked credential.
    public func refusal(for certificate: Certificate, lineage: Lineage) -> String? {
        let serial = certificate.serialNumber.hexString
        if let credential = revoked[serial] {
            return "SVID \(serial) (\(credential.spiffeID)) was revoked at \(credential.revokedAt.formatted(.iso8601))"
                + (credential.reason.isEmpty ? "" : ": \(credential.reason)")
        }
        for link in lineage.links {
            guard let key = link.publicKeyHash, let ancestor = revokedKeys[key].flatMap({ revoked[$0] }) else { continue }
            return "the lineage of SVID \(serial) passes through \(ancestor.spiffeID), "
                + "whose SVID \(ancestor.serialNumber) was revoked at \(ancestor.revokedAt.formatted(.iso8601))"
        }
        return nil
    }

    /// The revocation of this serial number (or JWT token ID), if it is revoked and unexpired.
    public func revocation(serialNumber: String) -> RevokedCredential? {
        revoked[serialNumber]
    }

    /// The revoked credential holding the key with this hex SHA-256, if any.
    public func revocation(keyHash: String) -> RevokedCredential? {
        revokedKeys[keyHash].flatMap { revoked[$0] }
    }

    /// How many unexpired credentials are revoked.
    public var revokedCount: Int { revoked.count }
}
