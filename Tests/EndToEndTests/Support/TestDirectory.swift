import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A fresh directory `/tmp/mtk-XXXXXX` for one test, removed afterwards.
///
/// It is short on purpose: Unix socket paths must stay under 108 bytes. It is mode 0755 so that
/// a workload running as another user can reach a socket in it (data directories inside it are
/// created 0700 by the server and agent themselves). Set `MATRYOSHKA_E2E_KEEP=1` to keep it for
/// inspection.
struct TestDirectory: Sendable {
    let path: String

    init() throws {
        var template = Array("/tmp/mtk-XXXXXX".utf8CString)
        let created = template.withUnsafeMutableBufferPointer { buffer in mkdtemp(buffer.baseAddress!) }
        guard let created else {
            throw TestProcessError(description: "mkdtemp in /tmp failed: \(String(cString: strerror(errno)))")
        }
        path = String(cString: created)
        chmod(path, 0o755)
    }

    /// A path inside the directory.
    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    /// Creates a subdirectory (mode 0755) and returns its path.
    func subdirectory(_ name: String) throws -> String {
        let directory = file(name)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        return directory
    }

    /// Writes `text` to a file in the directory and returns its path.
    @discardableResult
    func write(_ name: String, _ text: String, mode: Int = 0o644) throws -> String {
        let target = file(name)
        try Data(text.utf8).write(to: URL(fileURLWithPath: target))
        chmod(target, mode_t(mode))
        return target
    }

    static var keep: Bool { ProcessInfo.processInfo.environment["MATRYOSHKA_E2E_KEEP"] == "1" }

    func remove() {
        if Self.keep {
            FileHandle.standardError.write(Data("end-to-end test directory kept: \(path)\n".utf8))
            return
        }
        try? FileManager.default.removeItem(atPath: path)
    }
}
