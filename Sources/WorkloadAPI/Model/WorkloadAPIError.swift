public import GRPCCore

/// Errors an identity provider (the agent) reports to the Workload API service; each maps to the
/// gRPC status the SPIFFE Workload API specification prescribes.
public enum WorkloadAPIError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The caller matches no registration entry, or has no identity issued yet
    /// (`PermissionDenied`). The detail, if any, is sent to the caller, so it must not reveal
    /// anything about other workloads.
    case noIdentity(detail: String?)
    /// The JWT-SVID given to `ValidateJWTSVID` is not valid (`InvalidArgument`); the reason is
    /// sent to the caller.
    case invalidJWT(reason: String)
    /// The request is malformed (`InvalidArgument`).
    case invalidRequest(String)
    /// The agent cannot serve the request right now, e.g. it has not obtained its own SVID yet
    /// (`Unavailable`); clients retry.
    case unavailable(String)
    /// Anything else that went wrong inside the agent (`Internal`).
    case internalError(String)

    /// A one-line description of the error.
    public var description: String {
        switch self {
        case .noIdentity(let detail?):
            return "permission denied: no identity for this caller: \(detail)"
        case .noIdentity(nil):
            return "permission denied: no identity for this caller"
        case .invalidJWT(let reason):
            return "invalid JWT-SVID: \(reason)"
        case .invalidRequest(let message):
            return "invalid request: \(message)"
        case .unavailable(let message):
            return "Workload API unavailable: \(message)"
        case .internalError(let message):
            return "internal error: \(message)"
        }
    }
}

extension WorkloadAPIError: RPCErrorConvertible {
    /// The gRPC status code for this error.
    public var rpcErrorCode: RPCError.Code {
        switch self {
        case .noIdentity: return .permissionDenied
        case .invalidJWT, .invalidRequest: return .invalidArgument
        case .unavailable: return .unavailable
        case .internalError: return .internalError
        }
    }

    /// The gRPC status message for this error.
    public var rpcErrorMessage: String { description }
}
