import Agent
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
        public var socket: String?
        public var dataDirectory: String?

        public init() {}
    }

    public static func configuration(_ options: Options) throws(CLIError) -> AgentConfig {
        guard let serverText = options.server else { throw CLIError("--server HOST:PORT is required") }
        let server: HostAndPort
        do {
            server = try HostAndPort(serverText)
        } catch {
            throw CLIError("--server: \(error.message)")
        }
        let trustDomain = try resolveTrustDomain(options)
        let socket = options.socket.map { $0.hasPrefix("unix://") ? String($0.dropFirst("unix://".count)) : $0 } ?? Defaults.agentSocketPath
        return AgentConfig(
            serverHost: server.host, serverPort: server.port, trustDomain: trustDomain,
            dataDirectory: options.dataDirectory ?? Defaults.agentDataDirectory, socketPath: socket,
            bootstrapBundlePath: options.trustBundle, joinToken: options.joinToken)
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
        }
        throw CLIError("--trust-domain is required (it could not be read from the trust bundle)")
    }

    public static func run(_ config: AgentConfig, logger: Logger) async throws(CLIError) {
        let agent = MatryoshkaAgent(config: config, logger: logger)
        do {
            try await Lifecycle.run(name: "agent", logger: logger) { try await agent.run() }
        } catch {
            throw CLIError("\(error)")
        }
    }
}
