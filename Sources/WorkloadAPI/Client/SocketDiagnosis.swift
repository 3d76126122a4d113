#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
#elseif canImport(Darwin)
internal import Darwin
#endif
internal import LocalSocket

/// Explains an unreachable agent by looking at its socket path.
enum SocketDiagnosis {
    /// The most specific error for a connection that failed with `detail`.
    static func diagnose(path: String, detail: String) -> WorkloadAPIClientError {
        var info = stat()
        guard stat(path, &info) == 0 else {
            let code = errno
            if code == ENOENT || code == ENOTDIR { return .socketNotFound(path: path) }
            if code == EACCES { return .socketAccessDenied(path: path) }
            return .agentUnavailable(path: path, detail: Errno.describe(code))
        }
        guard (info.st_mode & S_IFMT) == S_IFSOCK else { return .notASocket(path: path) }
        guard access(path, W_OK) == 0 else { return .socketAccessDenied(path: path) }
        return .agentUnavailable(path: path, detail: detail)
    }
}
