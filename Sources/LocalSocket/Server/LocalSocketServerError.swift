/// Why a ``LocalSocketServer`` could not start or keep serving.
public enum LocalSocketServerError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Another server is accepting connections on the socket.
    case socketInUse(path: String)
    /// The socket could not be prepared, bound or given its mode.
    case socketSetupFailed(path: String, reason: String)
    /// The configuration cannot work.
    case invalidConfiguration(String)
    /// ``LocalSocketServer/run()`` was called on a server that already ran.
    case alreadyStarted
    /// The server is not listening: it stopped, or failed to start.
    case notListening(reason: String)
    /// The gRPC transport failed while serving.
    case transportFailed(String)

    /// A one-line description of the error.
    public var description: String {
        switch self {
        case .socketInUse(let path):
            return "socket \(path) is in use by another running server"
        case .socketSetupFailed(let path, let reason):
            return "cannot set up socket \(path): \(reason)"
        case .invalidConfiguration(let message):
            return "invalid local socket server configuration: \(message)"
        case .alreadyStarted:
            return "the server was already started; create a new one to serve again"
        case .notListening(let reason):
            return "the server is not listening: \(reason)"
        case .transportFailed(let message):
            return "the server failed: \(message)"
        }
    }
}
