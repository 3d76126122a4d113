public import Logging

extension WorkloadAPIServer {
    /// How a ``WorkloadAPIServer`` listens.
    public struct Configuration: Sendable {
        /// The Unix socket to serve on. A stale socket there (one nobody accepts connections on)
        /// is replaced; a live one is left alone and the server refuses to start.
        public var address: WorkloadAPIAddress
        /// The permission bits given to the socket file once it is bound. The default, `0o777`,
        /// lets workloads of every user connect, which the Workload API needs: callers are told
        /// apart by their kernel credentials, not by who may open the socket.
        public var socketMode: UInt32
        /// The largest request message accepted, in bytes; larger ones are refused with
        /// `ResourceExhausted`. Workload API requests are tiny, so 4 MiB is generous.
        public var maxReceiveMessageSize: Int
        /// How long open calls get to finish once the server is cancelled, before their
        /// connections are closed. Streams end at once with `Unavailable`.
        public var shutdownGracePeriod: Duration
        /// Where the server logs.
        public var logger: Logger

        /// Creates a configuration.
        public init(
            address: WorkloadAPIAddress,
            socketMode: UInt32 = 0o777,
            maxReceiveMessageSize: Int = 4 * 1024 * 1024,
            shutdownGracePeriod: Duration = .seconds(5),
            logger: Logger = Logger(label: "matryoshka.workload-api.server")
        ) {
            self.address = address
            self.socketMode = socketMode
            self.maxReceiveMessageSize = maxReceiveMessageSize
            self.shutdownGracePeriod = shutdownGracePeriod
            self.logger = logger
        }
    }
}
