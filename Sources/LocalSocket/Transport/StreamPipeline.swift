internal import NIOCore

/// What a ``LocalSocketServer`` adds to every accepted HTTP/2 stream, in front of grpc-swift's
/// own handler (through `ChannelDebuggingCallbacks.onAcceptHTTP2Stream`, which runs before the
/// stream's first frame is read).
enum StreamPipeline {
    /// Reads the credentials of the stream's connection, then installs, first in the stream's
    /// pipeline, the ``PeerCredentialsHandler`` and the ``MessageSizeLimitHandler``. If they
    /// cannot be installed, the returned future fails and the stream is closed, so no call
    /// proceeds without them.
    static func install(on stream: any Channel, maxMessageSize: Int, serverName: String) -> EventLoopFuture<Void> {
        let credentials: EventLoopFuture<CallerCredentials?>
        if let connection = stream.parent {
            credentials = PeerCredentialsReader.read(from: connection).hop(to: stream.eventLoop)
        } else {
            credentials = stream.eventLoop.makeSucceededFuture(nil)
        }
        return credentials.flatMapThrowing { credentials in
            let pipeline = stream.pipeline.syncOperations
            try pipeline.addHandler(MessageSizeLimitHandler(limit: maxMessageSize, serverName: serverName), position: .first)
            try pipeline.addHandler(PeerCredentialsHandler(credentials: credentials), position: .first)
        }
    }
}
