import Authority
import Foundation
import SPIFFE
import Yams

/// The server's YAML configuration file. Every key is optional; flags override it.
///
/// ```yaml
/// trust_domain: example.org
/// data_dir: /var/lib/matryoshka/server
/// bind: 0.0.0.0:8081
/// http: 127.0.0.1:8080
/// admin_socket: /run/matryoshka/admin.sock
/// ca:
///   key_type: ec-p256        # ec-p384, rsa-2048, rsa-3072
///   ttl: 24h
///   upstream:
///     certificate: /etc/matryoshka/upstream.pem
///     key: /etc/matryoshka/upstream-key.pem
///     bundle: /etc/matryoshka/upstream-bundle.pem
/// svid:
///   x509_ttl: 1h
///   jwt_ttl: 5m
///   agent_ttl: 1h
/// join_token_ttl: 10m
/// agents:
///   max_attestation_age: 10m # evict agents that can re-attest (TPM) but have not for this long
/// audit:
///   sign_interval: 5m        # how often the audit chain head is signed (also on shutdown)
/// tpm:                       # TPM node attestation, see TPMSettings
///   ek_ca_bundle: /etc/matryoshka/ek-ca.pem
///   nodes:
///     - ek_hash: 9f86d081…
///       labels: [region:eu]
/// x509pop:                   # x509pop node attestation, see X509PoPSettings
///   ca_bundle: /etc/matryoshka/provisioning-ca.pem
/// ```
public struct ServerConfigFile: Decodable, Sendable, Equatable {
    public var trustDomain: String?
    public var dataDir: String?
    public var bind: String?
    public var http: String?
    public var adminSocket: String?
    public var ca: CA?
    public var svid: SVID?
    public var joinTokenTTL: String?
    public var agents: Agents?
    public var audit: Audit?
    /// TPM node attestation (see ``TPMSettings``).
    public var tpm: TPM?
    /// x509pop node attestation (see ``X509PoPSettings``).
    public var x509pop: X509PoP?

    public struct Agents: Decodable, Sendable, Equatable {
        public var maxAttestationAge: String?

        enum CodingKeys: String, CodingKey { case maxAttestationAge = "max_attestation_age" }
    }

    public struct Audit: Decodable, Sendable, Equatable {
        public var signInterval: String?

        enum CodingKeys: String, CodingKey { case signInterval = "sign_interval" }
    }

    public struct CA: Decodable, Sendable, Equatable {
        public var keyType: String?
        public var ttl: String?
        public var upstream: Upstream?

        enum CodingKeys: String, CodingKey { case keyType = "key_type", ttl, upstream }
    }

    public struct Upstream: Decodable, Sendable, Equatable {
        public var certificate: String
        public var key: String
        public var bundle: String?
    }

    public struct SVID: Decodable, Sendable, Equatable {
        public var x509TTL: String?
        public var jwtTTL: String?
        public var agentTTL: String?

        enum CodingKeys: String, CodingKey { case x509TTL = "x509_ttl", jwtTTL = "jwt_ttl", agentTTL = "agent_ttl" }
    }

    enum CodingKeys: String, CodingKey {
        case trustDomain = "trust_domain", dataDir = "data_dir", bind, http, adminSocket = "admin_socket", ca, svid
        case joinTokenTTL = "join_token_ttl"
        case agents, audit
        case tpm
        case x509pop
    }

    public init() {}

    /// Reads and parses a YAML file; unknown keys are refused so typos do not go unnoticed.
    public static func load(path: String) throws(ConfigError) -> ServerConfigFile {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigError("cannot read config file \(path): \(error.localizedDescription)")
        }
        return try parse(text, source: path)
    }

    public static func parse(_ yaml: String, source: String = "config") throws(ConfigError) -> ServerConfigFile {
        do {
            try ConfigKeys.refuseUnknown(in: yaml, allowed: [
                "": ["trust_domain", "data_dir", "bind", "http", "admin_socket", "ca", "svid", "join_token_ttl", "agents", "audit", "tpm", "x509pop"],
                "agents": ["max_attestation_age"],
                "audit": ["sign_interval"],
                "ca": ["key_type", "ttl", "upstream"],
                "ca.upstream": ["certificate", "key", "bundle"],
                "svid": ["x509_ttl", "jwt_ttl", "agent_ttl"],
                "tpm": TPM.keys,
                "x509pop": X509PoP.keys,
            ], source: source)
            if yaml.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return ServerConfigFile() }
            return try YAMLDecoder().decode(ServerConfigFile.self, from: yaml)
        } catch let error as ConfigError {
            throw error
        } catch {
            throw ConfigError("\(source): \(ConfigKeys.describe(error))")
        }
    }
}

/// Helpers shared by the server's and the agent's config files.
public enum ConfigKeys {
    /// Refuses keys that are not in `allowed` (by dotted path of the mapping they are in).
    public static func refuseUnknown(in yaml: String, allowed: [String: Set<String>], source: String) throws(ConfigError) {
        let node: Node?
        do {
            node = try Yams.compose(yaml: yaml)
        } catch {
            throw ConfigError("\(source): not valid YAML: \(describe(error))")
        }
        guard let node else { return }
        guard case .mapping = node else { throw ConfigError("\(source): the top level must be a mapping of keys to values") }
        try check(node, path: "", allowed: allowed, source: source)
    }

    private static func check(_ node: Node, path: String, allowed: [String: Set<String>], source: String) throws(ConfigError) {
        guard case .mapping(let mapping) = node, let keys = allowed[path] else { return }
        for (key, value) in mapping {
            guard let name = key.string else { continue }
            guard keys.contains(name) else {
                let place = path.isEmpty ? "" : " under '\(path)'"
                throw ConfigError("\(source): unknown key '\(name)'\(place) (known: \(keys.sorted().joined(separator: ", ")))")
            }
            try check(value, path: path.isEmpty ? name : "\(path).\(name)", allowed: allowed, source: source)
        }
    }

    /// One line (errors are reported as one line): Yams' syntax errors otherwise quote the
    /// offending source over several lines.
    public static func describe(_ error: any Error) -> String {
        if case DecodingError.typeMismatch(_, let context) = error {
            return oneLine("\(context.codingPath.map(\.stringValue).joined(separator: ".")): \(context.debugDescription)")
        }
        if case DecodingError.dataCorrupted(let context) = error {
            return oneLine("\(context.codingPath.map(\.stringValue).joined(separator: ".")): \(context.debugDescription)")
        }
        switch error as? YamlError {
        case .scanner(let context, let problem, let mark, _)?, .parser(let context, let problem, let mark, _)?,
             .composer(let context, let problem, let mark, _)?:
            let during = context.map { " (\($0.text) at line \($0.mark.line), column \($0.mark.column))" } ?? ""
            return oneLine("line \(mark.line), column \(mark.column): \(problem)\(during)")
        default:
            return oneLine(String(describing: error))
        }
    }

    private static func oneLine(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.joined(separator: " ")
    }
}
