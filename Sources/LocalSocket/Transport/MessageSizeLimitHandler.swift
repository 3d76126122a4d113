internal import NIOCore
internal import NIOHTTP2
internal import NIOHPACK

/// A channel handler for one HTTP/2 stream that refuses request messages larger than a limit
/// with a proper gRPC status, `ResourceExhausted`, before any of the message is buffered.
///
/// grpc-swift's own limit (`maxRequestPayloadSize`, also set) only resets the stream, which a
/// client sees as an unexplained `RST_STREAM`. This handler reads the 5-byte gRPC length prefix
/// of each message as DATA frames arrive; when a message announces more than the limit, it sends
/// a trailers-only response with the status and closes the stream.
final class MessageSizeLimitHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias InboundOut = HTTP2Frame.FramePayload

    private let limit: Int
    /// What the server calls itself in the refusal, e.g. `Workload API`.
    private let serverName: String
    /// Bytes of the current message's prefix seen so far (up to 5).
    private var prefix: [UInt8] = []
    /// Bytes of the current message's body still to come.
    private var remainingBody = 0
    private var refused = false

    init(limit: Int, serverName: String) {
        self.limit = limit
        self.serverName = serverName
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }
        guard case .data(let frame) = Self.unwrapInboundIn(data), case .byteBuffer(var buffer) = frame.data else {
            context.fireChannelRead(data)
            return
        }
        while buffer.readableBytes > 0 {
            if remainingBody > 0 {
                let skipped = min(remainingBody, buffer.readableBytes)
                buffer.moveReaderIndex(forwardBy: skipped)
                remainingBody -= skipped
                continue
            }
            guard let byte = buffer.readInteger(as: UInt8.self) else { break }
            prefix.append(byte)
            if prefix.count == 5 {
                let length = prefix[1...4].reduce(0) { ($0 << 8) | Int($1) }
                prefix.removeAll(keepingCapacity: true)
                if length > limit {
                    refuse(context: context, length: length)
                    return
                }
                remainingBody = length
            }
        }
        context.fireChannelRead(data)
    }

    private func refuse(context: ChannelHandlerContext, length: Int) {
        refused = true
        let message = "request message of \(length) bytes exceeds the \(serverName) limit of \(limit) bytes"
        let trailers: HPACKHeaders = [
            ":status": "200",
            "content-type": "application/grpc",
            "grpc-status": "8",  // RESOURCE_EXHAUSTED
            "grpc-message": message,
        ]
        let response = HTTP2Frame.FramePayload.headers(.init(headers: trailers, endStream: true))
        context.writeAndFlush(NIOAny(response), promise: nil)
        context.close(promise: nil)
    }
}
