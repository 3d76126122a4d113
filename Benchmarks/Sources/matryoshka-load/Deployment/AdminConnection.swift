import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Server

/// The server's admin API on its Unix socket, called directly (the CLI would add a process start
/// to every call): entries in bulk, join tokens, revocation.
struct AdminConnection: Sendable {
    let admin: Matryoshka_V1_Admin.Client<HTTP2ClientTransport.Posix>

    /// Runs `body` with a connection to the admin socket at `path`.
    static func with<T: Sendable>(socket path: String, _ body: (AdminConnection) async throws -> T) async throws -> T {
        let transport = try HTTP2ClientTransport.Posix(target: .unixDomainSocket(path: path), transportSecurity: .plaintext)
        return try await withGRPCClient(transport: transport) { client in
            try await body(AdminConnection(admin: Matryoshka_V1_Admin.Client(wrapping: client)))
        }
    }

    private static var options: CallOptions {
        var options = CallOptions.defaults
        options.timeout = .seconds(60)
        return options
    }

    func joinToken(alias: String) async throws -> String {
        var request = Matryoshka_V1_GenerateJoinTokenRequest()
        request.aliasSpiffeID = alias
        request.ttlSeconds = 3600
        return try await admin.generateJoinToken(request, options: Self.options).token
    }

    /// Creates one entry for the selectors given as `type:value` strings.
    @discardableResult
    func createEntry(spiffeID: String, parentID: String, selectors: [String], nested: Bool = false) async throws -> Matryoshka_V1_Entry {
        var entry = Matryoshka_V1_Entry()
        entry.spiffeID = spiffeID
        entry.parentID = parentID
        entry.nested = nested
        entry.selectors = try selectors.map { text in
            guard let colon = text.firstIndex(of: ":") else { throw LoadError.unexpected("selector '\(text)' is not type:value") }
            var selector = Matryoshka_V1_Selector()
            selector.type = String(text[..<colon])
            selector.value = String(text[text.index(after: colon)...])
            return selector
        }
        var request = Matryoshka_V1_CreateEntryRequest()
        request.entry = entry
        return try await admin.createEntry(request, options: Self.options)
    }

    /// Creates `count` entries `<prefix>/<i>` under `parentID` for `selectors`, `concurrency` at a time.
    func createEntries(prefix: String, count: Int, parentID: String, selectors: [String], concurrency: Int = 16) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            var next = 0
            func add() {
                let index = next
                next += 1
                group.addTask { try await createEntry(spiffeID: "\(prefix)/\(index)", parentID: parentID, selectors: selectors) }
            }
            while next < min(concurrency, count) { add() }
            while try await group.next() != nil {
                if next < count { add() }
            }
        }
    }

    /// `revoke --spiffe-id ID --subtree`: returns how many credentials the server revoked.
    func revokeSubtree(of spiffeID: String) async throws -> Int {
        var request = Matryoshka_V1_AdminRevokeRequest()
        request.spiffeID = spiffeID
        request.subtree = true
        request.reason = "load test"
        return Int(try await admin.revoke(request, options: Self.options).revoked)
    }
}
