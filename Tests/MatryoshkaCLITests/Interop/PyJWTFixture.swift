import Foundation
import Testing

/// JWT-SVIDs and a JWKS made by PyJWT with Python `cryptography` keys, built once per suite.
struct PyJWTFixture: Sendable {
    let directory: URL
    let tokens: [String: String]

    @TaskLocal static var current: PyJWTFixture?

    static func get() throws -> PyJWTFixture {
        try #require(current, "the suite needs the .pyJWTFixture trait")
    }

    var jwks: String { directory.path("jwks.json") }

    func token(_ name: String) throws -> String {
        try #require(tokens[name], "python made no token named \(name)")
    }

    static let subject = "spiffe://example.org/workload"
    static let audience = "spiffe://example.org/service"

    static func make() async throws -> PyJWTFixture {
        try await Matryoshka.requirePython()
        let directory = try makeTemporaryDirectory()
        let result = try await Matryoshka.python(["make-jwt", directory.path])
        guard result.succeeded else {
            try? FileManager.default.removeItem(at: directory)
            throw SubprocessError(description: "python could not make the tokens: \(result)")
        }
        let data = try Data(contentsOf: directory.appendingPathComponent("tokens.json"))
        return PyJWTFixture(directory: directory, tokens: try JSONDecoder().decode([String: String].self, from: data))
    }
}

struct PyJWTFixtureTrait: SuiteTrait, TestScoping {
    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        let fixture = try await PyJWTFixture.make()
        defer { try? FileManager.default.removeItem(at: fixture.directory) }
        try await PyJWTFixture.$current.withValue(fixture) { try await function() }
    }
}

extension Trait where Self == PyJWTFixtureTrait {
    static var pyJWTFixture: Self { Self() }
}
