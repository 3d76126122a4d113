import Agent
import Attestation
import Foundation
import Logging
import SPIFFE
import Server

/// `matryoshka agent run`.
public enum AgentRunner {
    public struct Options: Sendable {
        public var server: String?
        public var trustDomain: String?
        public var trustBundle: String?
        public var joinToken: String?
        /// TPM node attestation: the TCTI (`swtpm:host=H,port=P`, `device:/dev/tpmrm0`).
        public var tpm: String?
        /// x509pop node attestation: the node certificate chain (PEM, leaf first) and its key (PEM).
        public var x509popCertificate: String?
        public var x509popKey: String?
        /// Continuous attestation interval in seconds (TPM, x509pop); 0 turns it off.
        public var reattestInterval: Int?
        /// Continuous workload attestation interval in seconds; 0 turns it off.
        public var workloadRecheckInterval: Int?
        public var socket: String?
        public var dataDirectory: String?
        public var parentSocket: String?
        public var allowNonDescendants = false
        /// Nested mode: which of the parent's SVIDs is this layer's.
        public var spiffeID: String?
        /// A command to host (run as a child, pointed at this agent); the agent exits with it.
        public var command: [String] = []
        /// `HOST:PORT` for `/health`, `/ready` and `/metrics`; nil for none.
        public var http: String?

        public init() {}
    }

    /// The environment variable naming the server for nested agents and `exec`.
    public static let serverEnvironmentVariable = "MATRYOSHKA_SERVER"

    public static func configuration(_ options: Options, environment: [String: String] = ProcessInfo.processInfo.environment) async throws(CLIError) -> AgentConfig {
        var config = try await baseConfiguration(options, environment: environment)
        if let interval = options.workloadRecheckInterval {
            guard interval >= 0 else { throw CLIError("--workload-recheck-interval must be 0 (off) or a number of seconds") }
            config.workloadRecheckInterval = .seconds(interval)
        }
        if let http = options.http {
            do {
                let address = try HostAndPort(http)
                config.httpHost = address.host
                config.httpPort = address.port
            } catch {
                throw CLIError("--http: \(error.message)")
            }
        }
        return config
    }

    static func baseConfiguration(_ options: Options, environment: [String: String]) async throws(CLIError) -> AgentConfig {
        guard let serverText = options.server ?? environment[serverEnvironmentVariable] else {
            throw CLIError("--server HOST:PORT is required (or set \(serverEnvironmentVariable))")
        }
        let server: HostAndPort
        do {
            server = try HostAndPort(serverText)
        } catch {
            throw CLIError("--server: \(error.message)")
        }
        let socket = options.socket.map { $0.hasPrefix("unix://") ? String($0.dropFirst("unix://".count)) : $0 } ?? Defaults.agentSocketPath
        if let parent = options.parentSocket {
            if options.joinToken != nil { throw CLIError("--join-token is for node agents; a nested agent (--parent-socket) gets its identity from its parent") }
            if options.tpm != nil { throw CLIError("--tpm is for node agents; a nested agent (--parent-socket) gets its identity from its parent") }
            if options.x509popCertificate != nil || options.x509popKey != nil {
                throw CLIError("--x509pop-cert/--x509pop-key are for node agents; a nested agent (--parent-socket) gets its identity from its parent")
            }
            let trustDomain = try await parentTrustDomain(options, parent: parent)
            return AgentConfig(
                serverHost: server.host, serverPort: server.port, trustDomain: trustDomain,
                dataDirectory: options.dataDirectory ?? Defaults.agentDataDirectory, socketPath: socket,
                parentSocketPath: parent, allowNonDescendants: options.allowNonDescendants, layerSPIFFEID: options.spiffeID,
                command: options.command)
        }
        if options.tpm != nil, options.joinToken != nil { throw CLIError("--tpm and --join-token are two ways to attest the node: give one") }
        let x509pop = try x509popFiles(options)
        let trustDomain = try resolveTrustDomain(options)
        var config = AgentConfig(
            serverHost: server.host, serverPort: server.port, trustDomain: trustDomain,
            dataDirectory: options.dataDirectory ?? Defaults.agentDataDirectory, socketPath: socket,
            bootstrapBundlePath: options.trustBundle, joinToken: options.joinToken, command: options.command)
        config.tpmTCTI = try options.tpm.map(TPMOperations.tcti)
        config.x509popCertificatePath = x509pop?.certificate
        config.x509popKeyPath = x509pop?.key
        if let interval = options.reattestInterval {
            guard interval >= 0 else { throw CLIError("--reattest-interval must be 0 (off) or a number of seconds") }
            config.reattestInterval = .seconds(interval)
        }
        return config
    }

