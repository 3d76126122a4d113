import X509

extension Certificate.SerialNumber {
    /// The serial number as lower-case hex, as operators, CRLs and the audit log show it.
    public var hexString: String {
        Hex.encode(bytes)
    }
}
