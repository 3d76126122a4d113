import Foundation

/// A fresh directory for one deployment, removed at the end.
struct WorkDirectory: Sendable {
    let path: String

    /// Creates `<root>/matryoshka-load-XXXXXX`. Unix socket paths must stay short (108 bytes),
    /// so keep `root` short too.
    init(root: String) throws {
        var template = Array((root + "/mload-XXXXXX").utf8CString)
        guard let created = mkdtemp(&template) else {
            throw LoadError.cannotStart("cannot create a directory in \(root): \(String(cString: strerror(errno)))")
        }
        path = String(cString: created)
    }

    func file(_ name: String) -> String { path + "/" + name }

    @discardableResult
    func subdirectory(_ name: String) throws -> String {
        let directory = file(name)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}
