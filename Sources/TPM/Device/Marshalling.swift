import CTSS2

/// Conversions between libtss2 C structures and marshalled bytes, through the `Tss2_MU_*`
/// functions (the C structures hold fixed-size arrays that Swift sees as tuples).
enum Marshalling {
    /// The largest marshalled structure handled here (a `TPM2B_ATTEST` or `TPMT_PUBLIC` is far smaller).
    private static let bufferSize = 4096

    /// Marshals `value` with `function` (e.g. `Tss2_MU_TPMT_PUBLIC_Marshal`).
    static func marshal<T>(
        _ value: T, _ name: String,
        _ function: (UnsafePointer<T>?, UnsafeMutablePointer<UInt8>?, Int, UnsafeMutablePointer<Int>?) -> TSS2_RC
    ) throws(TPMDeviceError) -> [UInt8] {
        var value = value
        var buffer = [UInt8](repeating: 0, count: bufferSize)
        var offset = 0
        let rc = withUnsafePointer(to: &value) { pointer in
            buffer.withUnsafeMutableBufferPointer { function(pointer, $0.baseAddress, bufferSize, &offset) }
        }
        try TPMDeviceError.check(rc, name)
        return Array(buffer.prefix(offset))
    }

    /// Unmarshals `bytes` with `function` (e.g. `Tss2_MU_TPM2B_ID_OBJECT_Unmarshal`); every byte
    /// must be consumed.
    static func unmarshal<T>(
        _ bytes: [UInt8], as initial: T, _ name: String,
        _ function: (UnsafePointer<UInt8>?, Int, UnsafeMutablePointer<Int>?, UnsafeMutablePointer<T>?) -> TSS2_RC
    ) throws(TPMDeviceError) -> T {
        var value = initial
        var offset = 0
        let rc = bytes.withUnsafeBufferPointer { buffer in
            withUnsafeMutablePointer(to: &value) { function(buffer.baseAddress, buffer.count, &offset, $0) }
        }
        try TPMDeviceError.check(rc, name)
        guard offset == bytes.count else {
            throw .invalidArgument("\(name): \(bytes.count - offset) trailing byte(s)")
        }
        return value
    }

    /// Marshalled `TPM2B` bytes: a 16-bit big-endian size, then `value`.
    static func sized(_ value: [UInt8]) -> [UInt8] {
        var writer = TPMWriter()
        writer.sized(value)
        return writer.bytes
    }

    /// Reads the bytes of a C `TPM2B_*` (a `size` and a fixed `buffer` tuple) without copying the
    /// whole structure through a marshaller.
    static func bytes<Buffer>(size: UInt16, buffer: Buffer) -> [UInt8] {
        withUnsafeBytes(of: buffer) { raw in
            Array(raw.prefix(min(Int(size), raw.count)))
        }
    }
}
