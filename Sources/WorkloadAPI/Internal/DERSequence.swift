/// Concatenation and splitting of DER values, for the Workload API fields that carry several
/// certificates back to back (`x509_svid`, `bundle`, `federated_bundles`).
enum DERSequence {
    /// The DER values one after the other.
    static func concatenate(_ values: [[UInt8]]) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(values.reduce(0) { $0 + $1.count })
        for value in values { result.append(contentsOf: value) }
        return result
    }

    /// Splits back-to-back DER values (each a complete TLV with a definite length).
    ///
    /// - Throws: ``DERSequenceError`` when a value is truncated or uses an encoding DER forbids.
    static func split(_ bytes: some Collection<UInt8>) throws(DERSequenceError) -> [[UInt8]] {
        let bytes = Array(bytes)
        var values: [[UInt8]] = []
        var offset = 0
        while offset < bytes.count {
            let start = offset
            // Tag (single byte: certificates and CRLs are SEQUENCEs; high tag numbers are not used).
            guard bytes[offset] & 0x1F != 0x1F else { throw .unsupportedTag(offset: start) }
            offset += 1
            guard offset < bytes.count else { throw .truncated(offset: start) }
            let first = bytes[offset]
            offset += 1
            var length = 0
            if first < 0x80 {
                length = Int(first)
            } else {
                let count = Int(first & 0x7F)
                // 0x80 is the indefinite form (not DER); more than 4 length bytes is absurd here.
                guard count > 0, count <= 4 else { throw .invalidLength(offset: start) }
                guard offset + count <= bytes.count else { throw .truncated(offset: start) }
                for _ in 0..<count {
                    length = (length << 8) | Int(bytes[offset])
                    offset += 1
                }
            }
            guard length <= bytes.count - offset else { throw .truncated(offset: start) }
            offset += length
            values.append(Array(bytes[start..<offset]))
        }
        return values
    }
}

/// Why bytes could not be split into DER values.
enum DERSequenceError: Error, Hashable, CustomStringConvertible {
    case truncated(offset: Int)
    case invalidLength(offset: Int)
    case unsupportedTag(offset: Int)

    var description: String {
        switch self {
        case .truncated(let offset): return "DER value at byte \(offset) is truncated"
        case .invalidLength(let offset): return "DER value at byte \(offset) has an invalid length"
        case .unsupportedTag(let offset): return "DER value at byte \(offset) has an unsupported tag"
        }
    }
}
