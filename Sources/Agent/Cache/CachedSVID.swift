import Authority
import Foundation
import SPIFFE
import X509

/// An X509-SVID the agent holds for an entry: the chain the server signed and the key the agent
/// generated for it (the key never left the agent).
struct CachedSVID: Sendable {
    let entryID: String
    let spiffeID: SPIFFEID
    let chain: [Certificate]
    let key: SigningKey

    var notBefore: Date { chain[0].notValidBefore }
    var expiresAt: Date { chain[0].notValidAfter }

    /// When to replace it: half-way through its life, as SPIRE does.
    var renewAt: Date { notBefore.addingTimeInterval(expiresAt.timeIntervalSince(notBefore) / 2) }
}

/// A JWT-SVID the agent holds for an entry and a set of audiences.
struct CachedJWTSVID: Sendable {
    let token: String
    let issuedAt: Date
    let expiresAt: Date

    var renewAt: Date { issuedAt.addingTimeInterval(expiresAt.timeIntervalSince(issuedAt) / 2) }
}
