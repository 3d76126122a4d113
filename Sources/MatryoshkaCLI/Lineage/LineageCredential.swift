import Foundation
import Lineage
import SPIFFE
import X509

/// A credential handed to `lineage show` or `lineage verify`: an X509-SVID chain or a JWT-SVID.
public enum LineageCredential: Sendable, Equatable {
    /// A certificate chain, leaf first.
    case x509([Certificate])
    /// A JWT-SVID in compact form.
    case jwt(String)

    /// Reads a command-line argument: the path of a PEM or DER certificate chain (leaf first), a
    /// JWT-SVID itself, `-` for standard input, or `@FILE` for a file holding either.
    public static func read(_ argument: String) throws(CLIError) -> LineageCredential {
        if argument == "-" { return try parse(InputFile.read("-"), source: "standard input") }
        if argument.hasPrefix("@") {
            let path = String(argument.dropFirst())
            return try parse(InputFile.read(path), source: path)
        }
        if looksLikeJWT(argument), !FileManager.default.fileExists(atPath: argument) { return .jwt(argument) }
        return try parse(InputFile.read(argument), source: argument)
    }

    /// Tells a certificate chain from a token by content.
    static func parse(_ bytes: [UInt8], source: String) throws(CLIError) -> LineageCredential {
        let text = String(decoding: bytes.prefix(JWTSVID.maximumLength + 1024), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        if looksLikeJWT(text) { return .jwt(text) }
        do {
            return .x509(try CertificateEncoding.certificates(from: bytes))
        } catch .notCertificates {
            throw CLIError("\(source) is neither a certificate chain (PEM or DER) nor a JWT-SVID")
        } catch {
            throw CLIError("\(source): \(error)")
        }
    }

    /// Three non-empty base64url parts separated by dots.
    static func looksLikeJWT(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 3 && parts.allSatisfy { part in
            !part.isEmpty && part.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "-" || $0 == "_") }
        }
    }

    /// What the credential says about itself, unverified: its kind, SPIFFE ID and lineage (nil
    /// when it carries none).
    func inspect() throws(CLIError) -> (kind: LineageReport.Kind, spiffeID: SPIFFEID, lineage: Lineage?) {
        switch self {
        case .x509(let chain):
            guard let leaf = chain.first else { throw CLIError("no certificates: an X509-SVID needs a leaf certificate") }
            let id: SPIFFEID
            do {
                id = try X509SVID.spiffeID(of: leaf)
            } catch {
                throw CLIError(error.description)
            }
            return (.x509SVID, id, try Self.lineage(of: leaf))
        case .jwt(let token):
            let svid: JWTSVID
            do {
                svid = try JWTSVID(parsing: token)
            } catch {
                throw CLIError(error.description)
            }
            return (.jwtSVID, svid.spiffeID, try Self.lineage(in: svid.claims))
        }
    }

    static func lineage(of leaf: Certificate) throws(CLIError) -> Lineage? {
        do {
            return try LineageExtension.lineage(of: leaf)
        } catch {
            throw CLIError("the X509-SVID's lineage extension: \(error)")
        }
    }

    static func lineage(in claims: [String: JSONValue]) throws(CLIError) -> Lineage? {
        guard let claim = claims["lineage"] else { return nil }
        do {
            return try LineageJSON.lineage(from: claim)
        } catch {
            throw CLIError("the JWT-SVID's lineage claim: \(error)")
        }
    }
}
