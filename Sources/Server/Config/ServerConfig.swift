import Authority
import Foundation
import SPIFFE
import Yams

/// Everything the server needs to run. Built from defaults, then a YAML file (`--config`), then
/// command-line flags, each overriding the one before.
public struct ServerConfig: Sendable {
    public var trustDomain: TrustDomain
    /// Where the datastore, and nothing else secret outside it, lives.
    public var dataDirectory: String
    /// gRPC for agents (TLS), `HOST:PORT`.
    public var bindAddress: HostAndPort
    /// HTTP for /health, /ready, /metrics, /bundle, /crl; nil disables it.
    public var httpAddress: HostAndPort?
    /// The admin socket (owner-only).
    public var adminSocketPath: String
    public var caKeyAlgorithm: KeyAlgorithm
    public var caTTL: Duration
    public var defaultX509SVIDTTL: Duration
    public var defaultJWTSVIDTTL: Duration
    public var agentSVIDTTL: Duration
    public var defaultJoinTokenTTL: Duration
    /// How often the audit chain head is signed (it is also signed on graceful shutdown).
    public var auditHeadInterval: Duration = .seconds(300)
    /// Agents whose method lets them re-attest (TPM) and whose last successful attestation is
    /// older than this are evicted, their identities revoked; nil: never. They may attest afresh.
    public var maxAttestationAge: Duration?
    /// An upstream CA (certificate and key PEM files, and the bundle of its roots) that signs this
    /// server's CAs; when nil the server is its own root.
    public var upstreamCA: UpstreamCA?
    /// TPM node attestation: PCRs to quote, EK CA bundle, enrolled nodes.
    public var tpm = TPMSettings()
    /// x509pop node attestation: the provisioning CA bundle.
    public var x509pop = X509PoPSettings()

    public struct UpstreamCA: Sendable, Hashable {
        public var certificatePath: String
        public var keyPath: String
        /// PEM of the trust anchors; defaults to the upstream certificate itself.
        public var bundlePath: String?

        public init(certificatePath: String, keyPath: String, bundlePath: String? = nil) {
            self.certificatePath = certificatePath
            self.keyPath = keyPath
            self.bundlePath = bundlePath
        }
    }

    public init(
        trustDomain: TrustDomain,
        dataDirectory: String,
        bindAddress: HostAndPort = HostAndPort(host: "0.0.0.0", port: 8081),
        httpAddress: HostAndPort? = nil,
        adminSocketPath: String? = nil,
        caKeyAlgorithm: KeyAlgorithm = .default,
        caTTL: Duration = .seconds(24 * 3600),
        defaultX509SVIDTTL: Duration = .seconds(3600),
        defaultJWTSVIDTTL: Duration = .seconds(300),
        agentSVIDTTL: Duration = .seconds(3600),
        defaultJoinTokenTTL: Duration = .seconds(600),
        upstreamCA: UpstreamCA? = nil
    ) {
        self.trustDomain = trustDomain
        self.dataDirectory = dataDirectory
        self.bindAddress = bindAddress
        self.httpAddress = httpAddress
        self.adminSocketPath = adminSocketPath ?? (dataDirectory as NSString).appendingPathComponent("admin.sock")
        self.caKeyAlgorithm = caKeyAlgorithm
        self.caTTL = caTTL
        self.defaultX509SVIDTTL = defaultX509SVIDTTL
        self.defaultJWTSVIDTTL = defaultJWTSVIDTTL
        self.agentSVIDTTL = agentSVIDTTL
        self.defaultJoinTokenTTL = defaultJoinTokenTTL
        self.upstreamCA = upstreamCA
    }

    /// The datastore file.
    public var databasePath: String { (dataDirectory as NSString).appendingPathComponent("datastore.sqlite3") }

    /// The server's own SPIFFE ID, presented to agents.
    public var serverID: SPIFFEID { WellKnownIDs.server(in: trustDomain) }

    /// Checks relations between settings that each parsed fine.
    public func validate() throws(ConfigError) {
        guard caTTL > .zero, defaultX509SVIDTTL > .zero, defaultJWTSVIDTTL > .zero, agentSVIDTTL > .zero, defaultJoinTokenTTL > .zero else {
            throw ConfigError("every TTL must be positive")
        }
        guard defaultX509SVIDTTL < caTTL, agentSVIDTTL < caTTL else {
            throw ConfigError("the CA TTL (\(DurationText.format(caTTL))) must be longer than the SVID TTLs; SVIDs never outlive their CA")
        }
        try tpm.validate()
        try x509pop.validate()
    }
}

/// A configuration problem, reported before anything starts.
public struct ConfigError: Error, Hashable, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// `HOST:PORT` (IPv6 hosts in brackets: `[::1]:8081`).
public struct HostAndPort: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public init(_ text: String) throws(ConfigError) {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { throw ConfigError("'\(text)' is not HOST:PORT") }
            portText = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { throw ConfigError("'\(text)' is not HOST:PORT (e.g. 127.0.0.1:8081)") }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard !host.isEmpty else { throw ConfigError("'\(text)' has no host") }
        guard let port = Int(portText), (0...65535).contains(port) else { throw ConfigError("'\(text)' has no valid port (0-65535)") }
        self.host = String(host)
        self.port = port
    }

    public var description: String { HostAndPortText.format(host: host, port: port) }
}
