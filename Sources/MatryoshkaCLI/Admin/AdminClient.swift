import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import MatryoshkaAPI

/// A connection to the server's admin socket.
public struct AdminClient: Sendable {
    let admin: Matryoshka_V1_Admin.Client<HTTP2ClientTransport.Posix>

    /// The environment variable naming the admin socket when `--admin-socket` is not given.
    public static let environmentVariable = "MATRYOSHKA_ADMIN_SOCKET"

    /// Resolves the admin socket path from a flag, the environment, or the default data directory.
    public static func socketPath(_ flag: String?, environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        let raw = flag ?? environment[environmentVariable] ?? Defaults.serverDataDirectory + "/admin.sock"
        return raw.hasPrefix("unix://") ? String(raw.dropFirst("unix://".count)) : raw
    }

    /// Runs `body` with a client connected to the admin socket at `path`.
    public static func with<Result: Sendable>(socketPath path: String, _ body: @Sendable (AdminClient) async throws(CLIError) -> Result) async throws(CLIError) -> Result {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw CLIError("cannot reach the server's admin socket \(path): \(String(cString: strerror(errno))) (is `matryoshka server run` running? set --admin-socket or \(environmentVariable))")
        }
        guard (info.st_mode & S_IFMT) == S_IFSOCK else { throw CLIError("\(path) is not a socket") }
        guard access(path, R_OK | W_OK) == 0 else {
            throw CLIError("permission denied on the admin socket \(path): it is for the server's owner only")
        }
        do {
            let transport = try HTTP2ClientTransport.Posix(target: .unixDomainSocket(path: path), transportSecurity: .plaintext)
            return try await withGRPCClient(transport: transport) { client in
                try await body(AdminClient(admin: Matryoshka_V1_Admin.Client(wrapping: client)))
            }
        } catch let error as CLIError {
            throw error
        } catch let error as RPCError {
            throw CLIError(Self.describe(error))
        } catch {
            throw CLIError("admin API: \(error)")
        }
    }

    /// Calls the server, turning RPC failures into one-line errors.
    func call<Response: Sendable>(_ body: () async throws -> Response) async throws(CLIError) -> Response {
        do {
            return try await body()
        } catch let error as RPCError {
            throw CLIError(Self.describe(error))
        } catch {
            throw CLIError("admin API: \(error)")
        }
    }

    static func describe(_ error: RPCError) -> String {
        switch error.code {
        case .unavailable: return "the server is unavailable: \(error.message)"
        default: return error.message
        }
    }

    static var options: CallOptions {
        var options = CallOptions.defaults
        options.timeout = .seconds(30)
        return options
    }
}
