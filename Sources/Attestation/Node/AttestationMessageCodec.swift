import Foundation

/// How node attestation methods (TPM, x509pop) carry their messages in the node API's payload,
/// challenge and answer bytes: canonical JSON (sorted keys) out, size-limited JSON in, each
/// failure one line naming the method and the message.
public struct AttestationMessageCodec: Sendable {
    /// The method's name in errors: `TPM`, `x509pop`.
    public let method: String
    /// The most bytes a message may have.
    public let maximumMessageSize: Int

    public init(method: String, maximumMessageSize: Int = 64 * 1024) {
        self.method = method
        self.maximumMessageSize = maximumMessageSize
    }

    /// Canonical JSON (sorted keys) of a message.
    public func encode(_ value: some Encodable) throws(NodeAttestationError) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            return Array(try encoder.encode(value))
        } catch {
            throw NodeAttestationError("cannot encode a \(method) attestation message: \(error)")
        }
    }

    /// Decodes a message; `what` names it in the error.
    public func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8], what: String) throws(NodeAttestationError) -> T {
        guard bytes.count <= maximumMessageSize else {
            throw NodeAttestationError("\(method) attestation: \(what) is too large (\(bytes.count) bytes; at most \(maximumMessageSize))")
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch {
            throw NodeAttestationError("\(method) attestation: malformed \(what) (expected JSON): \(Self.describe(error))")
        }
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.dataCorrupted(let context): return context.debugDescription
        case DecodingError.keyNotFound(let key, _): return "missing '\(key.stringValue)'"
        case DecodingError.typeMismatch(_, let context): return "\(context.codingPath.map(\.stringValue).joined(separator: ".")): \(context.debugDescription)"
        case DecodingError.valueNotFound(_, let context): return "\(context.codingPath.map(\.stringValue).joined(separator: ".")): \(context.debugDescription)"
        default: return "\(error)"
        }
    }
}
