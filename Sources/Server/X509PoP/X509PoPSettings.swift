import Foundation

/// x509pop node attestation settings (`x509pop:` in the server config, `--x509pop-ca-bundle`).
///
/// ```yaml
/// x509pop:
///   ca_bundle: /etc/matryoshka/provisioning-ca.pem   # nodes with a certificate from these CAs are admitted
/// ```
public struct X509PoPSettings: Sendable, Hashable {
    /// PEM bundle of the provisioning CAs whose node certificates the server accepts; nil turns
    /// x509pop attestation off (agents that try it are told so).
    public var caBundlePath: String?

    public init(caBundlePath: String? = nil) {
        self.caBundlePath = caBundlePath
    }

    public func validate() throws(ConfigError) {
        if let caBundlePath, caBundlePath.isEmpty { throw ConfigError("x509pop.ca_bundle must be a file path") }
    }
}

extension ServerConfigFile {
    /// The `x509pop:` section of the server config file.
    public struct X509PoP: Decodable, Sendable, Equatable {
        public var caBundle: String?

        enum CodingKeys: String, CodingKey { case caBundle = "ca_bundle" }

        /// The keys allowed in the section, for ``ConfigKeys/refuseUnknown(in:allowed:source:)``.
        static let keys: Set<String> = ["ca_bundle"]

        /// The settings this section describes.
        public func settings() throws(ConfigError) -> X509PoPSettings {
            let settings = X509PoPSettings(caBundlePath: caBundle)
            try settings.validate()
            return settings
        }
    }
}
