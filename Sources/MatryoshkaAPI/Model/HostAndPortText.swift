/// `HOST:PORT` as text, with IPv6 hosts in brackets.
public enum HostAndPortText {
    public static func format(host: String, port: Int) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
