/// A cursor over marshalled TPM bytes (big-endian, TPM 2.0 Part 2 "canonical form").
///
/// Every read is bounds-checked and reports the structure and field it was reading.
struct TPMReader {
    private let bytes: [UInt8]
    private(set) var offset: Int
    /// The name of the structure being decoded, used in errors.
    var structure: String

    init(_ bytes: some Collection<UInt8>, structure: String) {
        self.bytes = Array(bytes)
        self.offset = 0
        self.structure = structure
    }

    var remaining: Int { bytes.count - offset }

    var isAtEnd: Bool { offset == bytes.count }

    /// The bytes between `start` and the current offset.
    func consumed(from start: Int) -> [UInt8] {
        Array(bytes[start..<offset])
    }

    mutating func bytes(_ count: Int, _ field: String) throws(TPMStructureError) -> [UInt8] {
        guard count >= 0, remaining >= count else {
            throw .truncated(structure: structure, field: field, offset: offset, needed: count, available: remaining)
        }
        let value = Array(bytes[offset..<(offset + count)])
        offset += count
        return value
    }

    mutating func uint8(_ field: String) throws(TPMStructureError) -> UInt8 {
        try bytes(1, field)[0]
    }

    mutating func uint16(_ field: String) throws(TPMStructureError) -> UInt16 {
        let b = try bytes(2, field)
        return UInt16(b[0]) << 8 | UInt16(b[1])
    }

    mutating func uint32(_ field: String) throws(TPMStructureError) -> UInt32 {
        let b = try bytes(4, field)
        return b.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
    }

    mutating func uint64(_ field: String) throws(TPMStructureError) -> UInt64 {
        let b = try bytes(8, field)
        return b.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }

    mutating func algorithm(_ field: String) throws(TPMStructureError) -> TPMAlgorithm {
        TPMAlgorithm(rawValue: try uint16(field))
    }

    /// Reads a `TPM2B_*`: a 16-bit size followed by that many bytes, at most `maximum`.
    mutating func sized(_ field: String, maximum: Int) throws(TPMStructureError) -> [UInt8] {
        let size = Int(try uint16("\(field).size"))
        guard size <= maximum else {
            throw .invalid(structure: structure, field: "\(field).size", reason: "\(size) exceeds the maximum of \(maximum)")
        }
        return try bytes(size, field)
    }

    /// Fails unless every byte has been consumed.
    func expectEnd() throws(TPMStructureError) {
        guard isAtEnd else {
            throw .trailingBytes(structure: structure, count: remaining)
        }
    }
}

/// Appends marshalled TPM values (big-endian) to a byte array.
struct TPMWriter {
    private(set) var bytes: [UInt8] = []

    mutating func uint8(_ value: UInt8) {
        bytes.append(value)
    }

    mutating func uint16(_ value: UInt16) {
        bytes.append(UInt8(value >> 8))
        bytes.append(UInt8(value & 0xFF))
    }

    mutating func uint32(_ value: UInt32) {
        for shift in stride(from: 24, through: 0, by: -8) {
            bytes.append(UInt8((value >> UInt32(shift)) & 0xFF))
        }
    }

    mutating func raw(_ value: some Sequence<UInt8>) {
        bytes.append(contentsOf: value)
    }

    /// Appends a `TPM2B_*`: the 16-bit size, then the bytes. The caller guarantees `value.count <= 0xFFFF`.
    mutating func sized(_ value: [UInt8]) {
        uint16(UInt16(truncatingIfNeeded: value.count))
        bytes.append(contentsOf: value)
    }
}
