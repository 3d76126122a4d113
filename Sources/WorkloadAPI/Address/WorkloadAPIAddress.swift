#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
#elseif canImport(Darwin)
internal import Darwin
#endif

/// The Unix domain socket of a Workload API endpoint.
///
/// Accepts what SPIFFE clients accept in `SPIFFE_ENDPOINT_SOCKET`: a `unix://` URI
/// (`unix:///run/spire/agent.sock`, or `unix:/run/spire/agent.sock`) or, for convenience on the
/// command line, a plain absolute or relative path. TCP endpoints (`tcp://`) are not supported:
/// a Workload API without kernel-reported caller credentials could not attest its callers.
public struct WorkloadAPIAddress: Sendable, Hashable, CustomStringConvertible {
    /// The environment variable SPIFFE clients read the endpoint from.
    public static let environmentVariable = "SPIFFE_ENDPOINT_SOCKET"

    /// The longest path a Unix socket address can hold (`sun_path` is 108 bytes on Linux,
    /// 104 on Darwin, including the terminating NUL).
    public static var maximumPathLength: Int {
        #if canImport(Darwin)
        return 103
        #else
        return 107
        #endif
    }

    /// The socket's filesystem path.
    public let path: String

    /// Parses a plain path or a `unix://` URI.
    ///
    /// - Throws: ``WorkloadAPIAddressError`` naming what is wrong with `string`.
    public init(_ string: String) throws(WorkloadAPIAddressError) {
        let path: String
        if string.hasPrefix("unix://") {
            let rest = string.dropFirst("unix://".count)
            guard rest.hasPrefix("/") else {
                // `unix://host/path` would put a host in the authority; SPIFFE forbids it.
                throw .invalid(string, reason: "a unix:// URI must have an empty authority and an absolute path (unix:///path)")
            }
            path = String(rest)
        } else if string.hasPrefix("unix:") {
            let rest = string.dropFirst("unix:".count)
            guard rest.hasPrefix("/") else {
                throw .invalid(string, reason: "a unix: URI must have an absolute path")
            }
            path = String(rest)
        } else if let colon = string.firstIndex(of: ":"), let slash = string.firstIndex(of: "/"), colon < slash,
            string[string.index(after: colon)...].hasPrefix("//")
        {
            let scheme = string[..<colon]
            throw .invalid(string, reason: "unsupported scheme '\(scheme)'; the Workload API is served on a Unix socket (unix:///path)")
        } else {
            path = string
        }
        guard !path.isEmpty else {
            throw .invalid(string, reason: "the socket path is empty")
        }
        guard !path.contains("?"), !path.contains("#") else {
            throw .invalid(string, reason: "a Workload API socket URI must not have a query or fragment")
        }
        guard !path.utf8.contains(0) else {
            throw .invalid(string, reason: "the socket path contains a NUL byte")
        }
        guard path.utf8.count <= Self.maximumPathLength else {
            throw .invalid(string, reason: "the socket path is longer than \(Self.maximumPathLength) bytes, the limit for Unix sockets")
        }
        self.path = path
    }

    /// Creates an address for a socket path, without parsing a URI.
    ///
    /// - Throws: ``WorkloadAPIAddressError`` when `path` is empty or too long for a Unix socket.
    public init(path: String) throws(WorkloadAPIAddressError) {
        guard !path.isEmpty else { throw .invalid(path, reason: "the socket path is empty") }
        guard !path.utf8.contains(0) else { throw .invalid(path, reason: "the socket path contains a NUL byte") }
        guard path.utf8.count <= Self.maximumPathLength else {
            throw .invalid(path, reason: "the socket path is longer than \(Self.maximumPathLength) bytes, the limit for Unix sockets")
        }
        self.path = path
    }

    /// The address in `SPIFFE_ENDPOINT_SOCKET`.
    ///
    /// - Parameter environment: The environment to read; the process environment by default.
    /// - Throws: ``WorkloadAPIAddressError/notConfigured`` when the variable is unset or empty,
    ///   ``WorkloadAPIAddressError/invalid(_:reason:)`` when it cannot be parsed.
    public static func fromEnvironment(_ environment: [String: String]? = nil) throws(WorkloadAPIAddressError) -> WorkloadAPIAddress {
        let value: String?
        if let environment {
            value = environment[Self.environmentVariable]
        } else {
            value = getenv(Self.environmentVariable).map { String(cString: $0) }
        }
        guard let value, !value.isEmpty else { throw .notConfigured }
        return try WorkloadAPIAddress(value)
    }

    /// The address given explicitly, or else the one in `SPIFFE_ENDPOINT_SOCKET` — the lookup
    /// every workload command does.
    ///
    /// - Throws: ``WorkloadAPIAddressError``.
    public static func resolve(_ explicit: String?, environment: [String: String]? = nil) throws(WorkloadAPIAddressError) -> WorkloadAPIAddress {
        if let explicit, !explicit.isEmpty {
            return try WorkloadAPIAddress(explicit)
        }
        return try fromEnvironment(environment)
    }

    /// The address as a `unix://` URI when the path is absolute, else the plain path.
    public var uri: String {
        path.hasPrefix("/") ? "unix://\(path)" : path
    }

    /// The socket path.
    public var description: String { path }
}

/// Why a Workload API address could not be used.
public enum WorkloadAPIAddressError: Error, Sendable, Hashable, CustomStringConvertible {
    /// No address was given and `SPIFFE_ENDPOINT_SOCKET` is not set.
    case notConfigured
    /// The address could not be parsed.
    case invalid(String, reason: String)

    /// A one-line description of the error.
    public var description: String {
        switch self {
        case .notConfigured:
            return "no Workload API socket given: pass --socket or set \(WorkloadAPIAddress.environmentVariable)"
        case .invalid(let value, let reason):
            return "invalid Workload API socket address '\(value)': \(reason)"
        }
    }
}
