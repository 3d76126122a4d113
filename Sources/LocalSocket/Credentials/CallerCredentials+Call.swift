public import GRPCCore

/// ``CallerCredentialsInterceptor`` attaches the credentials to a call's `ServerContext` as its
/// transport-specific value.
extension CallerCredentials: ServerContext.TransportSpecific {}

extension CallerCredentials {
    /// The caller's credentials, read from the request metadata of a call served by a
    /// ``LocalSocketServer``.
    ///
    /// The server's stream pipeline removes every client-sent copy of the private metadata entry
    /// and writes the kernel's credentials into it, so the value cannot be forged.
    ///
    /// - Throws: `PermissionDenied` unless exactly one well-formed entry is present (fails closed:
    ///   none means the kernel could not tell who called, more than one cannot happen unless the
    ///   stripping failed).
    public init(requestMetadata metadata: Metadata) throws(RPCError) {
        let values = Array(metadata[PeerCredentialsMetadata.key])
        guard values.count == 1, case .string(let encoded) = values[0],
            let credentials = PeerCredentialsMetadata.decode(encoded)
        else {
            throw Self.unknownCaller()
        }
        self = credentials
    }

    /// The caller's credentials, as ``CallerCredentialsInterceptor`` attached them to the call's
    /// context.
    ///
    /// - Throws: `PermissionDenied` when the context carries none (the interceptor is not
    ///   installed, or the call did not come through a ``LocalSocketServer``): fails closed.
    public init(context: ServerContext) throws(RPCError) {
        guard let credentials = context.transportSpecific as? CallerCredentials else {
            throw Self.unknownCaller()
        }
        self = credentials
    }

    /// The refusal for a call whose caller is unknown.
    static func unknownCaller() -> RPCError {
        RPCError(code: .permissionDenied, message: "permission denied: the caller's process credentials are unknown")
    }
}
