/// Why a Workload API call from ``WorkloadAPIClient`` failed, in terms a workload operator can act on.
public enum WorkloadAPIClientError: Error, Sendable, Hashable, CustomStringConvertible {
    /// No socket file at the path: the agent is not running, or the path is wrong.
    case socketNotFound(path: String)
    /// Something other than a socket is at the path.
    case notASocket(path: String)
    /// The socket exists but this process may not connect to it.
    case socketAccessDenied(path: String)
    /// The socket exists but the agent did not answer (not running, restarting, shutting down).
    case agentUnavailable(path: String, detail: String)
    /// The agent has no identity for this process (`PermissionDenied`).
    case permissionDenied(String)
    /// The agent refused the request as malformed, or the JWT-SVID given to validate is not valid
    /// (`InvalidArgument`).
    case invalidArgument(String)
    /// A message exceeded the size limit of the agent or of this client (`ResourceExhausted`).
    case messageTooLarge(String)
    /// The agent closed a stream without sending anything.
    case noResponse(method: String)
    /// The agent sent something this client cannot decode.
    case malformedResponse(String)
    /// The client was closed before or during the call.
    case clientClosed
    /// Any other failure, with the gRPC status code name and message.
    case callFailed(code: String, message: String)

    /// A one-line description of the error.
    public var description: String {
        switch self {
        case .socketNotFound(let path):
            return "agent socket \(path) not found (is the agent running?)"
        case .notASocket(let path):
            return "agent socket \(path) is not a socket"
        case .socketAccessDenied(let path):
            return "agent socket \(path): permission denied to connect"
        case .agentUnavailable(let path, let detail):
            return "agent at \(path) is unavailable: \(detail)"
        case .permissionDenied(let message):
            return Self.prefixed("permission denied", message)
        case .invalidArgument(let message):
            return Self.prefixed("invalid argument", message)
        case .messageTooLarge(let message):
            return Self.prefixed("message too large", message)
        case .noResponse(let method):
            return "the agent ended \(method) without sending a response"
        case .malformedResponse(let message):
            return "malformed response from the agent: \(message)"
        case .clientClosed:
            return "the Workload API client is closed"
        case .callFailed(let code, let message):
            return "Workload API call failed (\(code)): \(message)"
        }
    }

    private static func prefixed(_ prefix: String, _ message: String) -> String {
        message.lowercased().hasPrefix(prefix) ? message : "\(prefix): \(message)"
    }
}
