import Foundation
import Lineage
import SPIFFE

/// What `lineage show` and `lineage verify` print: the credential and its chain of custody,
/// outermost layer first.
public struct LineageReport: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        case x509SVID = "x509-svid"
        case jwtSVID = "jwt-svid"

        var name: String { self == .x509SVID ? "X509-SVID" : "JWT-SVID" }
    }

    public var credential: Kind
    public var spiffeID: String
    /// Whether every hop was checked (`lineage verify`) or the links are only shown.
    public var verified: Bool
    public var links: [LineageLinkReport]
    /// `lineage verify` of a TPM-rooted lineage: the hardware evidence of its first link, checked.
    public var hardware: HardwareEvidence?

    enum CodingKeys: String, CodingKey {
        case credential, spiffeID = "spiffe_id", verified, links, hardware
    }

    init(credential: Kind, spiffeID: SPIFFEID, lineage: Lineage?, verified: Bool, hardware: HardwareEvidence? = nil) {
        self.credential = credential
        self.spiffeID = spiffeID.description
        self.verified = verified
        self.hardware = hardware
        links = lineage?.links.map(LineageLinkReport.init) ?? []
    }

    /// Human-readable form: for `verify` a summary line, then the tree of links.
    public var text: String {
        if links.isEmpty {
            let carrier = credential == .x509SVID ? "lineage extension" : "lineage claim"
            return "\(spiffeID): no lineage (this \(credential.name) has no \(carrier))\n"
        }
        let summary = verified ? "lineage verified: \(links.count) \(links.count == 1 ? "hop" : "hops")\n" : ""
        return summary + (hardware?.text ?? "") + LineageTree.render(links)
    }
}

/// One link, as reports show it. Byte fields are base64url, as in the JWT `lineage` claim.
public struct LineageLinkReport: Codable, Sendable, Equatable {
    public var spiffeID: String
    public var attestor: String
    public var selectors: [String]
    public var issuedAt: Date
    public var expiresAt: Date
    /// SubjectPublicKeyInfo DER; absent for a JWT-SVID's own link.
    public var publicKey: String?
    public var evidence: String?
    public var previousHash: String?
    public var signature: String

    enum CodingKeys: String, CodingKey {
        case spiffeID = "spiffe_id", attestor, selectors, issuedAt = "issued_at", expiresAt = "expires_at"
        case publicKey = "public_key", evidence, previousHash = "previous_hash", signature
    }

    init(_ link: LineageLink) {
        let content = link.content
        spiffeID = content.spiffeID
        attestor = content.attestor
        selectors = content.selectors
        issuedAt = link.issuedAt
        expiresAt = link.expiresAt
        publicKey = Self.optional(content.publicKey)
        evidence = Self.optional(content.evidence)
        previousHash = Self.optional(content.previousLinkHash)
        signature = Base64URL.encode(link.signature)
    }

    private static func optional(_ bytes: [UInt8]) -> String? {
        bytes.isEmpty ? nil : Base64URL.encode(bytes)
    }
}

/// The links as an indented tree, one per line, with aligned columns:
///
/// ```
/// spiffe://example.org/agent/join_token/abc   join_token  [join_token:abc]  issued … expires …
/// └─ spiffe://example.org/ci/runner           unix        [unix:uid:1000]   issued … expires …
///    └─ spiffe://example.org/ci/runner/task/7 exec        [exec:pid:7]      issued … expires …
/// ```
enum LineageTree {
    static func render(_ links: [LineageLinkReport]) -> String {
        let rows = links.enumerated().map { index, link in
            [
                (index == 0 ? "" : String(repeating: "   ", count: index - 1) + "└─ ") + link.spiffeID,
                link.attestor.isEmpty ? "-" : link.attestor,
                "[" + link.selectors.joined(separator: " ") + "]",
                "issued \(ReportFormat.date(link.issuedAt)) expires \(ReportFormat.date(link.expiresAt))",
            ]
        }
        let widths = (0..<3).map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            (0..<3).map { row[$0] + String(repeating: " ", count: widths[$0] - row[$0].count) }.joined(separator: "  ")
                + "  " + row[3]
        }.joined(separator: "\n") + "\n"
    }
}
