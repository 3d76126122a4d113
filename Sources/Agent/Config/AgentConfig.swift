import Foundation
import MatryoshkaAPI
import SPIFFE

/// Everything the agent needs to run. Built from defaults, a YAML file and flags.
public struct AgentConfig: Sendable {
    /// The server's node API, `HOST:PORT`.
    public var serverHost: String
    public var serverPort: Int
    public var trustDomain: TrustDomain
    /// Where the agent keeps its identity.
    public var dataDirectory: String
    /// The Workload API socket it serves.
    public var socketPath: String
    /// Mode of the Workload API socket (every user's workloads must be able to connect).
    public var socketMode: UInt16
    /// Trust bundle used to authenticate the server before the agent has one of its own.
    public var bootstrapBundlePath: String?
    /// Single-use join token, needed only the first time.
    public var joinToken: String?
    /// TPM node attestation: the TCTI of the node's TPM (`swtpm:host=H,port=P`,
    /// `device:/dev/tpmrm0`); the agent attests with it instead of a join token.
    public var tpmTCTI: String?
    /// x509pop node attestation: the PEM chain (node certificate first) the node was provisioned
    /// with; the agent attests by proving it holds the key in ``x509popKeyPath``.
    public var x509popCertificatePath: String?
    /// x509pop node attestation: the PEM private key of the node certificate.
    public var x509popKeyPath: String?
    /// Continuous attestation (TPM, x509pop): how often the agent proves its node to the server
    /// again (a fresh quote or signature); zero turns it off.
    public var reattestInterval: Duration = .seconds(60)
    /// Continuous workload attestation: how often a process holding an X509-SVID stream is
    /// checked again (same process, still a descendant, still has its entries' selectors); zero
    /// turns it off.
    public var workloadRecheckInterval: Duration = .seconds(30)
    /// How long to keep trying to reach the server at start-up before giving up.
    public var startupTimeout: Duration
    /// Nested mode: the Workload API of the layer around this agent, which provides its identity.
    public var parentSocketPath: String?
    /// Nested mode: serve processes that are not descendants of this agent too.
    public var allowNonDescendants: Bool
    /// Nested mode: which of the SVIDs the parent serves is this layer's (default: the first).
    public var layerSPIFFEID: String?
    /// A command to run as the workload this agent hosts (e.g. a pod's main process); the agent
    /// stops when it exits.
    public var command: [String]
    /// Where to serve HTTP (`/health`, `/ready`, `/metrics`); nil for no HTTP endpoint.
    public var httpHost: String?
    /// The HTTP endpoint's port (with ``httpHost``).
    public var httpPort: Int = 0

    public init(
        serverHost: String, serverPort: Int, trustDomain: TrustDomain, dataDirectory: String, socketPath: String,
        socketMode: UInt16 = 0o777, bootstrapBundlePath: String? = nil, joinToken: String? = nil, startupTimeout: Duration = .seconds(60),
        parentSocketPath: String? = nil, allowNonDescendants: Bool = false, layerSPIFFEID: String? = nil, command: [String] = []
    ) {
        self.command = command
        self.layerSPIFFEID = layerSPIFFEID
        self.parentSocketPath = parentSocketPath
        self.allowNonDescendants = allowNonDescendants
        self.serverHost = serverHost
        self.serverPort = serverPort
        self.trustDomain = trustDomain
        self.dataDirectory = dataDirectory
        self.socketPath = socketPath
        self.socketMode = socketMode
        self.bootstrapBundlePath = bootstrapBundlePath
        self.joinToken = joinToken
        self.startupTimeout = startupTimeout
    }

    /// The SPIFFE ID the server must present.
    public var serverID: SPIFFEID { WellKnownIDs.server(in: trustDomain) }
}
