import Foundation
import Lineage

/// How an issuance's lineage goes into its audit record: `lineage` (the SPIFFE IDs, outermost
/// first, joined by ` > `) for people and `lineage_layers` (a JSON array, one object per layer:
/// `spiffe_id`, `attestor`, `selectors`, `key_sha256`, `issued_at`, `expires_at`) for machines.
enum AuditLineage {
    /// The separator between layers in the `lineage` detail.
    static let separator = " > "

    static func details(_ lineage: Lineage) -> [String: String] {
        let layers = lineage.links.map { link in
            CanonicalJSON.object([
                "spiffe_id": .string(link.content.spiffeID), "attestor": .string(link.content.attestor),
                "selectors": CanonicalJSON.strings(link.content.selectors), "key_sha256": .string(LineageLink.hexSHA256(link.content.publicKey)),
                "issued_at": .integer(link.content.issuedAt), "expires_at": .integer(link.content.expiresAt),
            ])
        }
        return [
            "lineage": lineage.spiffeIDs.joined(separator: separator), "lineage_depth": String(lineage.depth),
            "lineage_layers": CanonicalJSON.array(layers).text,
        ]
    }

    /// The SPIFFE IDs of a `lineage` detail, outermost first.
    static func spiffeIDs(_ detail: String?) -> [String] {
        guard let detail, !detail.isEmpty else { return [] }
        return detail.components(separatedBy: separator)
    }
}
