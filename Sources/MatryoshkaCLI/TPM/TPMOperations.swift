import Agent
import Foundation

/// `matryoshka agent tpm-info` and the `--tpm` option.
public enum TPMOperations {
    /// Checks a `--tpm` value: `swtpm:host=H,port=P`, `mssim:…` or `device:/dev/…`, as the TCTI
    /// loader takes them.
    public static func tcti(_ text: String) throws(CLIError) -> String {
        let known = ["swtpm:", "mssim:", "device:"]
        guard known.contains(where: text.hasPrefix), text.count > 7 else {
            throw CLIError("--tpm '\(text)' is not a TCTI: use swtpm:host=HOST,port=PORT or device:/dev/tpmrm0")
        }
        return text
    }

    /// The EK hash and the SHA-256 PCR values of the TPM at `tcti`.
    public static func info(tcti text: String) async throws(CLIError) -> TPMInfo {
        let tcti = try tcti(text)
        do {
            return try await TPMInfo.read(tcti: tcti)
        } catch {
            throw CLIError(error.message)
        }
    }

    /// Text form of ``info(tcti:)``: the EK hash, then one `PCR INDEX HEX` line per PCR.
    public static func text(_ info: TPMInfo) -> String {
        var lines = ["ek_hash: \(info.ekHash)", "ek_certificate: \(info.hasEKCertificate ? "present" : "absent")"]
        for index in info.pcrs.keys.sorted() {
            lines.append("pcr \(index): \(info.pcrs[index] ?? "")")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
