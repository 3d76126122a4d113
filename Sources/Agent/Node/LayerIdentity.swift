import Attestation
import Foundation
import Lineage
import MatryoshkaAPI
import SPIFFE
import X509

/// The identity of the layer this agent is: its SVID, the key of that SVID, and the lineage the
/// SVID carries. It vouches for children by signing their lineage links with that key.
struct LayerIdentity: Sendable {
    let chain: [Certificate]
    let key: Certificate.PrivateKey
    let lineage: Lineage

    init(chain: [Certificate], key: Certificate.PrivateKey) {
        self.chain = chain
        self.key = key
        self.lineage = (try? LineageExtension.lineage(of: chain[0])) ?? Lineage()
    }

    var expiresAt: Date { chain[0].notValidAfter }

    /// The link for a child `spiffeID` of `entry`, valid for the entry's TTL (never past this
    /// layer's own expiry), attested by the entry's selectors.
    func childLink(
        for entry: RegistrationEntry, spiffeID: SPIFFEID, publicKey: Certificate.PublicKey?, ttlSeconds: Int,
        attestor: String? = nil, extraSelectors: [String] = [], now: Date = Date()
    ) throws -> [UInt8] {
        let selectors = entry.selectors.map(\.description) + extraSelectors
        let link = try LinkBuilder.child(
            of: lineage, signedBy: key, spiffeID: spiffeID.description, publicKey: publicKey,
            attestor: attestor ?? entry.selectors.first?.type ?? "unix", selectors: selectors,
            issuedAt: now, expiresAt: min(now.addingTimeInterval(TimeInterval(max(ttlSeconds, 1))), expiresAt))
        return try LineageDER.encode(link)
    }
}
