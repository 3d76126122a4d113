import GRPCNIOTransportHTTP2

/// The gRPC target for `host:port`: IP literals are addressed directly (an IP address is not a
/// valid TLS SNI name), anything else is resolved by DNS.
public enum ServerTarget {
    public static func make(host: String, port: Int) -> any ResolvableTarget {
        if host.contains(":") { return .ipv6(address: host, port: port) }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        if octets.count == 4, octets.allSatisfy({ UInt8($0) != nil }) { return .ipv4(address: host, port: port) }
        return .dns(host: host, port: port)
    }
}
