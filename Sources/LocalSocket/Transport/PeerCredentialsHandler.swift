internal import NIOCore
internal import NIOHTTP2
internal import NIOHPACK

/// A channel handler for one HTTP/2 stream that makes the caller's kernel credentials the only
/// source of the ``PeerCredentialsMetadata/key`` header.
///
/// It sits first in the stream's pipeline, so it sees every frame before gRPC does. From every
/// HEADERS frame (request headers and trailers) it removes all copies of the key the client sent;
/// to the first one it adds the credentials read from the connection. When the credentials are
/// unknown nothing is added and the service refuses the call.
final class PeerCredentialsHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias InboundOut = HTTP2Frame.FramePayload

    private let encodedCredentials: String?
    private var sawFirstHeaders = false

    init(credentials: CallerCredentials?) {
        self.encodedCredentials = credentials.map(PeerCredentialsMetadata.encode)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let payload = Self.unwrapInboundIn(data)
        guard case .headers(var headers) = payload else {
            context.fireChannelRead(data)
            return
        }
        headers.headers = Self.stripped(headers.headers)
        if !sawFirstHeaders {
            sawFirstHeaders = true
            if let encodedCredentials {
                headers.headers.add(name: PeerCredentialsMetadata.key, value: encodedCredentials)
            }
        }
        context.fireChannelRead(Self.wrapInboundOut(.headers(headers)))
    }

    /// `headers` without any field named ``PeerCredentialsMetadata/key``, compared without regard
    /// to letter case.
    private static func stripped(_ headers: HPACKHeaders) -> HPACKHeaders {
        let key = PeerCredentialsMetadata.key
        guard headers.contains(where: { $0.name.lowercased() == key }) else { return headers }
        var result = HPACKHeaders()
        result.reserveCapacity(headers.count)
        for field in headers where field.name.lowercased() != key {
            result.add(name: field.name, value: field.value, indexing: field.indexable)
        }
        return result
    }
}
