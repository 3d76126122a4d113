import Crypto
import Foundation
import SPIFFE

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The `unix` workload attestor: `unix:uid`, `unix:gid` (from the kernel), `unix:user`,
/// `unix:group`, `unix:supplementary_gid`, `unix:path` (the executable) and `unix:sha256`
/// (of the executable's contents), read from `/proc`.
///
/// To guard against pid reuse, the process's start time is read before and after attestation and
/// must not change; the executable is hashed through `/proc/<pid>/exe`, which names the file the
/// process is running even if the path was replaced since.
public actor UnixWorkloadAttestor: WorkloadAttestor {
    /// Executables larger than this are not hashed (no `unix:sha256` selector).
    public let maximumHashedSize: Int
    private let procRoot: String
    private var hashCache: [FileIdentity: String] = [:]

    public init(maximumHashedSize: Int = 1 << 30, procRoot: String = "/proc") {
        self.maximumHashedSize = maximumHashedSize
        self.procRoot = procRoot
    }

    public func attest(_ process: PeerProcess) async throws(WorkloadAttestationError) -> [Selector] {
        let startTime = try self.startTime(of: process.pid)
        var selectors = [
            Selector(trusted: "unix", "uid:\(process.uid)"),
            Selector(trusted: "unix", "gid:\(process.gid)"),
        ]
        if let user = Self.userName(uid: process.uid) { selectors.append(Selector(trusted: "unix", "user:\(user)")) }
        if let group = Self.groupName(gid: process.gid) { selectors.append(Selector(trusted: "unix", "group:\(group)")) }
        for gid in try supplementaryGroups(of: process.pid) where gid != process.gid {
            selectors.append(Selector(trusted: "unix", "supplementary_gid:\(gid)"))
            if let group = Self.groupName(gid: gid) { selectors.append(Selector(trusted: "unix", "supplementary_group:\(group)")) }
        }
        let exe = "\(procRoot)/\(process.pid)/exe"
        if var path = ProcFS.symbolicLink(exe) {
            if path.hasSuffix(" (deleted)") { path.removeLast(" (deleted)".count) }
            selectors.append(Selector(trusted: "unix", "path:\(path)"))
        }
        if let digest = try hashExecutable(exe, pid: process.pid) {
            selectors.append(Selector(trusted: "unix", "sha256:\(digest)"))
        }
        guard try self.startTime(of: process.pid) == startTime else { throw .processReplaced(pid: process.pid) }
        return selectors.sorted()
    }

    /// The process's start time in clock ticks since boot (field 22 of `/proc/<pid>/stat`).
    public nonisolated func startTime(of pid: Int32) throws(WorkloadAttestationError) -> UInt64 {
        guard let bytes = ProcFS.read("\(procRoot)/\(pid)/stat") else { throw .processGone(pid: pid) }
        guard let stat = ProcFS.parseStat(bytes) else { throw .unreadable(pid: pid, what: "stat", reason: "unexpected format") }
        return stat.startTime
    }

    func supplementaryGroups(of pid: Int32) throws(WorkloadAttestationError) -> [UInt32] {
        guard let groups = ProcFS.supplementaryGroups(of: pid, procRoot: procRoot) else { throw .processGone(pid: pid) }
        return groups
    }

    func hashExecutable(_ path: String, pid: Int32) throws(WorkloadAttestationError) -> String? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        let identity = FileIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino), size: Int64(info.st_size),
                                    modified: Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec))
        if let cached = hashCache[identity] { return cached }
        guard identity.size <= Int64(maximumHashedSize), let handle = FileHandle(forReadingAtPath: path) else { return nil }
        let digest: String
        do {
            digest = try Self.sha256(of: handle)
        } catch {
            throw .unreadable(pid: pid, what: "executable", reason: error.localizedDescription)
        }
        if hashCache.count > 4096 { hashCache.removeAll() }
        hashCache[identity] = digest
        return digest
    }

    /// Lower-case hex SHA-256 of a file's contents, or nil if it cannot be read.
    public static func sha256(ofFile path: String) -> String? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        return try? sha256(of: handle)
    }

    /// Lower-case hex SHA-256 of what is left to read from `handle`, read a megabyte at a time;
    /// closes it.
    private static func sha256(of handle: FileHandle) throws -> String {
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
        return Hex.encode(hasher.finalize())
    }

    static func userName(uid: UInt32) -> String? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getpwuid_r(uid, &entry, &buffer, buffer.count, &result) == 0, result != nil, let name = entry.pw_name else { return nil }
        return String(cString: name)
    }

    static func groupName(gid: UInt32) -> String? {
        var entry = group()
        var result: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getgrgid_r(gid, &entry, &buffer, buffer.count, &result) == 0, result != nil, let name = entry.gr_name else { return nil }
        return String(cString: name)
    }
}

/// Identifies a file's contents cheaply: same device, inode, size and mtime means same bytes.
struct FileIdentity: Hashable {
    let device: UInt64
    let inode: UInt64
    let size: Int64
    let modified: Int64
}
