/// A TPM 2.0 elliptic curve identifier (`TPM_ECC_CURVE`, TPM 2.0 Part 2 §6.4).
public struct TPMECCCurve: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The 16-bit `TPM_ECC_CURVE` value.
    public var rawValue: UInt16

    /// Creates a curve identifier from its `TPM_ECC_CURVE` value.
    public init(rawValue: UInt16) {
        self.rawValue = rawValue
    }

    /// `TPM_ECC_NIST_P256`.
    public static let nistP256 = TPMECCCurve(rawValue: 0x0003)
    /// `TPM_ECC_NIST_P384`.
    public static let nistP384 = TPMECCCurve(rawValue: 0x0004)
    /// `TPM_ECC_NIST_P521`.
    public static let nistP521 = TPMECCCurve(rawValue: 0x0005)

    /// The size in bytes of a coordinate on this curve, for the curves this module supports.
    public var coordinateSize: Int? {
        switch self {
        case .nistP256: return 32
        case .nistP384: return 48
        case .nistP521: return 66
        default: return nil
        }
    }

    /// The TCG name of the curve or its hexadecimal value.
    public var description: String {
        switch self {
        case .nistP256: return "TPM_ECC_NIST_P256"
        case .nistP384: return "TPM_ECC_NIST_P384"
        case .nistP521: return "TPM_ECC_NIST_P521"
        default: return "TPM_ECC(0x\(String(rawValue, radix: 16, uppercase: true)))"
        }
    }
}
