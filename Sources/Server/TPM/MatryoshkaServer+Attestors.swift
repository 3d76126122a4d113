import Attestation

extension MatryoshkaServer {
    /// The node attestors this server accepts, by type: join tokens, and TPM 2.0 (enrolled EKs,
    /// from the config and the admin API, or EKs certified by the configured EK CAs).
    nonisolated func nodeAttestors(store: any DataStore) throws(ConfigError) -> [String: any NodeAttestor] {
        [
            JoinTokenAttestorClient.type: JoinTokenAttestor(store: store),
            TPMNodeAttestation.type: try TPMAttestor(settings: config.tpm, enrolments: store as? any TPMEnrolmentStore),
        ]
    }
}
