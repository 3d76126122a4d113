import Crypto
import SPIFFE

/// Lower-case hex SHA-256, for token hashes and identifiers.
enum SHA256Hex {
    static func digest(_ bytes: some Sequence<UInt8>) -> String {
        hex(SHA256.hash(data: Array(bytes)))
    }

    /// Lower-case hex of `bytes` (no hashing).
    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        Hex.encode(bytes)
    }
}
