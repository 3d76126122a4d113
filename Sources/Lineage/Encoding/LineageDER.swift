import SwiftASN1

/// The one canonical encoding of lineage, used for signing, for the X.509 extension, and as the
/// basis of the JWT claim:
///
/// ```
/// Lineage     ::= SEQUENCE SIZE (1..32) OF LineageLink
/// LineageLink ::= SEQUENCE { content LinkContent, signature OCTET STRING }
/// LinkContent ::= SEQUENCE {
///     version          INTEGER (1),
///     spiffeID         UTF8String,
///     publicKey        OCTET STRING,   -- SubjectPublicKeyInfo DER, or empty
///     attestor         UTF8String,
///     selectors        SEQUENCE OF UTF8String,
///     issuedAt         INTEGER,        -- seconds since the epoch
///     expiresAt        INTEGER,
///     evidence         OCTET STRING,
///     previousLinkHash OCTET STRING }  -- SHA-256 of the previous LineageLink DER, or empty
/// ```
public enum LineageDER {
    /// DER of a whole lineage.
    public static func encode(_ lineage: Lineage) throws(LineageError) -> [UInt8] {
        try serialize(DERLineage(lineage))
    }

    /// DER of one link.
    public static func encode(_ link: LineageLink) throws(LineageError) -> [UInt8] {
        try serialize(DERLink(link))
    }

    /// DER of the signed part of a link.
    public static func encode(_ content: LineageLink.Content) throws(LineageError) -> [UInt8] {
        try serialize(DERContent(content))
    }

    /// Parses a whole lineage, with size and depth limits.
    public static func decodeLineage(_ bytes: [UInt8]) throws(LineageError) -> Lineage {
        guard bytes.count <= Lineage.maximumEncodedSize else { throw .tooLarge(bytes.count) }
        do {
            let lineage = try DERLineage(derEncoded: bytes).lineage
            guard !lineage.isEmpty else { throw LineageError.empty }
            guard lineage.depth <= Lineage.maximumDepth else { throw LineageError.tooDeep(lineage.depth) }
            return lineage
        } catch let error as LineageError {
            throw error
        } catch {
            throw .malformed(Self.describe(error))
        }
    }

    /// Parses one link.
    public static func decodeLink(_ bytes: [UInt8]) throws(LineageError) -> LineageLink {
        do {
            return try DERLink(derEncoded: bytes).link
        } catch {
            throw .malformed(Self.describe(error))
        }
    }

    private static func serialize(_ value: some DERSerializable) throws(LineageError) -> [UInt8] {
        var serializer = DER.Serializer()
        do {
            try serializer.serialize(value)
        } catch {
            throw .malformed("cannot encode: \(error)")
        }
        return serializer.serializedBytes
    }

    /// swift-asn1 errors name source files; keep the reason.
    static func describe(_ error: any Error) -> String {
        let text = String(describing: error)
        if let colon = text.firstIndex(of: ":"), text.hasPrefix("ASN1Error") {
            let reason = text[text.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            return "not valid DER (\(reason.split(separator: " ").prefix(while: { !$0.contains(".swift") }).joined(separator: " ")))"
        }
        return "not valid DER (\(text))"
    }
}

struct DERLineage: DERImplicitlyTaggable {
    static var defaultIdentifier: ASN1Identifier { .sequence }
    var lineage: Lineage

    init(_ lineage: Lineage) { self.lineage = lineage }

    init(derEncoded rootNode: ASN1Node, withIdentifier identifier: ASN1Identifier) throws {
        let links = try DER.sequence(of: DERLink.self, identifier: identifier, rootNode: rootNode)
        guard links.count <= Lineage.maximumDepth else { throw LineageError.tooDeep(links.count) }
        lineage = Lineage(links: links.map(\.link))
    }

    func serialize(into coder: inout DER.Serializer, withIdentifier identifier: ASN1Identifier) throws {
        try coder.serializeSequenceOf(lineage.links.map(DERLink.init), identifier: identifier)
    }
}

struct DERLink: DERImplicitlyTaggable {
    static var defaultIdentifier: ASN1Identifier { .sequence }
    var link: LineageLink

    init(_ link: LineageLink) { self.link = link }

    init(derEncoded rootNode: ASN1Node, withIdentifier identifier: ASN1Identifier) throws {
        link = try DER.sequence(rootNode, identifier: identifier) { nodes in
            let content = try DERContent(derEncoded: &nodes)
            let signature = try ASN1OctetString(derEncoded: &nodes)
            return LineageLink(content: content.content, signature: Array(signature.bytes))
        }
    }

    func serialize(into coder: inout DER.Serializer, withIdentifier identifier: ASN1Identifier) throws {
        try coder.appendConstructedNode(identifier: identifier) { coder in
            try coder.serialize(DERContent(link.content))
            try coder.serialize(ASN1OctetString(contentBytes: link.signature[...]))
        }
    }
}

struct DERContent: DERImplicitlyTaggable {
    static var defaultIdentifier: ASN1Identifier { .sequence }
    var content: LineageLink.Content

    init(_ content: LineageLink.Content) { self.content = content }

    init(derEncoded rootNode: ASN1Node, withIdentifier identifier: ASN1Identifier) throws {
        content = try DER.sequence(rootNode, identifier: identifier) { nodes in
            let version = try Int(derEncoded: &nodes)
            guard version == 1 else { throw LineageError.malformed("unsupported link version \(version)") }
            let spiffeID = try String(ASN1UTF8String(derEncoded: &nodes))
            let publicKey = try ASN1OctetString(derEncoded: &nodes)
            let attestor = try String(ASN1UTF8String(derEncoded: &nodes))
            let selectors = try DER.sequence(of: ASN1UTF8String.self, identifier: .sequence, nodes: &nodes).map(String.init)
            let issuedAt = try Int64(derEncoded: &nodes)
            let expiresAt = try Int64(derEncoded: &nodes)
            let evidence = try ASN1OctetString(derEncoded: &nodes)
            let previous = try ASN1OctetString(derEncoded: &nodes)
            return LineageLink.Content(
                spiffeID: spiffeID, publicKey: Array(publicKey.bytes), attestor: attestor, selectors: selectors,
                issuedAt: issuedAt, expiresAt: expiresAt, evidence: Array(evidence.bytes), previousLinkHash: Array(previous.bytes),
                version: version)
        }
    }

    func serialize(into coder: inout DER.Serializer, withIdentifier identifier: ASN1Identifier) throws {
        try coder.appendConstructedNode(identifier: identifier) { coder in
            try coder.serialize(content.version)
            try coder.serialize(ASN1UTF8String(content.spiffeID))
            try coder.serialize(ASN1OctetString(contentBytes: content.publicKey[...]))
            try coder.serialize(ASN1UTF8String(content.attestor))
            try coder.serializeSequenceOf(content.selectors.map { ASN1UTF8String($0) })
            try coder.serialize(content.issuedAt)
            try coder.serialize(content.expiresAt)
            try coder.serialize(ASN1OctetString(contentBytes: content.evidence[...]))
            try coder.serialize(ASN1OctetString(contentBytes: content.previousLinkHash[...]))
        }
    }
}
