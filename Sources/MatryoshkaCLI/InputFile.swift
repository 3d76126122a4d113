import Foundation
import SPIFFE

/// Reads the files operators hand to commands, with size limits and errors that name the file.
public enum InputFile {
    /// Reads `path` (`-` for standard input), refusing anything larger than `limit` bytes.
    public static func read(_ path: String, limit: Int = CertificateEncoding.maximumInputSize) throws(CLIError) -> [UInt8] {
        if path == "-" {
            let data = FileHandle.standardInput.readDataToEndOfFile()
            guard data.count <= limit else { throw CLIError("standard input is \(data.count) bytes; the limit is \(limit)") }
            return Array(data)
        }
        let url = URL(fileURLWithPath: path)
        let attributes: [FileAttributeKey: Any]
        do {
            attributes = try FileManager.default.attributesOfItem(atPath: url.path)
        } catch {
            throw CLIError("cannot read \(path): \(FileManager.default.fileExists(atPath: path) ? "permission denied" : "no such file")")
        }
        if let type = attributes[.type] as? FileAttributeType, type == .typeDirectory {
            throw CLIError("cannot read \(path): it is a directory")
        }
        if let size = attributes[.size] as? Int, size > limit {
            throw CLIError("\(path) is \(size) bytes; the limit is \(limit)")
        }
        do {
            let data = try Data(contentsOf: url)
            guard data.count <= limit else { throw CLIError("\(path) is \(data.count) bytes; the limit is \(limit)") }
            return Array(data)
        } catch let error as CLIError {
            throw error
        } catch {
            throw CLIError("cannot read \(path): \(error.localizedDescription)")
        }
    }

    /// A token given on the command line: the token itself, `-` for standard input, or `@FILE`.
    public static func token(_ argument: String) throws(CLIError) -> String {
        if argument == "-" || argument.hasPrefix("@") {
            let bytes = try read(argument == "-" ? "-" : String(argument.dropFirst()), limit: JWTSVID.maximumLength + 1024)
            return String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return argument
    }
}
