import Foundation
import SPIFFE
import X509

/// Checks every hop of a lineage offline:
///
/// - the first link is signed by one of the trust domain's CA keys and starts the chain;
/// - every further link commits to the SHA-256 of the link before it (so links cannot be
///   dropped, inserted or reordered) and is signed by the key of the layer before it;
/// - no link outlives its parent, and none is issued before its parent;
/// - the last link is the credential's subject: same SPIFFE ID and, for X509-SVIDs, same key.
public struct LineageVerifier: Sendable {
    /// Keys that may sign first links: the trust domain's CA keys.
    public var authorities: [Certificate.PublicKey]
    /// Clock skew tolerated between layers.
    public var leeway: TimeInterval

    public init(authorities: [Certificate.PublicKey], leeway: TimeInterval = 60) {
        self.authorities = authorities
        self.leeway = leeway
    }

    /// Authorities from a bundle and the CA certificates of an SVID chain.
    ///
    /// Pass a chain that was *verified* against `bundle` (``VerifiedX509SVID/chain``): every
    /// certificate after the leaf becomes an authority for first links, so an unverified chain
    /// would let its sender sign first links with a CA of its own.
    public init(bundle: SPIFFEBundle, chain: [Certificate] = [], leeway: TimeInterval = 60) {
        var keys = bundle.x509Authorities.map(\.publicKey)
        for certificate in chain.dropFirst() where !keys.contains(certificate.publicKey) { keys.append(certificate.publicKey) }
        self.init(authorities: keys, leeway: leeway)
    }

    /// Verifies `lineage` as the chain of custody of a credential for `subject` holding
    /// `subjectKey` (nil for JWT-SVIDs).
    public func verify(_ lineage: Lineage, subject: SPIFFEID, subjectKey: Certificate.PublicKey?) throws(LineageError) {
        try verifyChain(lineage)
        guard let last = lineage.last else { throw .empty }
        guard last.content.spiffeID == subject.description else {
            throw .subjectMismatch("the last link is \(last.content.spiffeID), the credential is \(subject)")
        }
        if let subjectKey {
            guard let linkKey = try last.publicKey(), linkKey == subjectKey else {
                throw .subjectMismatch("the last link's key is not the credential's key")
            }
        }
    }

    /// Verifies the links among themselves, without a subject.
    public func verifyChain(_ lineage: Lineage) throws(LineageError) {
        guard !lineage.isEmpty else { throw .empty }
        guard lineage.depth <= Lineage.maximumDepth else { throw .tooDeep(lineage.depth) }
        var previous: LineageLink?
        for (index, link) in lineage.links.enumerated() {
            let content = link.content
            func fail(_ reason: String) -> LineageError { .hop(index: index, spiffeID: content.spiffeID, reason: reason) }
            guard (try? SPIFFEID(content.spiffeID)) != nil else { throw fail("not a valid SPIFFE ID") }
            guard content.issuedAt <= content.expiresAt else { throw fail("issued after it expires") }
            if let previous {
                guard let parentKey = try previous.publicKey() else {
                    throw fail("its parent \(previous.content.spiffeID) has no key to sign with")
                }
                guard content.previousLinkHash == Lineage.hash(try LineageDER.encode(previous)) else {
                    throw fail("does not follow \(previous.content.spiffeID) (previous-link hash mismatch: links were removed, inserted or reordered)")
                }
                guard LinkSignature.isValid(link, signedBy: parentKey) else {
                    throw fail("signature is not by \(previous.content.spiffeID)'s key (forged or altered link)")
                }
                guard content.expiresAt <= previous.content.expiresAt else {
                    throw fail("outlives its parent \(previous.content.spiffeID)")
                }
                guard Double(content.issuedAt) + leeway >= Double(previous.content.issuedAt) else {
                    throw fail("was issued before its parent \(previous.content.spiffeID)")
                }
            } else {
                guard content.previousLinkHash.isEmpty else { throw fail("the first link must not point to a previous one") }
                guard authorities.contains(where: { LinkSignature.isValid(link, signedBy: $0) }) else {
                    throw fail("the first link is not signed by a CA of the trust bundle")
                }
            }
            previous = link
        }
    }
}
