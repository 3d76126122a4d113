/// A TPM 2.0 algorithm identifier (`TPM_ALG_ID`, TPM 2.0 Part 2 §6.3).
///
/// Only the identifiers this module reads or writes have named constants; any other value
/// can still be represented through ``init(rawValue:)``.
public struct TPMAlgorithm: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The 16-bit `TPM_ALG_ID` value.
    public var rawValue: UInt16

    /// Creates an algorithm identifier from its `TPM_ALG_ID` value.
    public init(rawValue: UInt16) {
        self.rawValue = rawValue
    }

    /// `TPM_ALG_RSA`.
    public static let rsa = TPMAlgorithm(rawValue: 0x0001)
    /// `TPM_ALG_SHA1`.
    public static let sha1 = TPMAlgorithm(rawValue: 0x0004)
    /// `TPM_ALG_HMAC`.
    public static let hmac = TPMAlgorithm(rawValue: 0x0005)
    /// `TPM_ALG_AES`.
    public static let aes = TPMAlgorithm(rawValue: 0x0006)
    /// `TPM_ALG_MGF1`.
    public static let mgf1 = TPMAlgorithm(rawValue: 0x0007)
    /// `TPM_ALG_KEYEDHASH`.
    public static let keyedHash = TPMAlgorithm(rawValue: 0x0008)
    /// `TPM_ALG_XOR`.
    public static let xor = TPMAlgorithm(rawValue: 0x000A)
    /// `TPM_ALG_SHA256`.
    public static let sha256 = TPMAlgorithm(rawValue: 0x000B)
    /// `TPM_ALG_SHA384`.
    public static let sha384 = TPMAlgorithm(rawValue: 0x000C)
    /// `TPM_ALG_SHA512`.
    public static let sha512 = TPMAlgorithm(rawValue: 0x000D)
    /// `TPM_ALG_NULL`.
    public static let null = TPMAlgorithm(rawValue: 0x0010)
    /// `TPM_ALG_SM3_256`.
    public static let sm3_256 = TPMAlgorithm(rawValue: 0x0012)
    /// `TPM_ALG_SM4`.
    public static let sm4 = TPMAlgorithm(rawValue: 0x0013)
    /// `TPM_ALG_RSASSA` (RSASSA-PKCS1-v1_5).
    public static let rsassa = TPMAlgorithm(rawValue: 0x0014)
    /// `TPM_ALG_RSAES` (RSAES-PKCS1-v1_5).
    public static let rsaes = TPMAlgorithm(rawValue: 0x0015)
    /// `TPM_ALG_RSAPSS`.
    public static let rsapss = TPMAlgorithm(rawValue: 0x0016)
    /// `TPM_ALG_OAEP`.
    public static let oaep = TPMAlgorithm(rawValue: 0x0017)
    /// `TPM_ALG_ECDSA`.
    public static let ecdsa = TPMAlgorithm(rawValue: 0x0018)
    /// `TPM_ALG_ECDH`.
    public static let ecdh = TPMAlgorithm(rawValue: 0x0019)
    /// `TPM_ALG_ECDAA`.
    public static let ecdaa = TPMAlgorithm(rawValue: 0x001A)
    /// `TPM_ALG_SM2`.
    public static let sm2 = TPMAlgorithm(rawValue: 0x001B)
    /// `TPM_ALG_ECSCHNORR`.
    public static let ecschnorr = TPMAlgorithm(rawValue: 0x001C)
    /// `TPM_ALG_ECMQV`.
    public static let ecmqv = TPMAlgorithm(rawValue: 0x001D)
    /// `TPM_ALG_KDF1_SP800_56A`.
    public static let kdf1SP800_56A = TPMAlgorithm(rawValue: 0x0020)
    /// `TPM_ALG_KDF2`.
    public static let kdf2 = TPMAlgorithm(rawValue: 0x0021)
    /// `TPM_ALG_KDF1_SP800_108`.
    public static let kdf1SP800_108 = TPMAlgorithm(rawValue: 0x0022)
    /// `TPM_ALG_ECC`.
    public static let ecc = TPMAlgorithm(rawValue: 0x0023)
    /// `TPM_ALG_SYMCIPHER`.
    public static let symCipher = TPMAlgorithm(rawValue: 0x0025)
    /// `TPM_ALG_CAMELLIA`.
    public static let camellia = TPMAlgorithm(rawValue: 0x0026)
    /// `TPM_ALG_CTR`.
    public static let ctr = TPMAlgorithm(rawValue: 0x0040)
    /// `TPM_ALG_OFB`.
    public static let ofb = TPMAlgorithm(rawValue: 0x0041)
    /// `TPM_ALG_CBC`.
    public static let cbc = TPMAlgorithm(rawValue: 0x0042)
    /// `TPM_ALG_CFB`.
    public static let cfb = TPMAlgorithm(rawValue: 0x0043)
    /// `TPM_ALG_ECB`.
    public static let ecb = TPMAlgorithm(rawValue: 0x0044)

    private static let names: [UInt16: String] = [
        0x0001: "RSA", 0x0004: "SHA1", 0x0005: "HMAC", 0x0006: "AES", 0x0007: "MGF1",
        0x0008: "KEYEDHASH", 0x000A: "XOR", 0x000B: "SHA256", 0x000C: "SHA384", 0x000D: "SHA512",
        0x0010: "NULL", 0x0012: "SM3_256", 0x0013: "SM4", 0x0014: "RSASSA", 0x0015: "RSAES",
        0x0016: "RSAPSS", 0x0017: "OAEP", 0x0018: "ECDSA", 0x0019: "ECDH", 0x001A: "ECDAA",
        0x001B: "SM2", 0x001C: "ECSCHNORR", 0x001D: "ECMQV", 0x0020: "KDF1_SP800_56A",
        0x0021: "KDF2", 0x0022: "KDF1_SP800_108", 0x0023: "ECC", 0x0025: "SYMCIPHER",
        0x0026: "CAMELLIA", 0x0040: "CTR", 0x0041: "OFB", 0x0042: "CBC", 0x0043: "CFB", 0x0044: "ECB",
    ]

    /// The TCG name of the algorithm (`SHA256`, `RSASSA`, …) or its hexadecimal value if unknown.
    public var description: String {
        if let name = Self.names[rawValue] {
            return "TPM_ALG_\(name)"
        }
        return "TPM_ALG(0x\(String(rawValue, radix: 16, uppercase: true)))"
    }
}
