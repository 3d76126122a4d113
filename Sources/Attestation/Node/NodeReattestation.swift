import SPIFFE
import X509

/// The server side of continuous attestation for a node attestation method whose nodes can prove
/// their state again (a TPM quotes its PCRs for a fresh nonce; a join token cannot).
public protocol NodeReattestor: NodeAttestor {
    /// Checks an attested agent again.
    ///
    /// - Parameters:
    ///   - agentID: the agent, as authenticated by its agent SVID.
    ///   - selectors: what its attestation proved then (a re-attestation must prove the same).
    ///   - evidence: the evidence of its first lineage link, signed by the CA (e.g. the AK).
    ///   - agentKey: the key of the agent SVID the call is authenticated with.
    ///   - challenger: asks the agent (nonces).
    func reattest(
        agentID: SPIFFEID, selectors: [Selector], evidence: [UInt8], agentKey: Certificate.PublicKey,
        challenger: any NodeChallenger
    ) async throws(NodeAttestationError) -> NodeReattestationResult
}

/// What a successful re-attestation established.
public struct NodeReattestationResult: Sendable, Hashable {
    /// A one-line summary for logs and the audit record (e.g. the quoted PCR digest).
    public var summary: String

    public init(summary: String) {
        self.summary = summary
    }
}

/// The agent side of continuous attestation.
public protocol NodeReattestorClient: NodeAttestorClient {
    /// Answers a re-attestation challenge for the agent whose current SVID key is `agentKey`.
    func respondToReattestation(_ challenge: [UInt8], agentKey: Certificate.PublicKey) async throws(NodeAttestationError) -> [UInt8]
}
