import Crypto
import Foundation
import Lineage
import SPIFFE
import X509

/// The checks on a lineage link a caller sends for a child before the server signs anything:
/// the link extends the caller's own lineage, is signed by the caller's key, names the child's
/// identity and key, carries the entry's selectors, is fresh, and asks for no more lifetime than
/// the caller has.
struct ChildLinkCheck {
    /// Clock skew tolerated on `issued_at`.
    static let leeway: TimeInterval = 60

    let caller: Caller
    let entry: RegistrationEntry
    let childID: SPIFFEID
    /// The child's key as SubjectPublicKeyInfo DER (X509-SVIDs: the CSR's key); nil for JWT-SVIDs.
    /// Bytes, not a key object: turning an EC key into bytes is a field inversion, and comparing
    /// two key objects does it for both.
    let childKeySPKI: [UInt8]?
    let now: Date

    func verify(_ linkDER: [UInt8]) throws(IssuanceError) -> LineageLink {
        guard !linkDER.isEmpty else {
            throw .invalidRequest("the request carries no lineage link: the parent layer must vouch for its child")
        }
        guard !caller.lineage.isEmpty else {
            throw .permissionDenied("\(caller.spiffeID)'s SVID carries no lineage; it must renew its SVID before vouching for children")
        }
        let link: LineageLink
        do {
            link = try LineageDER.decodeLink(linkDER)
        } catch {
            throw .invalidRequest("lineage link: \(error)")
        }
        let content = link.content
        guard content.spiffeID == childID.description else {
            throw .permissionDenied("lineage link names \(content.spiffeID), the request is for \(childID)")
        }
        // Both sides are the key's SubjectPublicKeyInfo DER as swift-certificates writes it (the
        // agent's `spkiDER` of the key it made, the server's of the key it parsed from the CSR), so
        // the same key has the same bytes whatever point encoding the CSR used.
        guard content.publicKey == childKeySPKI ?? [] else {
            throw .permissionDenied(childKeySPKI == nil ? "a JWT-SVID's lineage link must not carry a key" : "lineage link key is not the key of the CSR")
        }
        let expected: [UInt8]
        do {
            expected = try caller.lineage.lastLinkHash()
        } catch {
            throw .internalError("\(error)")
        }
        guard content.previousLinkHash == expected else {
            throw .permissionDenied("lineage link does not extend \(caller.spiffeID)'s current lineage (forged, replayed or stale link)")
        }
        guard LinkSignature.isValid(link, signedBy: caller.certificate.publicKey) else {
            throw .permissionDenied("lineage link is not signed by \(caller.spiffeID)'s SVID key")
        }
        let required = Set(entry.selectors.map(\.description))
        guard required.isSubset(of: Set(content.selectors)) else {
            throw .permissionDenied("lineage link does not attest the entry's selectors (\(required.sorted().joined(separator: " ")))")
        }
        let issuedAt = TimeInterval(content.issuedAt)
        guard abs(issuedAt - now.timeIntervalSince1970) <= Self.leeway else {
            throw .permissionDenied("lineage link was issued at \(link.issuedAt.formatted(.iso8601)); it must be fresh (replayed?)")
        }
        guard content.expiresAt <= Int64(caller.expiresAt.timeIntervalSince1970) else {
            throw .permissionDenied("requested lifetime (until \(link.expiresAt.formatted(.iso8601))) exceeds the parent's remaining lifetime (until \(caller.expiresAt.formatted(.iso8601)))")
        }
        guard content.expiresAt > Int64(now.timeIntervalSince1970) else {
            throw .invalidRequest("lineage link has already expired")
        }
        return link
    }

    /// The ancestors to record for a credential with this lineage (every link but the last).
    static func ancestors(of lineage: Lineage) -> [IssuedSVIDRecord.Ancestor] {
        lineage.links.dropLast().compactMap { link in
            guard let id = try? SPIFFEID(link.content.spiffeID) else { return nil }
            return IssuedSVIDRecord.Ancestor(spiffeID: id, keyHash: SHA256Hex.digest(link.content.publicKey))
        }
    }
}
