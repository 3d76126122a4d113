import Foundation
import TPM

/// The TPM attestation key the server activated, kept in the agent's data directory
/// (`tpm-ak.json`, 0600) so continuous attestation survives an agent restart. Its private part
/// is wrapped by the EK: it is useless outside this TPM.
struct TPMAttestationKeyFile: Sendable {
    let path: String

    init(directory: String) {
        path = (directory as NSString).appendingPathComponent("tpm-ak.json")
    }

    private struct Stored: Codable {
        var publicArea: Data
        var privateBlob: Data
        var endorsementKey: String

        enum CodingKeys: String, CodingKey { case publicArea = "public_area", privateBlob = "private_blob", endorsementKey = "endorsement_key" }
    }

    /// The saved AK, or nil if there is none or it cannot be read.
    func load() -> TPMAttestationKey? {
        guard let data = FileManager.default.contents(atPath: path),
              let stored = try? JSONDecoder().decode(Stored.self, from: data),
              let area = try? TPMPublicArea(marshalled: stored.publicArea),
              let algorithm = TPMKeyAlgorithm(rawValue: stored.endorsementKey)
        else { return nil }
        return TPMAttestationKey(publicArea: area, privateBlob: Array(stored.privateBlob), endorsementKey: algorithm)
    }

    func save(_ key: TPMAttestationKey) throws(AgentError) {
        let stored = Stored(publicArea: Data(key.publicArea.marshalled), privateBlob: Data(key.privateBlob), endorsementKey: key.endorsementKey.rawValue)
        do {
            let data = try JSONEncoder().encode(stored)
            let temporary = path + ".tmp"
            guard FileManager.default.createFile(atPath: temporary, contents: data, attributes: [.posixPermissions: 0o600]) else {
                throw AgentError("cannot write \(temporary)")
            }
            guard rename(temporary, path) == 0 else {
                throw AgentError("cannot replace \(path): \(String(cString: strerror(errno)))")
            }
        } catch let error as AgentError {
            throw error
        } catch {
            throw AgentError("cannot save the TPM attestation key to \(path): \(error)")
        }
    }
}
