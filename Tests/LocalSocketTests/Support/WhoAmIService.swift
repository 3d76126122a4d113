import GRPCCore
import GRPCNIOTransportHTTP2
import LocalSocket

/// Raw bytes in, raw bytes out: a test service needs no code generation.
struct BytesCoder: MessageSerializer, MessageDeserializer {
    func serialize<Bytes: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Bytes { Bytes(message) }
    func deserialize<Bytes: GRPCContiguousBytes>(_ serializedMessageBytes: Bytes) throws -> [UInt8] {
        serializedMessageBytes.withUnsafeBytes { Array($0) }
    }
}

/// What the ``WhoAmIService`` handler saw of its caller.
struct WhoAmIAnswer: Sendable, Hashable {
    /// The credentials in the call's context (put there by `CallerCredentialsInterceptor`).
    var context: CallerCredentials?
    /// The credentials in the request metadata (put there by the stream pipeline).
    var metadata: CallerCredentials?
    /// How many request bytes arrived.
    var receivedBytes: Int
}

/// One unary-like method that tells the caller who the server thinks they are, and can hold a
/// call open until the client says so, to test draining.
struct WhoAmIService: RegistrableRPCService {
    static let method = MethodDescriptor(fullyQualifiedService: "localsocket.test.WhoAmI", method: "Ask")

    func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        router.registerHandler(forMethod: Self.method, deserializer: BytesCoder(), serializer: BytesCoder()) { request, context in
            var received = 0
            for try await message in request.messages {
                received += message.count
            }
            let fromContext = try? CallerCredentials(context: context)
            let fromMetadata = try? CallerCredentials(requestMetadata: request.metadata)
            let text = [fromContext?.description ?? "-", fromMetadata?.description ?? "-", String(received)]
                .joined(separator: "|")
            return StreamingServerResponse(single: ServerResponse(message: Array(text.utf8)))
        }
    }
}

/// Calls ``WhoAmIService`` on the socket at `path` with a plain grpc-swift client.
func askWhoAmI(path: String, metadata: Metadata = [:], payload: [UInt8] = []) async throws -> WhoAmIAnswer {
    let transport = try HTTP2ClientTransport.Posix(target: .unixDomainSocket(path: path), transportSecurity: .plaintext)
    let text = try await withGRPCClient(transport: transport) { client in
        try await client.unary(
            request: ClientRequest(message: payload, metadata: metadata),
            descriptor: WhoAmIService.method,
            serializer: BytesCoder(),
            deserializer: BytesCoder(),
            options: .defaults
        ) { response in
            String(decoding: try response.message, as: UTF8.self)
        }
    }
    let fields = text.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
    guard fields.count == 3, let received = Int(fields[2]) else {
        throw TestFailure("unexpected answer '\(text)'")
    }
    return WhoAmIAnswer(context: parseCredentials(fields[0]), metadata: parseCredentials(fields[1]), receivedBytes: received)
}

/// The gRPC status a call fails with, or `nil` if it succeeds.
func rpcError<T>(_ body: () async throws -> T) async -> RPCError? {
    do {
        _ = try await body()
        return nil
    } catch let error as RPCError {
        return error
    } catch {
        return RPCError(code: .unknown, message: "not an RPCError: \(error)")
    }
}

/// Parses `pid=… uid=… gid=…` (``CallerCredentials/description``); `nil` for `-`.
private func parseCredentials(_ text: String) -> CallerCredentials? {
    var values: [String: String] = [:]
    for field in text.split(separator: " ") {
        let parts = field.split(separator: "=", maxSplits: 1)
        guard parts.count == 2 else { return nil }
        values[String(parts[0])] = String(parts[1])
    }
    guard let pid = values["pid"].flatMap({ Int32($0) }), let uid = values["uid"].flatMap({ UInt32($0) }),
        let gid = values["gid"].flatMap({ UInt32($0) })
    else { return nil }
    return CallerCredentials(pid: pid, uid: uid, gid: gid)
}
