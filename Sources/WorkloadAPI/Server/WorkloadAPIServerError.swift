/// Why the Workload API server could not start or keep serving.
public enum WorkloadAPIServerError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Another server is accepting connections on the socket.
    case socketInUse(path: String)
    /// The socket could not be prepared, bound or given its mode.
    case socketSetupFailed(path: String, reason: String)
    /// The configuration cannot work.
    case invalidConfiguration(String)
    /// ``WorkloadAPIServer/run()`` was called on a server that already ran.
    case alreadyStarted
    /// The server is not listening: it stopped, or failed to start.
    case notListening(reason: String)
    /// The gRPC transport failed while serving.
    case transportFailed(String)

    /// A one-line description of the error.
    public var description: String {
        switch self {
        case .socketInUse(let path):
            return "Workload API socket \(path) is in use by another running server"
        case .socketSetupFailed(let path, let reason):
            return "cannot set up Workload API socket \(path): \(reason)"
        case .invalidConfiguration(let message):
            return "invalid Workload API server configuration: \(message)"
        case .alreadyStarted:
            return "the Workload API server was already started; create a new one to serve again"
        case .notListening(let reason):
            return "the Workload API server is not listening: \(reason)"
        case .transportFailed(let message):
            return "the Workload API server failed: \(message)"
        }
    }
}
