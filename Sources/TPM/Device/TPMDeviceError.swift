import CTSS2
import Synchronization

/// A TPM operation on the agent side failed.
public enum TPMDeviceError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A libtss2 call failed: the function (e.g. `Esys_Quote`), its response code and the code
    /// decoded by `Tss2_RC_Decode` (e.g. `tpm:warn(2.0): out of memory for object contexts`).
    case commandFailed(command: String, responseCode: UInt32, decoded: String)
    /// The TPM answered, but with something this module cannot use.
    case unexpectedResponse(command: String, reason: String)
    /// An argument is out of range for the TPM (e.g. a PCR index above 23, 65 bytes of qualifying data).
    case invalidArgument(String)
    /// The device was closed.
    case closed
    /// libtss2 could not be loaded (not installed, or too old): the loader's reason.
    case libraryUnavailable(String)

    /// A one-line explanation.
    public var description: String {
        switch self {
        case .commandFailed(let command, let code, let decoded):
            return "\(command) failed: 0x\(String(code, radix: 16, uppercase: true).leftPadded(to: 8)) \(decoded)"
        case .unexpectedResponse(let command, let reason):
            return "\(command): unexpected response: \(reason)"
        case .invalidArgument(let reason):
            return "TPM: invalid argument: \(reason)"
        case .closed:
            return "TPM: the device is closed"
        case .libraryUnavailable(let reason):
            return "TPM: libtss2 could not be loaded (\(reason)); TPM attestation needs its runtime libraries"
                + " (Debian/Ubuntu: apt-get install libtss2-esys-3.0.2-0 libtss2-tctildr0 libtss2-mu0 libtss2-rc0,"
                + " and libtss2-tcti-swtpm0 or libtss2-tcti-device0 for the TCTI)"
        }
    }

    /// Serialises `Tss2_RC_Decode`, which formats into a buffer inside libtss2-rc.
    private static let decodeLock = Mutex(())

    /// `.commandFailed` for `rc`, decoded.
    static func failure(_ command: String, _ rc: TSS2_RC) -> TPMDeviceError {
        let decoded = decodeLock.withLock { _ -> String in
            guard let text = LibTSS2.ifLoaded?.api.Tss2_RC_Decode(rc) else { return "unknown response code" }
            return String(cString: text)
        }
        return .commandFailed(command: command, responseCode: rc, decoded: decoded)
    }

    /// Throws ``commandFailed(command:responseCode:decoded:)`` unless `rc` is success.
    static func check(_ rc: TSS2_RC, _ command: String) throws(TPMDeviceError) {
        guard rc == 0 else { throw failure(command, rc) }
    }
}

extension String {
    fileprivate func leftPadded(to length: Int) -> String {
        count >= length ? self : String(repeating: "0", count: length - count) + self
    }
}
