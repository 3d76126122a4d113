import Foundation
import GRPCCore
import MatryoshkaAPI
import SPIFFE

/// `matryoshka server token generate`, `server bundle show`, `agent list`.
public enum ServerAdminOperations {
    public static func generateToken(alias: String?, ttl: String?, socketPath: String) async throws(CLIError) -> JoinTokenReport {
        if let alias { _ = try EntryOperations.CreateRequest.id(alias, flag: "--spiffe-id") }
        let seconds = try EntryOperations.CreateRequest.ttl(ttl, flag: "--ttl")
        return try await AdminClient.with(socketPath: socketPath) { client throws(CLIError) in
            let token = try await client.call {
                try await client.admin.generateJoinToken(Matryoshka_V1_GenerateJoinTokenRequest.with {
                    $0.ttlSeconds = Int32(seconds)
                    $0.aliasSpiffeID = alias ?? ""
                }, options: AdminClient.options)
            }
            return JoinTokenReport(
                token: token.token, agentSPIFFEID: token.agentSpiffeID,
                alias: token.aliasSpiffeID.isEmpty ? nil : token.aliasSpiffeID,
                expiresAt: Date(timeIntervalSince1970: TimeInterval(token.expiresAt)))
        }
    }

    public enum BundleFormat: String, Sendable, CaseIterable {
        case pem, spiffe
    }

    public static func bundle(format: BundleFormat, socketPath: String) async throws(CLIError) -> String {
        let bundle: SPIFFEBundle = try await AdminClient.with(socketPath: socketPath) { client throws(CLIError) in
            let wire = try await client.call { try await client.admin.getBundle(Matryoshka_V1_GetBundleRequest(), options: AdminClient.options) }
            do {
                return try SPIFFEBundle(wire: wire)
            } catch {
                throw CLIError("server sent an invalid bundle: \(error)")
            }
        }
        switch format {
        case .pem:
            return bundle.x509Bundle.pem
        case .spiffe:
            do {
                return String(decoding: try bundle.json(), as: UTF8.self) + "\n"
            } catch {
                throw CLIError("cannot encode bundle: \(error)")
            }
        }
    }
}

/// What `server token generate` prints.
public struct JoinTokenReport: Codable, Sendable, Equatable {
    public var token: String
    public var agentSPIFFEID: String
    public var alias: String?
    public var expiresAt: Date

    enum CodingKeys: String, CodingKey {
        case token, agentSPIFFEID = "agent_spiffe_id", alias, expiresAt = "expires_at"
    }
}
