import Foundation
import Lineage

/// How an issuance's lineage goes into its audit record: `lineage` (the SPIFFE IDs, outermost
/// first, joined by ` > `) for people and `lineage_layers` (a JSON array, one object per layer:
/// `spiffe_id`, `attestor`, `selectors`, `key_sha256`, `issued_at`, `expires_at`) for machines.
enum AuditLineage {
    struct Layer: Encodable {
        var spiffeID: String
        var attestor: String
        var selectors: [String]
        var keySHA256: String
        var issuedAt: Int64
        var expiresAt: Int64

        enum CodingKeys: String, CodingKey {
            case spiffeID = "spiffe_id", attestor, selectors, keySHA256 = "key_sha256", issuedAt = "issued_at", expiresAt = "expires_at"
        }
    }

    /// The separator between layers in the `lineage` detail.
    static let separator = " > "

    static func details(_ lineage: Lineage) -> [String: String] {
        let layers = lineage.links.map { link in
            Layer(spiffeID: link.content.spiffeID, attestor: link.content.attestor, selectors: link.content.selectors,
                  keySHA256: LineageLink.hexSHA256(link.content.publicKey),
                  issuedAt: link.content.issuedAt, expiresAt: link.content.expiresAt)
        }
        var details = ["lineage": lineage.spiffeIDs.joined(separator: separator), "lineage_depth": String(lineage.depth)]
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        if let json = try? encoder.encode(layers) {
            details["lineage_layers"] = String(decoding: json, as: UTF8.self)
        }
        return details
    }

    /// The SPIFFE IDs of a `lineage` detail, outermost first.
    static func spiffeIDs(_ detail: String?) -> [String] {
        guard let detail, !detail.isEmpty else { return [] }
        return detail.components(separatedBy: separator)
    }
}
