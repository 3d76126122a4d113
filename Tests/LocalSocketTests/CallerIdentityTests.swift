import GRPCCore
import LocalSocket
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Who is calling: kernel credentials on every call")
struct CallerIdentityTests {
    private var me: CallerCredentials { CallerCredentials(pid: getpid(), uid: getuid(), gid: getgid()) }

    @Test("the handler sees the kernel's pid/uid/gid, in the context and in the metadata")
    func credentialsReachTheHandler() async throws {
        let answer = try await withWhoAmIServer { path in try await askWhoAmI(path: path) }
        #expect(answer.context == me)
        #expect(answer.metadata == me)
    }

    @Test("credential metadata sent by the client is stripped and replaced by the kernel's")
    func spoofedCredentialsAreStripped() async throws {
        let spoofed: Metadata = [
            "x-matryoshka-peer-cred": "pid=1;uid=0;gid=0",
            "X-Matryoshka-Peer-Cred": "pid=2;uid=0;gid=0",
        ]
        let answer = try await withWhoAmIServer { path in try await askWhoAmI(path: path, metadata: spoofed) }
        #expect(answer.context == me)
        #expect(answer.metadata == me)
    }

    @Test("without the interceptor the context carries no credentials; the metadata still does")
    func noInterceptor() async throws {
        let answer = try await withWhoAmIServer(interceptors: []) { path in try await askWhoAmI(path: path) }
        #expect(answer.context == nil)
        #expect(answer.metadata == me)
    }

    @Test("a request larger than the limit is refused with ResourceExhausted and a clear message")
    func oversizedRequest() async throws {
        let (small, error) = try await withWhoAmIServer(configure: { $0.maxReceiveMessageSize = 1024 }) { path in
            let small = try await askWhoAmI(path: path, payload: Array(repeating: 7, count: 1000))
            let error = await rpcError { try await askWhoAmI(path: path, payload: Array(repeating: 7, count: 4096)) }
            return (small, error)
        }
        #expect(small.receivedBytes == 1000)
        #expect(error?.code == .resourceExhausted)
        #expect(error?.message == "request message of 4096 bytes exceeds the test API limit of 1024 bytes")
    }

    @Test("the interceptor refuses a call without credentials with PermissionDenied, before the handler")
    func interceptorFailsClosed() async throws {
        let interceptor = CallerCredentialsInterceptor()
        let reached = HandlerProbe()
        for metadata: Metadata in [[:], ["x-matryoshka-peer-cred": "garbage"],
                                   ["x-matryoshka-peer-cred": "pid=1;uid=0;gid=0", "x-matryoshka-peer-cred": "pid=2;uid=0;gid=0"]] {
            let error = await rpcError {
                try await withTestContext { context in
                    try await interceptor.intercept(
                        request: StreamingServerRequest(single: ServerRequest<[UInt8]>(metadata: metadata, message: [])),
                        context: context
                    ) { _, _ in
                        await reached.mark()
                        return StreamingServerResponse<[UInt8]>(single: ServerResponse(message: []))
                    }
                }
            }
            #expect(error?.code == .permissionDenied, "\(metadata)")
        }
        #expect(await reached.count == 0)
    }

    @Test("the interceptor hands valid credentials to the handler in the context")
    func interceptorAttachesCredentials() async throws {
        let interceptor = CallerCredentialsInterceptor()
        let seen = try await withTestContext { context in
            let request = StreamingServerRequest(
                single: ServerRequest<[UInt8]>(metadata: ["x-matryoshka-peer-cred": "pid=42;uid=1000;gid=100"], message: []))
            let probe = CredentialsProbe()
            _ = try await interceptor.intercept(request: request, context: context) { _, context in
                await probe.record(try CallerCredentials(context: context))
                return StreamingServerResponse<[UInt8]>(single: ServerResponse(message: []))
            }
            return await probe.credentials
        }
        #expect(seen == CallerCredentials(pid: 42, uid: 1000, gid: 100))
    }

    @Test("a context without credentials yields PermissionDenied")
    func bareContext() async throws {
        let error = await rpcError { try await withTestContext { context in try CallerCredentials(context: context) } }
        #expect(error?.code == .permissionDenied)
        #expect(error?.message == "permission denied: the caller's process credentials are unknown")
    }

    @Test("the user name comes from the password database")
    func userName() {
        let expected = getpwuid(getuid()).flatMap { $0.pointee.pw_name.map { String(cString: $0) } }
        #expect(me.userName == expected)
        #expect(CallerCredentials(pid: 1, uid: 0, gid: 0).userName == "root")
        #expect(CallerCredentials(pid: 1, uid: 3_999_999_999, gid: 0).userName == nil)
    }
}

/// Runs `body` with a server context for a made-up method.
private func withTestContext<T: Sendable>(_ body: (ServerContext) async throws -> T) async throws -> T {
    try await withServerContextRPCCancellationHandle { handle in
        let context = ServerContext(
            descriptor: WhoAmIService.method, remotePeer: "unix:test", localPeer: "unix:test", cancellation: handle)
        return try await body(context)
    }
}

/// Whether the handler behind an interceptor ran.
private actor HandlerProbe {
    private(set) var count = 0
    func mark() { count += 1 }
}

/// The credentials a handler behind an interceptor saw.
private actor CredentialsProbe {
    private(set) var credentials: CallerCredentials?
    func record(_ credentials: CallerCredentials) { self.credentials = credentials }
}
