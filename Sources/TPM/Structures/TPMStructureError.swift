/// A TPM structure could not be decoded from its marshalled (big-endian, TPM 2.0 Part 2) form.
///
/// Every case names the structure and the field, so a log line says exactly what was wrong
/// with the bytes an agent sent.
public enum TPMStructureError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The input ended before `field` of `structure` was complete.
    case truncated(structure: String, field: String, offset: Int, needed: Int, available: Int)
    /// A field holds an algorithm, curve or selector this module does not support.
    case unsupported(structure: String, field: String, value: UInt32)
    /// A field holds a value that is never valid there.
    case invalid(structure: String, field: String, reason: String)
    /// Bytes were left over after the structure was decoded.
    case trailingBytes(structure: String, count: Int)

    /// A one-line explanation naming the structure and the field.
    public var description: String {
        switch self {
        case .truncated(let structure, let field, let offset, let needed, let available):
            return "\(structure): truncated at \(field) (offset \(offset)): need \(needed) byte(s), \(available) left"
        case .unsupported(let structure, let field, let value):
            return "\(structure): unsupported \(field) 0x\(String(value, radix: 16, uppercase: true))"
        case .invalid(let structure, let field, let reason):
            return "\(structure): invalid \(field): \(reason)"
        case .trailingBytes(let structure, let count):
            return "\(structure): \(count) unexpected trailing byte(s)"
        }
    }
}
