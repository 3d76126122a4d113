/// The attributes of a TPM object (`TPMA_OBJECT`, TPM 2.0 Part 2 §8.3).
public struct TPMObjectAttributes: OptionSet, Hashable, Sendable, CustomStringConvertible {
    /// The 32-bit `TPMA_OBJECT` value.
    public var rawValue: UInt32

    /// Creates an attribute set from its `TPMA_OBJECT` value.
    public init(rawValue: UInt32) {
        self.rawValue = rawValue
    }

    /// The hierarchy of the object may not change (the key cannot be duplicated).
    public static let fixedTPM = TPMObjectAttributes(rawValue: 0x0000_0002)
    /// The object cannot be loaded under, or duplicated to, another parent.
    public static let stClear = TPMObjectAttributes(rawValue: 0x0000_0004)
    /// The parent of the object may not change.
    public static let fixedParent = TPMObjectAttributes(rawValue: 0x0000_0010)
    /// The TPM generated all of the sensitive data other than the authValue.
    public static let sensitiveDataOrigin = TPMObjectAttributes(rawValue: 0x0000_0020)
    /// USER role actions may be authorised with the authValue or an HMAC session.
    public static let userWithAuth = TPMObjectAttributes(rawValue: 0x0000_0040)
    /// ADMIN role actions need a policy session.
    public static let adminWithPolicy = TPMObjectAttributes(rawValue: 0x0000_0080)
    /// The object is not subject to dictionary-attack protections.
    public static let noDA = TPMObjectAttributes(rawValue: 0x0000_0400)
    /// Duplication needs an inner wrapper.
    public static let encryptedDuplication = TPMObjectAttributes(rawValue: 0x0000_0800)
    /// Key usage is restricted to structures the TPM produced (a restricted signing key signs only
    /// attestations and digests the TPM computed itself).
    public static let restricted = TPMObjectAttributes(rawValue: 0x0001_0000)
    /// The key may decrypt.
    public static let decrypt = TPMObjectAttributes(rawValue: 0x0002_0000)
    /// The key may sign.
    public static let sign = TPMObjectAttributes(rawValue: 0x0004_0000)

    private static let names: [(TPMObjectAttributes, String)] = [
        (.fixedTPM, "fixedTPM"), (.stClear, "stClear"), (.fixedParent, "fixedParent"),
        (.sensitiveDataOrigin, "sensitiveDataOrigin"), (.userWithAuth, "userWithAuth"),
        (.adminWithPolicy, "adminWithPolicy"), (.noDA, "noDA"),
        (.encryptedDuplication, "encryptedDuplication"), (.restricted, "restricted"),
        (.decrypt, "decrypt"), (.sign, "sign"),
    ]

    /// The names of the set attributes joined by `|`, e.g. `fixedTPM|fixedParent|restricted|sign`.
    public var description: String {
        let set = Self.names.filter { contains($0.0) }.map(\.1)
        let known = Self.names.reduce(into: UInt32(0)) { $0 |= $1.0.rawValue }
        var parts = set
        if rawValue & ~known != 0 {
            parts.append("0x" + String(rawValue & ~known, radix: 16))
        }
        return parts.isEmpty ? "none" : parts.joined(separator: "|")
    }
}
