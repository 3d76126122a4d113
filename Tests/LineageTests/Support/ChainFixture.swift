import Authority
import Foundation
import Lineage
import SPIFFE
import X509

/// One layer of a test stack: its identity and its SVID key.
struct Layer: Sendable {
    let id: SPIFFEID
    let key: SigningKey

    var privateKey: Certificate.PrivateKey { key.certificatePrivateKey }
    var publicKey: Certificate.PublicKey { key.publicKey }
}

/// A trust domain's CA and a stack of layers, each vouched for by the one around it with real
/// keys, and the lineage of the innermost layer.
struct ChainFixture: Sendable {
    static let trustDomain = "example.org"
    /// Key types cycled through the layers, so every pairing of signer and signed key occurs.
    static let mixedAlgorithms: [KeyAlgorithm] = [.ecP256, .ecP384, .rsa2048]

    let ca: CertificateAuthority
    let layers: [Layer]
    let lineage: Lineage
    /// When the first layer was issued (whole seconds).
    let start: Date

    var bundle: SPIFFEBundle { SPIFFEBundle(trustDomain: ca.trustDomain, x509Authorities: [ca.certificate]) }
    var verifier: LineageVerifier { LineageVerifier(bundle: bundle) }
    var subject: Layer { layers[layers.count - 1] }

    /// A stack `depth` layers deep: the first signed by the CA, each next one by the layer before,
    /// issued a second after its parent and expiring a minute before it.
    static func make(
        depth: Int,
        algorithms: [KeyAlgorithm] = [.ecP256],
        caAlgorithm: KeyAlgorithm = .ecP256,
        ca existing: CertificateAuthority? = nil,
        pathPrefix: String = "ci",
        start: Date = wholeSeconds(Date())
    ) throws -> ChainFixture {
        let ca = try existing ?? CertificateAuthority.createRoot(trustDomain: TrustDomain(trustDomain), keyAlgorithm: caAlgorithm)
        var layers: [Layer] = []
        var lineage = Lineage()
        for index in 0..<depth {
            let layer = try Layer(id: id(index, prefix: pathPrefix), key: SigningKey(generating: algorithms[index % algorithms.count]))
            let link: LineageLink
            if let parent = layers.last {
                link = try LinkBuilder.child(
                    of: lineage, signedBy: parent.privateKey, spiffeID: layer.id.description, publicKey: layer.publicKey,
                    attestor: index == 1 ? "unix" : "exec", selectors: ["unix:uid:\(1000 + index)", "unix:sha256:\(String(repeating: "ab", count: 32))"],
                    issuedAt: start.addingTimeInterval(Double(index)), expiresAt: start.addingTimeInterval(3600 - 60 * Double(index)))
            } else {
                link = try LinkBuilder.root(
                    spiffeID: layer.id.description, publicKey: layer.publicKey, attestor: "join_token", selectors: ["join_token:abc123"],
                    issuedAt: start, expiresAt: start.addingTimeInterval(3600), evidence: Array("server statement".utf8),
                    signedBy: ca.key.certificatePrivateKey)
            }
            lineage = try lineage.appending(link)
            layers.append(layer)
        }
        return ChainFixture(ca: ca, layers: layers, lineage: lineage, start: start)
    }

    /// `spiffe://example.org/agent/join_token/abc123` for the first layer, then
    /// `spiffe://example.org/<prefix>/l1`, `…/l1/l2`, ….
    static func id(_ index: Int, prefix: String = "ci") throws -> SPIFFEID {
        if index == 0 { return try SPIFFEID("spiffe://\(trustDomain)/agent/join_token/abc123") }
        return try SPIFFEID("spiffe://\(trustDomain)/\(prefix)" + (1...index).map { "/l\($0)" }.joined())
    }

    static func wholeSeconds(_ date: Date) -> Date {
        Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded(.down))
    }

    /// The lineage with link `index` replaced.
    func replacing(_ index: Int, with link: LineageLink) -> Lineage {
        var links = lineage.links
        links[index] = link
        return Lineage(links: links)
    }

    /// Link `index` with its content changed by `change` and signed again by the key of the layer
    /// before it (the CA for the first link): a link the rightful parent really signed.
    func resigned(_ index: Int, _ change: (inout LineageLink.Content) -> Void) throws -> LineageLink {
        var content = lineage.links[index].content
        change(&content)
        let key = index == 0 ? ca.key.certificatePrivateKey : layers[index - 1].privateKey
        return try LinkSignature.sign(content, with: key)
    }

    /// Link `index` with its content changed after signing (the signature kept).
    func altered(_ index: Int, _ change: (inout LineageLink.Content) -> Void) -> LineageLink {
        var link = lineage.links[index]
        change(&link.content)
        return link
    }
}
