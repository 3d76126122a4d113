import Attestation

extension MatryoshkaServer {
    /// The node attestors this server accepts, by type: join tokens, TPM 2.0 (enrolled EKs,
    /// from the config and the admin API, or EKs certified by the configured EK CAs), and x509pop
    /// (node certificates from the configured provisioning CAs; refused when none is configured).
    nonisolated func nodeAttestors(store: any DataStore) throws(ConfigError) -> [String: any NodeAttestor] {
        [
            JoinTokenAttestorClient.type: JoinTokenAttestor(store: store),
            TPMNodeAttestation.type: try TPMAttestor(settings: config.tpm, enrolments: store as? any TPMEnrolmentStore),
            X509PoPNodeAttestation.type: try X509PoPAttestor(settings: config.x509pop),
        ]
    }
}
