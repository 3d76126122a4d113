public import GRPCCore

/// Refuses every call whose caller's kernel credentials are unknown, and attaches the known ones
/// to the call's context, where handlers read them with ``CallerCredentials/init(context:)``.
///
/// Install it on a ``LocalSocketServer`` whose services must know who calls each method, so that
/// no method, present or future, can be reached anonymously:
///
/// ```swift
/// LocalSocketServer(configuration: configuration, services: [service], interceptors: [CallerCredentialsInterceptor()])
/// ```
///
/// Unlike request metadata, the context reaches every part of a handler, including the body of a
/// streaming response.
public struct CallerCredentialsInterceptor: ServerInterceptor {
    /// Creates the interceptor.
    public init() {}

    /// Reads the credentials from the request metadata and passes them on in the context.
    ///
    /// - Throws: `PermissionDenied` when the credentials are missing or malformed; the service is
    ///   not called.
    public func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>,
        context: ServerContext,
        next: @Sendable (
            _ request: StreamingServerRequest<Input>,
            _ context: ServerContext
        ) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        let caller = try CallerCredentials(requestMetadata: request.metadata)
        var context = context
        context.transportSpecific = caller
        return try await next(request, context)
    }
}
