import Foundation
import Logging

/// A swift-log handler that writes one JSON object per line, for log shippers and SIEMs:
///
/// ```json
/// {"label":"matryoshka.server","level":"notice","message":"server ready","metadata":{"node_api":"127.0.0.1:8081"},"source":"Server","time":"2026-01-02T03:04:05.678Z"}
/// ```
///
/// Keys are sorted; `metadata` holds the logger's, the provider's and the call's metadata (later
/// ones win), nested lists and dictionaries as JSON arrays and objects; `error` is present when
/// the call carried one. Lines are written whole, with one `write(2)`, so concurrent loggers never
/// interleave within a line.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public var logLevel: Logger.Level = .info
    private let label: String
    private let output: Output

    /// Where lines go.
    public enum Output: Sendable {
        case standardError
        case standardOutput

        var descriptor: Int32 {
            switch self {
            case .standardError: return STDERR_FILENO
            case .standardOutput: return STDOUT_FILENO
            }
        }
    }

    public init(label: String, output: Output = .standardError, metadataProvider: Logger.MetadataProvider? = LoggingSystem.metadataProvider) {
        self.label = label
        self.output = output
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let explicit = event.metadata { merged.merge(explicit) { $1 } }
        let line = Self.line(
            label: label, level: event.level, message: event.message.description, metadata: merged, source: event.source,
            error: event.error.map { String(describing: $0) }, time: Date())
        var bytes = Array(line.utf8)
        bytes.append(UInt8(ascii: "\n"))
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(output.descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written > 0 {
                    offset += written
                } else if written < 0, errno == EINTR {
                    continue
                } else {
                    return
                }
            }
        }
    }

    /// One log line (without the newline).
    static func line(
        label: String, level: Logger.Level, message: String, metadata: Logger.Metadata, source: String, error: String?, time: Date
    ) -> String {
        var object: [String: JSONLogValue] = [
            "time": .string(time.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))),
            "level": .string(level.rawValue),
            "label": .string(label),
            "message": .string(message),
            "source": .string(source),
        ]
        if !metadata.isEmpty { object["metadata"] = .object(metadata.mapValues(JSONLogValue.init)) }
        if let error { object["error"] = .string(error) }
        return JSONLogValue.object(object).text
    }
}

/// The JSON written by ``JSONLogHandler``: objects with sorted keys, minimal escaping.
enum JSONLogValue {
    case string(String)
    case array([JSONLogValue])
    case object([String: JSONLogValue])

    init(_ value: Logger.Metadata.Value) {
        switch value {
        case .string(let string): self = .string(string)
        case .stringConvertible(let convertible): self = .string(convertible.description)
        case .array(let values): self = .array(values.map(JSONLogValue.init))
        case .dictionary(let dictionary): self = .object(dictionary.mapValues(JSONLogValue.init))
        }
    }

    var text: String {
        switch self {
        case .string(let string): return Self.quoted(string)
        case .array(let values): return "[" + values.map(\.text).joined(separator: ",") + "]"
        case .object(let members):
            return "{" + members.keys.sorted().map { Self.quoted($0) + ":" + (members[$0]?.text ?? "null") }.joined(separator: ",") + "}"
        }
    }

    static func quoted(_ string: String) -> String {
        var result = "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case let control where control.value < 0x20 || control.value == 0x7F:
                result += String(format: "\\u%04x", control.value)
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}
