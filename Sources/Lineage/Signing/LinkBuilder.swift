import Foundation
import SPIFFE
import X509

/// Builds the next link of a lineage: the parent layer describes its child and signs.
public enum LinkBuilder {
    /// The link for a child of the layer whose lineage is `parent`, signed with that layer's
    /// SVID key. The child's lifetime is clamped to the parent's.
    public static func child(
        of parent: Lineage,
        signedBy parentKey: Certificate.PrivateKey,
        spiffeID: String,
        publicKey: Certificate.PublicKey?,
        attestor: String,
        selectors: [String],
        issuedAt: Date,
        expiresAt: Date
    ) throws(LineageError) -> LineageLink {
        guard let parentLink = parent.last else { throw .empty }
        // A keyless parent (a JWT-SVID's subject) cannot vouch: verifiers would refuse the link.
        guard !parentLink.content.publicKey.isEmpty else {
            throw .signing("the parent layer \(parentLink.spiffeID) has no key to sign with")
        }
        // Compared as SubjectPublicKeyInfo DER, the form links carry (one field inversion to
        // encode the signing key; comparing key objects would decode the link's and encode both).
        guard parentLink.content.publicKey == parentKey.publicKey.spkiDER else {
            throw .signing("the signing key is not the key of the parent layer \(parentLink.spiffeID)")
        }
        let content = LineageLink.Content(
            spiffeID: spiffeID, publicKey: publicKey?.spkiDER ?? [], attestor: attestor, selectors: selectors,
            issuedAt: Int64(issuedAt.timeIntervalSince1970),
            expiresAt: min(Int64(expiresAt.timeIntervalSince1970), parentLink.content.expiresAt),
            previousLinkHash: try parent.lastLinkHash())
        return try LinkSignature.sign(content, with: parentKey)
    }

    /// The first link: the server's statement about a node agent, signed by the CA key, with the
    /// attestation evidence (e.g. a TPM quote binding the agent key).
    public static func root(
        spiffeID: String, publicKey: Certificate.PublicKey, attestor: String, selectors: [String],
        issuedAt: Date, expiresAt: Date, evidence: [UInt8], signedBy caKey: Certificate.PrivateKey
    ) throws(LineageError) -> LineageLink {
        let content = LineageLink.Content(
            spiffeID: spiffeID, publicKey: publicKey.spkiDER, attestor: attestor, selectors: selectors,
            issuedAt: Int64(issuedAt.timeIntervalSince1970), expiresAt: Int64(expiresAt.timeIntervalSince1970),
            evidence: evidence)
        return try LinkSignature.sign(content, with: caKey)
    }
}
