internal import LocalSocket

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

extension WorkloadAPIServerError {
    /// The same failure of the underlying `LocalSocketServer`, in the Workload API's terms.
    init(_ error: LocalSocketServerError) {
        switch error {
        case .socketInUse(let path): self = .socketInUse(path: path)
        case .socketSetupFailed(let path, let reason): self = .socketSetupFailed(path: path, reason: reason)
        case .invalidConfiguration(let message): self = .invalidConfiguration(message)
        case .alreadyStarted: self = .alreadyStarted
        case .notListening(let reason): self = .notListening(reason: reason)
        case .transportFailed(let message): self = .transportFailed(message)
        }
    }
}