    /// The x509pop files, checked before anything contacts the server: both given, readable, a PEM
    /// chain and a PEM key, and the key is the certificate's.
    static func x509popFiles(_ options: Options) throws(CLIError) -> (certificate: String, key: String)? {
        switch (options.x509popCertificate, options.x509popKey) {
        case (nil, nil):
            return nil
        case (_?, nil):
            throw CLIError("--x509pop-cert needs --x509pop-key (the node certificate's private key)")
        case (nil, _?):
            throw CLIError("--x509pop-key needs --x509pop-cert (the node certificate chain it belongs to)")
        case (let certificate?, let key?):
            if options.tpm != nil || options.joinToken != nil {
                throw CLIError("--x509pop-cert, --tpm and --join-token are different ways to attest the node: give one")
            }
            do {
                _ = try X509PoPCredentials.load(certificatePath: certificate, keyPath: key)
            } catch {
                throw CLIError(error.message)
            }
            return (certificate, key)
        }
    }

    /// A nested agent's trust domain: --trust-domain, else that of the SVID its parent serves it.
    static func parentTrustDomain(_ options: Options, parent: String) async throws(CLIError) -> TrustDomain {
        if let text = options.trustDomain {
            do {
                return try TrustDomain(text)
            } catch {
                throw CLIError("--trust-domain '\(text)': \(error)")
            }
        }
        let report = try await WorkloadOperations.fetchX509(socket: parent, writeDirectory: nil)
        guard let first = report.svids.first(where: { options.spiffeID == nil || $0.spiffeID == options.spiffeID }),
              let id = try? SPIFFEID(first.spiffeID) else {
            if let wanted = options.spiffeID, !report.svids.isEmpty {
                let served = report.svids.map(\.spiffeID).joined(separator: ", ")
                throw CLIError("the parent Workload API at \(parent) does not serve \(wanted) to this process (it serves \(served))")
            }
            throw CLIError("the parent Workload API at \(parent) served no SVID")
        }
        return id.trustDomain
    }

    /// The trust domain from `--trust-domain`, else from the trust bundle's CA (its SPIFFE ID SAN).
    static func resolveTrustDomain(_ options: Options) throws(CLIError) -> TrustDomain {
        if let text = options.trustDomain {
            do {
                return try TrustDomain(text)
            } catch {
                throw CLIError("--trust-domain '\(text)': \(error)")
            }
        }
        if let path = options.trustBundle {
            let bytes = try InputFile.read(path)
            if let certificates = try? CertificateEncoding.certificates(from: bytes) {
                for certificate in certificates {
                    if let id = try? X509SVID.spiffeID(of: certificate) { return id.trustDomain }
                }
            }
            throw CLIError("--trust-domain is required (it could not be read from the trust bundle)")
        }
        // A restart: the identity saved in the data directory says.
        if let saved = AgentStateStore(directory: options.dataDirectory ?? Defaults.agentDataDirectory).savedTrustDomain() {
            return saved
        }
        throw CLIError("no agent identity in \(options.dataDirectory ?? Defaults.agentDataDirectory): the first start needs --trust-bundle and --join-token, --tpm or --x509pop-cert/--x509pop-key")
    }

    /// Runs the agent until SIGTERM/SIGINT, or until its hosted command exits; returns that
    /// command's exit status, if there was one.
    public static func run(_ config: AgentConfig, logger: Logger) async throws(CLIError) -> Int32? {
        switch MallocThresholds.fix(environment: ProcessInfo.processInfo.environment) {
        case .fixed: logger.debug("malloc thresholds fixed at \(MallocThresholds.bytes) bytes")
        case .keptFromEnvironment(let variable): logger.debug("malloc thresholds kept as \(variable) sets them")
        case .unsupported: logger.debug("malloc thresholds left to the C library (not glibc, or refused)")
        }
        let agent = MatryoshkaAgent(config: config, logger: logger, metrics: ProcessMetrics.registry)
        let trimmer = HeapTrimmer.process
        if trimmer == nil { logger.debug("freed heap left to the C library (not glibc, or no /proc/self/statm)") }
        do {
            try await Lifecycle.run(name: "agent", logger: logger) {
                if let trimmer {
                    try await trimmer.whileRunning(logger: logger) { try await agent.run() }
                } else {
                    try await agent.run()
                }
            }
        } catch {
            throw CLIError("\(error)")
        }
        return await agent.commandStatus
    }
}
