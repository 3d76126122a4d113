#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads the few facts about a process that workload attestation needs from `/proc`, straight
/// from the bytes: it runs on every Workload API call, so no Foundation file reading, no string
/// decoding and no splitting into lines.
public enum ProcFS {
    /// What `/proc/<pid>/stat` says about the process.
    public struct Stat: Sendable, Hashable {
        public var parentPID: Int32
        /// Clock ticks since boot at which the process started (field 22): with the pid, it
        /// names one process for the machine's uptime.
        public var startTime: UInt64
    }

    /// The whole file (procfs files have no size; they are read until the end), or nil if it
    /// cannot be opened. At most `limit` bytes.
    public static func read(_ path: String, limit: Int = 1 << 16) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while bytes.count < limit {
            let count = chunk.withUnsafeMutableBytes { systemRead(fd, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { return count == 0 ? bytes : nil }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return bytes
    }

    private static func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
        #if canImport(Glibc)
        Glibc.read(fd, buffer, count)
        #elseif canImport(Musl)
        Musl.read(fd, buffer, count)
        #else
        Darwin.read(fd, buffer, count)
        #endif
    }

    /// Where a symbolic link such as `/proc/<pid>/exe` points, or nil.
    public static func symbolicLink(_ path: String) -> String? {
        var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = buffer.withUnsafeMutableBytes { readlink(path, $0.baseAddress!.assumingMemoryBound(to: CChar.self), $0.count) }
        guard count > 0, count < buffer.count else { return nil }
        return String(decoding: buffer[0..<count], as: UTF8.self)
    }

    /// `/proc/<pid>/stat`, or nil if the process is gone or the file is not as expected.
    public static func stat(of pid: Int32, procRoot: String = "/proc") -> Stat? {
        guard let bytes = read("\(procRoot)/\(pid)/stat") else { return nil }
        return parseStat(bytes)
    }

    /// Parses a `stat` line. The command name (field 2) is in parentheses and may contain
    /// anything, spaces and ')' included, so the fields are counted from the last ')'.
    static func parseStat(_ bytes: [UInt8]) -> Stat? {
        guard let close = bytes.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        // After ')': field 3 (state) is the first, so ppid (4) is the second and starttime (22)
        // the twentieth.
        var fields: [UInt64] = []
        var field = 0
        var value: UInt64 = 0
        var inField = false
        var numeric = true
        for byte in bytes[(close + 1)...] {
            if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\n") {
                if inField {
                    field += 1
                    if field == 2 || field == 20 {
                        guard numeric else { return nil }
                        fields.append(value)
                        if field == 20 { break }
                    }
                }
                inField = false
                value = 0
                numeric = true
                continue
            }
            inField = true
            if byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
                let (product, overflow) = value.multipliedReportingOverflow(by: 10)
                guard !overflow else { return nil }
                value = product &+ UInt64(byte - UInt8(ascii: "0"))
            } else {
                numeric = false
            }
        }
        if inField, field == 19, numeric {
            fields.append(value)
        }
        guard fields.count == 2, let parent = Int32(exactly: fields[0]) else { return nil }
        return Stat(parentPID: parent, startTime: fields[1])
    }

    /// The supplementary group IDs of `/proc/<pid>/status`, or nil if the process is gone.
    public static func supplementaryGroups(of pid: Int32, procRoot: String = "/proc") -> [UInt32]? {
        guard let bytes = read("\(procRoot)/\(pid)/status") else { return nil }
        return parseGroups(bytes)
    }

    /// The numbers on the `Groups:` line of a `status` file (none if it has no such line).
    static func parseGroups(_ bytes: [UInt8]) -> [UInt32] {
        let label = Array("Groups:".utf8)
        var lineStart = 0
        while lineStart < bytes.count {
            let lineEnd = bytes[lineStart...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
            if lineEnd - lineStart >= label.count, bytes[lineStart..<(lineStart + label.count)].elementsEqual(label) {
                var groups: [UInt32] = []
                var value: UInt64 = 0
                var inNumber = false
                for byte in bytes[(lineStart + label.count)..<lineEnd] {
                    if byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
                        value = value &* 10 &+ UInt64(byte - UInt8(ascii: "0"))
                        inNumber = true
                    } else {
                        if inNumber, let gid = UInt32(exactly: value) { groups.append(gid) }
                        value = 0
                        inNumber = false
                    }
                }
                if inNumber, let gid = UInt32(exactly: value) { groups.append(gid) }
                return groups
            }
            lineStart = lineEnd + 1
        }
        return []
    }
}
