import Crypto
import Foundation
import SwiftASN1
import X509

/// A chain of custody: the links from the outermost layer (the node, attested by the server or
/// the hardware) to the layer that holds the credential, outermost first.
public struct Lineage: Sendable, Hashable {
    /// The most links a lineage may have.
    public static let maximumDepth = 32
    /// The largest encoded lineage accepted, in bytes.
    public static let maximumEncodedSize = 128 * 1024

    public private(set) var links: [LineageLink]

    public init(links: [LineageLink] = []) {
        self.links = links
    }

    public var isEmpty: Bool { links.isEmpty }
    public var depth: Int { links.count }
    public var last: LineageLink? { links.last }

    /// The SPIFFE IDs of every layer, outermost first.
    public var spiffeIDs: [String] { links.map(\.content.spiffeID) }

    /// SHA-256 of the last link's DER: what the next link must commit to.
    public func lastLinkHash() throws(LineageError) -> [UInt8] {
        guard let last = links.last else { return [] }
        return Self.hash(try LineageDER.encode(last))
    }

    /// A new lineage with `link` appended.
    public func appending(_ link: LineageLink) throws(LineageError) -> Lineage {
        guard links.count < Self.maximumDepth else { throw .tooDeep(links.count + 1) }
        return Lineage(links: links + [link])
    }

    /// This lineage without its last link (the parent's lineage).
    public var parent: Lineage { Lineage(links: Array(links.dropLast())) }

    static func hash(_ bytes: [UInt8]) -> [UInt8] {
        Array(SHA256.hash(data: bytes))
    }
}

/// Why a lineage is malformed or does not verify. Hop failures name the hop.
public enum LineageError: Error, Hashable, Sendable, CustomStringConvertible {
    case malformed(String)
    case tooDeep(Int)
    case tooLarge(Int)
    case empty
    case hop(index: Int, spiffeID: String, reason: String)
    case subjectMismatch(String)
    case signing(String)

    public var description: String {
        switch self {
        case .malformed(let reason): return "malformed lineage: \(reason)"
        case .tooDeep(let depth): return "lineage has \(depth) links; the limit is \(Lineage.maximumDepth)"
        case .tooLarge(let size): return "lineage is \(size) bytes; the limit is \(Lineage.maximumEncodedSize)"
        case .empty: return "the credential carries no lineage"
        case .hop(let index, let spiffeID, let reason): return "hop \(index) (\(spiffeID)): \(reason)"
        case .subjectMismatch(let reason): return "lineage does not end at this credential: \(reason)"
        case .signing(let reason): return "cannot sign lineage link: \(reason)"
        }
    }
}
