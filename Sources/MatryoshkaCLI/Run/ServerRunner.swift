import Authority
import Foundation
import Logging
import MatryoshkaAPI
import Metrics
import Prometheus
import SPIFFE
import Server

/// `matryoshka server run`: configuration from defaults, a YAML file and flags; then the server
/// until SIGTERM/SIGINT.
public enum ServerRunner {
    /// Flags of `server run`; nil means "not given".
    public struct Options: Sendable {
        public var configFile: String?
        public var dataDirectory: String?
        public var trustDomain: String?
        public var bind: String?
        public var http: String?
        public var adminSocket: String?
        public var caKeyType: String?
        public var caTTL: String?
        public var x509TTL: String?
        public var jwtTTL: String?
        public var agentTTL: String?
        /// How often the audit chain head is signed.
        public var auditSignInterval: String?
        /// Evict agents that can re-attest but have not for this long.
        public var maxAttestationAge: String?
        /// x509pop node attestation: PEM bundle of the provisioning CAs (overrides `x509pop.ca_bundle`).
        public var x509popCABundle: String?

        public init() {}
    }

    /// Builds the configuration: defaults, then the file, then flags.
    public static func configuration(_ options: Options) throws(CLIError) -> ServerConfig {
        var file = ServerConfigFile()
        if let path = options.configFile {
            do {
                file = try ServerConfigFile.load(path: path)
            } catch {
                throw CLIError(error.message)
            }
        }
        guard let trustDomainText = options.trustDomain ?? file.trustDomain else {
            throw CLIError("a trust domain is required: --trust-domain example.org (or trust_domain in the config file)")
        }
        let trustDomain: TrustDomain
        do {
            trustDomain = try TrustDomain(trustDomainText)
        } catch {
            throw CLIError("trust domain '\(trustDomainText)': \(error)")
        }
        let dataDirectory = options.dataDirectory ?? file.dataDir ?? Defaults.serverDataDirectory
        var config = ServerConfig(trustDomain: trustDomain, dataDirectory: dataDirectory)
        do {
            if let bind = options.bind ?? file.bind { config.bindAddress = try HostAndPort(bind) }
            if let http = options.http ?? file.http { config.httpAddress = try HostAndPort(http) }
        } catch {
            throw CLIError(error.message)
        }
        if let socket = options.adminSocket ?? file.adminSocket {
            config.adminSocketPath = socket.hasPrefix("unix://") ? String(socket.dropFirst("unix://".count)) : socket
        }
        if let keyType = options.caKeyType ?? file.ca?.keyType {
            guard let algorithm = KeyAlgorithm(rawValue: keyType) else {
                throw CLIError("CA key type '\(keyType)' is not one of \(KeyAlgorithm.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            config.caKeyAlgorithm = algorithm
        }
        config.caTTL = try duration(options.caTTL ?? file.ca?.ttl, name: "CA TTL") ?? config.caTTL
        config.defaultX509SVIDTTL = try duration(options.x509TTL ?? file.svid?.x509TTL, name: "X509-SVID TTL") ?? config.defaultX509SVIDTTL
        config.defaultJWTSVIDTTL = try duration(options.jwtTTL ?? file.svid?.jwtTTL, name: "JWT-SVID TTL") ?? config.defaultJWTSVIDTTL
        config.agentSVIDTTL = try duration(options.agentTTL ?? file.svid?.agentTTL, name: "agent SVID TTL") ?? config.agentSVIDTTL
        config.defaultJoinTokenTTL = try duration(file.joinTokenTTL, name: "join token TTL") ?? config.defaultJoinTokenTTL
        config.auditHeadInterval = try duration(options.auditSignInterval ?? file.audit?.signInterval, name: "audit sign interval") ?? config.auditHeadInterval
        config.maxAttestationAge = try duration(options.maxAttestationAge ?? file.agents?.maxAttestationAge, name: "max attestation age")
        if let tpm = file.tpm {
            do {
                config.tpm = try tpm.settings()
            } catch {
                throw CLIError(error.message)
            }
        }
        if let x509pop = file.x509pop {
            do {
                config.x509pop = try x509pop.settings()
            } catch {
                throw CLIError(error.message)
            }
        }
        if let bundle = options.x509popCABundle { config.x509pop.caBundlePath = bundle }
        if let bundle = config.x509pop.caBundlePath {
            // Refuse to start on a bundle that cannot serve, before anything else starts.
            do {
                _ = try X509PoPAttestor.loadBundle(path: bundle)
            } catch {
                throw CLIError(error.message)
            }
        }
        if let upstream = file.ca?.upstream {
            config.upstreamCA = ServerConfig.UpstreamCA(certificatePath: upstream.certificate, keyPath: upstream.key, bundlePath: upstream.bundle)
        }
        do {
            try config.validate()
        } catch {
            throw CLIError(error.message)
        }
        return config
    }

    static func duration(_ text: String?, name: String) throws(CLIError) -> Duration? {
        guard let text else { return nil }
        do {
            let value = try DurationText.parse(text)
            guard value > .zero else { throw CLIError("\(name) must be positive") }
            return value
        } catch let error as CLIError {
            throw error
        } catch {
            throw CLIError("\(name): \(error)")
        }
    }

    /// Runs the server until SIGTERM or SIGINT.
    public static func run(_ config: ServerConfig, logger: Logger) async throws(CLIError) {
        let server = MatryoshkaServer(config: config, logger: logger, metrics: ProcessMetrics.registry)
        do {
            try await Lifecycle.run(name: "server", logger: logger) { try await server.run() }
        } catch {
            throw CLIError("\(error)")
        }
    }
}

/// The process's Prometheus registry, installed as the swift-metrics backend once.
public enum ProcessMetrics {
    public static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }()
}
