import Foundation
import SPIFFE

/// Lineage in a JWT-SVID: the `lineage` claim (an array of links, outermost first, each with its
/// fields and its signature; the signed bytes are the DER of the link content, rebuilt from the
/// fields) and an RFC 8693 `act` claim (`act.sub` = parent, `act.act.sub` = grandparent, …) for
/// tools that only know `act`.
public enum LineageJSON {
    /// The `lineage` claim.
    public static func claim(_ lineage: Lineage) -> JSONValue {
        .array(lineage.links.map { link in
            let content = link.content
            var object: [String: JSONValue] = [
                "spiffe_id": .string(content.spiffeID),
                "attestor": .string(content.attestor),
                "selectors": .array(content.selectors.map(JSONValue.string)),
                "issued_at": .integer(content.issuedAt),
                "expires_at": .integer(content.expiresAt),
                "signature": .string(Base64URL.encode(link.signature)),
            ]
            if !content.publicKey.isEmpty { object["public_key"] = .string(Base64URL.encode(content.publicKey)) }
            if !content.evidence.isEmpty { object["evidence"] = .string(Base64URL.encode(content.evidence)) }
            if !content.previousLinkHash.isEmpty { object["previous_hash"] = .string(Base64URL.encode(content.previousLinkHash)) }
            return .object(object)
        })
    }

    /// The `act` claim for a credential whose lineage is `lineage`: the actor chain of its
    /// ancestors, nearest first. Nil when the credential has no parent layer.
    public static func actClaim(_ lineage: Lineage) -> JSONValue? {
        let ancestors = lineage.links.dropLast().map(\.content.spiffeID)
        var act: JSONValue?
        for id in ancestors {
            var object: [String: JSONValue] = ["sub": .string(id)]
            if let inner = act { object["act"] = inner }
            act = .object(object)
        }
        return act
    }

    /// Reads a `lineage` claim.
    public static func lineage(from claim: JSONValue) throws(LineageError) -> Lineage {
        guard case .array(let items) = claim else { throw .malformed("the lineage claim is not an array") }
        guard !items.isEmpty else { throw .empty }
        guard items.count <= Lineage.maximumDepth else { throw .tooDeep(items.count) }
        var links: [LineageLink] = []
        for (index, item) in items.enumerated() {
            guard case .object(let object) = item else { throw .malformed("link \(index) is not an object") }
            func string(_ key: String, required: Bool = true) throws(LineageError) -> String? {
                guard let value = object[key] else {
                    if required { throw .malformed("link \(index) has no '\(key)'") }
                    return nil
                }
                guard case .string(let string) = value else { throw .malformed("link \(index) '\(key)' is not a string") }
                return string
            }
            func bytes(_ key: String, required: Bool = false) throws(LineageError) -> [UInt8] {
                guard let text = try string(key, required: required) else { return [] }
                guard let decoded = Base64URL.decode(text) else { throw .malformed("link \(index) '\(key)' is not base64url") }
                return decoded
            }
            func integer(_ key: String) throws(LineageError) -> Int64 {
                guard case .integer(let value)? = object[key] else { throw .malformed("link \(index) '\(key)' is not an integer") }
                return value
            }
            guard case .array(let selectorValues)? = object["selectors"] ?? .array([]) else {
                throw .malformed("link \(index) 'selectors' is not an array")
            }
            var selectors: [String] = []
            for value in selectorValues {
                guard case .string(let selector) = value else { throw .malformed("link \(index) has a non-string selector") }
                selectors.append(selector)
            }
            let content = LineageLink.Content(
                spiffeID: try string("spiffe_id") ?? "", publicKey: try bytes("public_key"), attestor: try string("attestor") ?? "",
                selectors: selectors, issuedAt: try integer("issued_at"), expiresAt: try integer("expires_at"),
                evidence: try bytes("evidence"), previousLinkHash: try bytes("previous_hash"))
            links.append(LineageLink(content: content, signature: try bytes("signature", required: true)))
        }
        return Lineage(links: links)
    }
}
