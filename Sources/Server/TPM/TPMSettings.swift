import Attestation
import Foundation

/// TPM node attestation settings (`tpm:` in the server config).
///
/// ```yaml
/// tpm:
///   pcrs: [0, 1, 2, 3, 4, 5, 6, 7]     # quoted at every attestation (default 0-7)
///   ek_ca_bundle: /etc/matryoshka/ek-ca.pem   # EKs with a certificate from these CAs are admitted
///   pcr_policy: {"7": "3d45…"}          # for nodes without a policy of their own
///   nodes:                              # EKs admitted by hash (also: `matryoshka server tpm allow`)
///     - ek_hash: 9f86d081…
///       pcrs: {"0": "0000…"}
///       labels: [region:eu]
/// ```
public struct TPMSettings: Sendable, Hashable {
    /// The SHA-256 PCRs every attestation quotes (policy PCRs are added).
    public var pcrs: [Int]
    /// PEM bundle of trusted EK CAs (TPM manufacturers; for swtpm, its local CA).
    public var ekCABundlePath: String?
    /// The PCR policy of nodes that have none of their own.
    public var pcrPolicy: [Int: String]
    /// EKs admitted by the config file.
    public var nodes: [TPMEnrolment]
    /// Whether an EK must be exactly a TCG default template (one identity per TPM).
    public var requireDefaultEKTemplate: Bool

    public static let defaultPCRs = Array(0...7)

    public init(
        pcrs: [Int] = TPMSettings.defaultPCRs, ekCABundlePath: String? = nil, pcrPolicy: [Int: String] = [:],
        nodes: [TPMEnrolment] = [], requireDefaultEKTemplate: Bool = true
    ) {
        self.pcrs = pcrs
        self.ekCABundlePath = ekCABundlePath
        self.pcrPolicy = pcrPolicy
        self.nodes = nodes
        self.requireDefaultEKTemplate = requireDefaultEKTemplate
    }

    public func validate() throws(ConfigError) {
        guard !pcrs.isEmpty, pcrs.allSatisfy({ (0...23).contains($0) }) else {
            throw ConfigError("tpm.pcrs must list PCR indices in 0...23 (got \(pcrs))")
        }
        do {
            try TPMEnrolment(ekHash: String(repeating: "0", count: 64), pcrPolicy: pcrPolicy).validate()
        } catch {
            throw ConfigError("tpm.pcr_policy: \(error.message)")
        }
        var seen = Set<String>()
        for node in nodes {
            do {
                try node.validate()
            } catch {
                throw ConfigError("tpm.nodes: \(error.message)")
            }
            guard seen.insert(node.ekHash).inserted else { throw ConfigError("tpm.nodes: EK hash \(node.ekHash) is listed twice") }
        }
    }
}

extension ServerConfigFile {
    /// The `tpm:` section of the server config file.
    public struct TPM: Decodable, Sendable, Equatable {
        public var pcrs: [Int]?
        public var ekCABundle: String?
        public var pcrPolicy: [String: String]?
        public var nodes: [Node]?
        public var requireDefaultEKTemplate: Bool?

        public struct Node: Decodable, Sendable, Equatable {
            public var ekHash: String
            public var pcrs: [String: String]?
            public var labels: [String]?

            enum CodingKeys: String, CodingKey { case ekHash = "ek_hash", pcrs, labels }
        }

        enum CodingKeys: String, CodingKey {
            case pcrs, ekCABundle = "ek_ca_bundle", pcrPolicy = "pcr_policy", nodes
            case requireDefaultEKTemplate = "require_default_ek_template"
        }

        /// The keys allowed in the section, for ``ConfigKeys/refuseUnknown(in:allowed:source:)``.
        static let keys: Set<String> = ["pcrs", "ek_ca_bundle", "pcr_policy", "nodes", "require_default_ek_template"]

        /// The settings this section describes.
        public func settings() throws(ConfigError) -> TPMSettings {
            var settings = TPMSettings()
            if let pcrs { settings.pcrs = pcrs }
            settings.ekCABundlePath = ekCABundle
            settings.pcrPolicy = try Self.policy(pcrPolicy ?? [:], what: "tpm.pcr_policy")
            if let requireDefaultEKTemplate { settings.requireDefaultEKTemplate = requireDefaultEKTemplate }
            for node in nodes ?? [] {
                var labels: [Selector] = []
                for label in node.labels ?? [] { labels.append(try TPMEnrolment.parseLabel(label)) }
                settings.nodes.append(TPMEnrolment(
                    ekHash: node.ekHash, pcrPolicy: try Self.policy(node.pcrs ?? [:], what: "tpm.nodes[\(node.ekHash)].pcrs"), labels: labels))
            }
            try settings.validate()
            return settings
        }

        private static func policy(_ values: [String: String], what: String) throws(ConfigError) -> [Int: String] {
            var policy: [Int: String] = [:]
            for (key, value) in values {
                guard let index = Int(key) else { throw ConfigError("\(what): '\(key)' is not a PCR index") }
                var hex = value.lowercased()
                if hex.hasPrefix("0x") { hex.removeFirst(2) }
                policy[index] = hex
            }
            return policy
        }
    }
}
