import Foundation
import GRPCCore
import MatryoshkaAPI
import SPIFFE

/// `matryoshka revoke`: revokes credentials through the admin API.
public enum RevokeOperations {
    /// What `revoke` was asked, before validation: exactly one of `serial`, `spiffeID`, `node`.
    public struct Request: Sendable, Equatable {
        public var serial: String?
        public var spiffeID: String?
        public var node: String?
        /// With `serial`: every credential whose lineage passes through that credential's key.
        /// With `spiffeID`: every credential whose lineage passes through a layer with that ID.
        public var subtree: Bool
        public var reason: String?

        public init(serial: String? = nil, spiffeID: String? = nil, node: String? = nil, subtree: Bool = false, reason: String? = nil) {
            self.serial = serial
            self.spiffeID = spiffeID
            self.node = node
            self.subtree = subtree
            self.reason = reason
        }

        /// Checks the flags locally and builds the admin request.
        func wire() throws(CLIError) -> Matryoshka_V1_AdminRevokeRequest {
            let given = [serial.map { _ in "--serial" }, spiffeID.map { _ in "--spiffe-id" }, node.map { _ in "--node" }].compactMap { $0 }
            guard given.count == 1 else {
                throw CLIError(given.isEmpty
                    ? "name what to revoke: --serial N, --spiffe-id ID or --node ID"
                    : "give only one of --serial, --spiffe-id and --node (got \(given.joined(separator: ", ")))")
            }
            var request = Matryoshka_V1_AdminRevokeRequest()
            request.subtree = subtree
            request.reason = reason ?? ""
            if let serial {
                let hex = serial.lowercased().replacingOccurrences(of: ":", with: "")
                let digits = hex.hasPrefix("0x") ? hex.dropFirst(2) : Substring(hex)
                guard !digits.isEmpty, digits.allSatisfy(\.isHexDigit) else {
                    throw CLIError("--serial '\(serial)' is not a hexadecimal serial number (as `svid verify` prints it)")
                }
                request.serialNumber = String(digits)
            } else if let spiffeID {
                request.spiffeID = try EntryOperations.CreateRequest.id(spiffeID, flag: "--spiffe-id").description
            } else if let node {
                guard !subtree else {
                    throw CLIError("--subtree goes with --serial or --spiffe-id; --node always revokes everything the node vouched for")
                }
                request.nodeSpiffeID = try EntryOperations.CreateRequest.id(node, flag: "--node").description
            }
            return request
        }
    }

    /// Asks the server to revoke and reports what it revoked.
    public static func revoke(_ request: Request, socketPath: String) async throws(CLIError) -> RevokeReport {
        let wire = try request.wire()
        return try await AdminClient.with(socketPath: socketPath) { client throws(CLIError) in
            let response = try await client.call { try await client.admin.revoke(wire, options: AdminClient.options) }
            return RevokeReport(response)
        }
    }
}

/// What `revoke` prints.
public struct RevokeReport: Codable, Sendable, Equatable {
    /// One revoked credential.
    public struct Credential: Codable, Sendable, Equatable {
        public var serialNumber: String
        public var spiffeID: String
        public var expiresAt: Date
        public var revokedAt: Date
        public var reason: String

        enum CodingKeys: String, CodingKey {
            case serialNumber = "serial_number", spiffeID = "spiffe_id", expiresAt = "expires_at", revokedAt = "revoked_at", reason
        }
    }

    /// How many credentials this call revoked (descendants included).
    public var revoked: Int
    public var credentials: [Credential]

    init(_ response: Matryoshka_V1_AdminRevokeResponse) {
        revoked = Int(response.revoked)
        credentials = response.credentials.map { credential in
            Credential(
                serialNumber: credential.serialNumber, spiffeID: credential.spiffeID,
                expiresAt: Date(timeIntervalSince1970: TimeInterval(credential.expiresAt)),
                revokedAt: Date(timeIntervalSince1970: TimeInterval(credential.revokedAt)), reason: credential.reason)
        }
    }

    /// Human-readable form: the count, then one line per credential.
    public var text: String {
        var lines = [revoked == 0
            ? "revoked 0 credentials (nothing unexpired and not already revoked matched)"
            : "revoked \(revoked) credential\(revoked == 1 ? "" : "s")"]
        lines += credentials.map { "  \($0.spiffeID)  serial \($0.serialNumber)" }
        return lines.joined(separator: "\n") + "\n"
    }
}
