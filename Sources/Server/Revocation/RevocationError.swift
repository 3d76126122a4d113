import GRPCCore

/// Why a revocation was refused or failed.
public enum RevocationError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The request names nothing usable (an empty list, a malformed serial number).
    case invalidRequest(String)
    /// No such credential or agent.
    case notFound(String)
    /// The caller may not revoke it (a layer may only revoke what it vouched for).
    case permissionDenied(String)
    /// The datastore failed; nothing was revoked.
    case storage(DataStoreError)

    public var description: String {
        switch self {
        case .invalidRequest(let message), .notFound(let message), .permissionDenied(let message): return message
        case .storage(let error): return "cannot revoke: \(error)"
        }
    }

    var rpcError: RPCError {
        switch self {
        case .invalidRequest(let message): return RPCError(code: .invalidArgument, message: message)
        case .notFound(let message): return RPCError(code: .notFound, message: message)
        case .permissionDenied(let message): return RPCError(code: .permissionDenied, message: message)
        case .storage(let error): return error.rpcError
        }
    }
}
