import Attestation
import Foundation

/// A TPM the server admits as a node: its EK hash, the PCR values it must quote, and the labels
/// (node selectors such as `region:eu`) bound to it. From the server config (`tpm.nodes`) or the
/// admin API (`matryoshka server tpm allow`, kept in the datastore).
public struct TPMEnrolment: Sendable, Hashable {
    /// Lowercase hex SHA-256 of the EK public area (`matryoshka agent tpm-info` prints it).
    public var ekHash: String
    /// Expected SHA-256 PCR values by index, lowercase hex; empty: no per-node PCR policy.
    public var pcrPolicy: [Int: String]
    /// Node labels bound to this EK, added to the agent's selectors.
    public var labels: [Selector]
    public var createdAt: Date

    public init(ekHash: String, pcrPolicy: [Int: String] = [:], labels: [Selector] = [], createdAt: Date = Date()) {
        self.ekHash = ekHash.lowercased()
        self.pcrPolicy = pcrPolicy.mapValues { $0.lowercased() }
        self.labels = Array(Set(labels)).sorted()
        self.createdAt = createdAt
    }

    /// Selector types that are produced by attestors: a label may not impersonate them.
    public static let reservedLabelTypes: Set<String> = ["tpm", "unix", "join_token", "x509pop", "cgroup", "k8s", "docker", "spiffe_id"]

    /// Checks the EK hash, PCR indices and values, and label types.
    public func validate() throws(ConfigError) {
        guard ekHash.count == 64, ekHash.allSatisfy(\.isHexDigit) else {
            throw ConfigError("EK hash '\(ekHash)' is not a SHA-256 value (64 hex digits; `matryoshka agent tpm-info` prints it)")
        }
        for (index, value) in pcrPolicy {
            guard (0...23).contains(index) else { throw ConfigError("PCR \(index) is outside 0...23") }
            guard value.count == 64, value.allSatisfy(\.isHexDigit) else {
                throw ConfigError("PCR \(index) value '\(value)' is not a SHA-256 value (64 hex digits)")
            }
        }
        for label in labels where Self.reservedLabelTypes.contains(label.type) {
            throw ConfigError("label '\(label)': '\(label.type)' is reserved for attestors; use another key (e.g. region:eu)")
        }
    }

    /// Parses `INDEX:HEX`.
    public static func parsePCR(_ text: String) throws(ConfigError) -> (Int, String) {
        let parts = text.split(separator: ":", maxSplits: 1)
        guard parts.count == 2, let index = Int(parts[0]) else { throw ConfigError("PCR '\(text)' is not INDEX:HEX (e.g. 7:3d45…)") }
        var hex = String(parts[1]).lowercased()
        if hex.hasPrefix("0x") { hex.removeFirst(2) }
        return (index, hex)
    }

    /// Parses `KEY:VALUE` as a label.
    public static func parseLabel(_ text: String) throws(ConfigError) -> Selector {
        do {
            return try Selector(text)
        } catch {
            throw ConfigError("label '\(text)' is not KEY:VALUE (e.g. region:eu): \(error)")
        }
    }
}
