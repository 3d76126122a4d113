import X509

extension Certificate.SerialNumber {
    /// The serial number as lower-case hex, as operators, CRLs and the audit log show it.
    public var hexString: String {
        bytes.map { byte in
            let hex = String(byte, radix: 16)
            return byte < 0x10 ? "0" + hex : hex
        }.joined()
    }
}
