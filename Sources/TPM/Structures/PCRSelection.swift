/// The PCRs selected in one bank (`TPMS_PCR_SELECTION`, TPM 2.0 Part 2 §10.6.2).
public struct PCRSelection: Hashable, Sendable, CustomStringConvertible {
    /// The PCR bank, e.g. ``TPMAlgorithm/sha256``.
    public var hash: TPMAlgorithm
    /// The selected PCR indices, ascending and without duplicates.
    public var indices: [Int]

    /// The highest PCR index a selection may name (a 32-byte bitmap). TPMs implement 24.
    public static let maximumIndex = 255

    /// Creates a selection; `indices` are sorted and de-duplicated.
    public init(hash: TPMAlgorithm, indices: some Sequence<Int>) {
        self.hash = hash
        self.indices = Array(Set(indices)).sorted()
    }

    /// E.g. `TPM_ALG_SHA256:0,1,7`.
    public var description: String {
        "\(hash):" + indices.map(String.init).joined(separator: ",")
    }

    /// Reads a `TPML_PCR_SELECTION` (a 32-bit count, then that many `TPMS_PCR_SELECTION`s).
    static func parseList(_ reader: inout TPMReader, field: String) throws(TPMStructureError) -> [PCRSelection] {
        let count = try reader.uint32("\(field).count")
        // HASH_COUNT: a TPM has at most one selection per implemented hash; 16 is generous.
        guard count <= 16 else {
            throw .invalid(structure: reader.structure, field: "\(field).count", reason: "\(count) selections (at most 16)")
        }
        var result: [PCRSelection] = []
        for item in 0..<Int(count) {
            let hash = try reader.algorithm("\(field)[\(item)].hash")
            let size = Int(try reader.uint8("\(field)[\(item)].sizeofSelect"))
            guard size <= (maximumIndex + 1) / 8 else {
                throw .invalid(structure: reader.structure, field: "\(field)[\(item)].sizeofSelect", reason: "\(size) bytes (at most 32)")
            }
            let bitmap = try reader.bytes(size, "\(field)[\(item)].pcrSelect")
            var indices: [Int] = []
            for (byteIndex, byte) in bitmap.enumerated() {
                for bit in 0..<8 where byte & (1 << bit) != 0 {
                    indices.append(byteIndex * 8 + bit)
                }
            }
            result.append(PCRSelection(hash: hash, indices: indices))
        }
        return result
    }

    /// Marshals selections as a `TPML_PCR_SELECTION`, each bitmap at least 3 bytes (`PCR_SELECT_MIN`).
    static func marshalList(_ selections: [PCRSelection]) -> [UInt8] {
        var writer = TPMWriter()
        writer.uint32(UInt32(selections.count))
        for selection in selections {
            writer.uint16(selection.hash.rawValue)
            let highest = selection.indices.last ?? 0
            let size = max(3, highest / 8 + 1)
            var bitmap = [UInt8](repeating: 0, count: size)
            for index in selection.indices {
                bitmap[index / 8] |= 1 << UInt8(index % 8)
            }
            writer.uint8(UInt8(size))
            writer.raw(bitmap)
        }
        return writer.bytes
    }
}
