import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Free TCP ports on 127.0.0.1: the kernel picks one (bind to port 0), the socket is closed and
/// the number handed out. A port is handed out at most once per test run, so tests running in
/// parallel never get the same one. Another process may still take it in between; callers that
/// bind retry with a new port when the address is in use.
enum FreePort {
    private static let handedOut = Mutex<Set<Int>>([])

    static func allocate() throws -> Int {
        for _ in 0..<50 {
            let port = try kernelChosenPort()
            let fresh = handedOut.withLock { $0.insert(port).inserted }
            if fresh { return port }
        }
        throw TestProcessError(description: "no free loopback port found")
    }

    private static func kernelChosenPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestProcessError(description: "socket(): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0 else { throw TestProcessError(description: "bind(127.0.0.1:0): \(String(cString: strerror(errno)))") }
        var actual = sockaddr_in()
        var actualLength = length
        let named = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &actualLength) }
        }
        guard named == 0 else { throw TestProcessError(description: "getsockname: \(String(cString: strerror(errno)))") }
        return Int(UInt16(bigEndian: actual.sin_port))
    }
}
