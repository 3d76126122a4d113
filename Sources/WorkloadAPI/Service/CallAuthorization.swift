internal import GRPCCore
internal import LocalSocket

/// The checks every Workload API call passes before the provider is asked anything.
enum CallAuthorization {
    /// The header SPIFFE clients send to prove the call did not come from a browser or proxy
    /// that was tricked into it (SSRF); its only valid value is `true`.
    static let securityHeader = "workload.spiffe.io"

    /// The caller's kernel credentials, after checking the security header.
    ///
    /// - Throws: `InvalidArgument` without the security header; `PermissionDenied` unless
    ///   exactly one credential entry, written by the `LocalSocketServer`'s stream pipeline, is
    ///   present (fails closed: zero means the kernel could not tell who called, more than one
    ///   cannot happen unless the stripping failed).
    static func authorize(_ metadata: Metadata) throws(RPCError) -> CallerCredentials {
        let header = Array(metadata[securityHeader])
        guard header.count == 1, case .string("true") = header[0] else {
            throw RPCError(
                code: .invalidArgument,
                message: "security header missing from request: the Workload API requires metadata '\(securityHeader): true'"
            )
        }
        return try CallerCredentials(requestMetadata: metadata)
    }
}
