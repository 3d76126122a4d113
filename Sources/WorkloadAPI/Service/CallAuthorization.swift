internal import GRPCCore

/// The checks every Workload API call passes before the provider is asked anything.
enum CallAuthorization {
    /// The header SPIFFE clients send to prove the call did not come from a browser or proxy
    /// that was tricked into it (SSRF); its only valid value is `true`.
    static let securityHeader = "workload.spiffe.io"

    /// The caller's kernel credentials, after checking the security header.
    ///
    /// - Throws: `InvalidArgument` without the security header; `PermissionDenied` unless
    ///   exactly one credential entry, written by ``PeerCredentialsHandler``, is present
    ///   (fails closed: zero means the kernel could not tell who called, more than one cannot
    ///   happen unless the stripping failed).
    static func authorize(_ metadata: Metadata) throws(RPCError) -> CallerCredentials {
        let header = Array(metadata[securityHeader])
        guard header.count == 1, case .string("true") = header[0] else {
            throw RPCError(
                code: .invalidArgument,
                message: "security header missing from request: the Workload API requires metadata '\(securityHeader): true'"
            )
        }
        let credentials = Array(metadata[PeerCredentialsMetadata.key])
        guard credentials.count == 1, case .string(let encoded) = credentials[0],
            let caller = PeerCredentialsMetadata.decode(encoded)
        else {
            throw RPCError(
                code: .permissionDenied,
                message: "permission denied: the caller's process credentials are unknown"
            )
        }
        return caller
    }
}
