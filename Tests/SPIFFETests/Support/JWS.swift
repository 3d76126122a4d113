import Crypto
import Foundation
import SPIFFE
import _CryptoExtras

/// Hand-made JWS compact tokens, so tests can set any header, claims or algorithm — including
/// the ones our authority would never produce.
enum JWS {
    enum Key {
        case p256(P256.Signing.PrivateKey)
        case p384(P384.Signing.PrivateKey)
        case p521(P521.Signing.PrivateKey)
        case rsa(_RSA.Signing.PrivateKey)
        case hmac([UInt8])
        case ed25519(Curve25519.Signing.PrivateKey)
        case none
    }

    static func base64URL(_ bytes: some Sequence<UInt8>) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func json(_ object: [String: JSONValue]) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(object)
    }

    /// Signs `header` and `claims` with `key`, using the algorithm the header's `alg` names
    /// (for RSA keys: RS* or PS*; defaults to the key's natural algorithm when absent).
    static func token(header: [String: JSONValue], claims: [String: JSONValue], key: Key) throws -> String {
        let signingInput = base64URL(try json(header)) + "." + base64URL(try json(claims))
        let alg = header["alg"]?.stringValue ?? ""
        return signingInput + "." + base64URL(try signature(Data(signingInput.utf8), key: key, alg: alg))
    }

    static func signature(_ input: Data, key: Key, alg: String) throws -> [UInt8] {
        switch key {
        case .p256(let key): return Array(try key.signature(for: input).rawRepresentation)
        case .p384(let key): return Array(try key.signature(for: input).rawRepresentation)
        case .p521(let key): return Array(try key.signature(for: input).rawRepresentation)
        case .rsa(let key):
            let padding: _RSA.Signing.Padding = alg.hasPrefix("PS") ? .PSS : .insecurePKCS1v1_5
            let signature: _RSA.Signing.RSASignature
            switch alg.suffix(3) {
            case "384": signature = try key.signature(for: SHA384.hash(data: input), padding: padding)
            case "512": signature = try key.signature(for: SHA512.hash(data: input), padding: padding)
            default: signature = try key.signature(for: SHA256.hash(data: input), padding: padding)
            }
            return Array(signature.rawRepresentation)
        case .hmac(let secret):
            return Array(HMAC<SHA256>.authenticationCode(for: input, using: SymmetricKey(data: secret)))
        case .ed25519(let key): return Array(try key.signature(for: input))
        case .none: return []
        }
    }
}
