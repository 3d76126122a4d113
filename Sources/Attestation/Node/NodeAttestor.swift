import SPIFFE
import X509

/// The server side of a node attestation method (join token, TPM, x509pop): siblings behind one
/// interface, chosen by the `type` the agent names.
public protocol NodeAttestor: Sendable {
    /// The method's name on the wire: `join_token`, `tpm`, `x509pop`.
    var type: String { get }

    /// Decides what the node is. `payload` is what the agent sent; `agentKey` is the key of the
    /// agent's CSR (and of its TLS bootstrap certificate); `challenger` asks the agent further
    /// questions when the method needs them (nonces, credential activation).
    func attest(
        payload: [UInt8],
        agentKey: Certificate.PublicKey,
        trustDomain: TrustDomain,
        challenger: any NodeChallenger
    ) async throws(NodeAttestationError) -> NodeAttestationResult
}

/// Asks the agent being attested a question and waits for its answer.
public protocol NodeChallenger: Sendable {
    func challenge(_ challenge: [UInt8]) async throws(NodeAttestationError) -> [UInt8]
}

/// The agent side of a node attestation method.
public protocol NodeAttestorClient: Sendable {
    var type: String { get }
    /// What to send first, for an agent whose new SVID key is `agentKey`.
    func payload(agentKey: Certificate.PublicKey) async throws(NodeAttestationError) -> [UInt8]
    /// Answers a challenge from the server.
    func respond(to challenge: [UInt8]) async throws(NodeAttestationError) -> [UInt8]
}

/// What node attestation decided.
public struct NodeAttestationResult: Sendable, Hashable {
    /// The agent's SPIFFE ID, e.g. `spiffe://td/agent/join_token/<id>`.
    public var agentID: SPIFFEID
    /// Selectors the node proved (e.g. `tpm:pcr:7:…`), which node-level entries may require.
    public var selectors: [Selector]
    /// SPIFFE IDs the node is also known by (join token aliases): entries may name them as parent.
    public var aliases: [SPIFFEID]
    /// Whether the node may attest again with the same method (a TPM may; a join token may not).
    public var canReattest: Bool
    /// Evidence kept for the lineage's first link and the audit log (e.g. the TPM quote).
    public var evidence: [UInt8]

    public init(agentID: SPIFFEID, selectors: [Selector] = [], aliases: [SPIFFEID] = [], canReattest: Bool, evidence: [UInt8] = []) {
        self.agentID = agentID
        self.selectors = selectors
        self.aliases = aliases
        self.canReattest = canReattest
        self.evidence = evidence
    }
}

/// Why node attestation failed. The message is what the refused agent is told and what is logged.
public struct NodeAttestationError: Error, Hashable, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The agent side of join-token attestation: it sends the token.
public struct JoinTokenAttestorClient: NodeAttestorClient {
    public static let type = "join_token"
    public let token: String

    public init(token: String) { self.token = token }

    public var type: String { Self.type }

    public func payload(agentKey: Certificate.PublicKey) async throws(NodeAttestationError) -> [UInt8] {
        Array(token.utf8)
    }

    public func respond(to challenge: [UInt8]) async throws(NodeAttestationError) -> [UInt8] {
        throw NodeAttestationError("join token attestation has no challenges")
    }
}
