import Foundation
import Logging
import Testing

@testable import MatryoshkaCLI

/// `--log-format json`: one JSON object per line, that any JSON parser reads back.
@Suite("JSON log lines")
struct JSONLogHandlerTests {
    @Test func aLineIsOneJSONObjectWithEveryField() throws {
        let line = JSONLogHandler.line(
            label: "matryoshka.server", level: .notice, message: "server \"ready\"\nnow",
            metadata: ["node_api": "127.0.0.1:8081", "list": .array(["a", "b"]), "nested": .dictionary(["k": "v"]), "control": "\u{1}"],
            source: "Server", error: nil, time: Date(timeIntervalSince1970: 1_700_000_000.5))
        #expect(!line.contains("\n"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["level"] as? String == "notice")
        #expect(object["label"] as? String == "matryoshka.server")
        #expect(object["message"] as? String == "server \"ready\"\nnow")
        #expect(object["source"] as? String == "Server")
        #expect((object["time"] as? String)?.hasPrefix("2023-11-14T22:13:20.500") == true, "\(object["time"] ?? "")")
        let metadata = try #require(object["metadata"] as? [String: Any])
        #expect(metadata["node_api"] as? String == "127.0.0.1:8081")
        #expect(metadata["list"] as? [String] == ["a", "b"])
        #expect((metadata["nested"] as? [String: String]) == ["k": "v"])
        #expect(metadata["control"] as? String == "\u{1}")
        #expect(object["error"] == nil)
    }

    @Test func keysAreSortedAndErrorsIncluded() {
        let line = JSONLogHandler.line(label: "l", level: .error, message: "m", metadata: [:], source: "s", error: "boom", time: Date(timeIntervalSince1970: 0))
        #expect(line == #"{"error":"boom","label":"l","level":"error","message":"m","source":"s","time":"1970-01-01T00:00:00.000Z"}"#)
    }
}
