public import Logging

extension LocalSocketServer {
    /// How a ``LocalSocketServer`` listens.
    public struct Configuration: Sendable {
        /// The path of the Unix socket to serve on. A stale socket there (one nobody accepts
        /// connections on) is replaced; a live one, or a file that is not a socket, is left alone
        /// and the server refuses to start.
        public var path: String
        /// What the server is called in its logs and in the errors it sends callers, e.g.
        /// `Workload API` or `admin API`.
        public var name: String
        /// The permission bits given to the socket file once it is bound. The default, `0o600`,
        /// lets only the server's own user (and root) connect.
        public var socketMode: UInt32
        /// The largest request message accepted, in bytes; larger ones are refused with
        /// `ResourceExhausted`.
        public var maxReceiveMessageSize: Int
        /// How long open calls get to finish once the server is cancelled, before their
        /// connections are closed.
        public var shutdownGracePeriod: Duration
        /// Where the server logs.
        public var logger: Logger

        /// Creates a configuration.
        public init(
            path: String,
            name: String = "local socket API",
            socketMode: UInt32 = 0o600,
            maxReceiveMessageSize: Int = 4 * 1024 * 1024,
            shutdownGracePeriod: Duration = .seconds(5),
            logger: Logger = Logger(label: "matryoshka.local-socket.server")
        ) {
            self.path = path
            self.name = name
            self.socketMode = socketMode
            self.maxReceiveMessageSize = maxReceiveMessageSize
            self.shutdownGracePeriod = shutdownGracePeriod
            self.logger = logger
        }

        /// Checks the settings that cannot work.
        func validate() throws(LocalSocketServerError) {
            guard !path.isEmpty else {
                throw .invalidConfiguration("the socket path is empty")
            }
            guard socketMode <= 0o777 else {
                throw .invalidConfiguration("socket mode \(String(socketMode, radix: 8)) is not a permission mode (at most 777)")
            }
            guard maxReceiveMessageSize > 0 else {
                throw .invalidConfiguration("maximum receive message size must be positive, not \(maxReceiveMessageSize)")
            }
            guard shutdownGracePeriod >= .zero else {
                throw .invalidConfiguration("shutdown grace period must not be negative")
            }
        }
    }
}
