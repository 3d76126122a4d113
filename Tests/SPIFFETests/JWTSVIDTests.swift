import Foundation
import SPIFFE
import Testing

@Suite("JWT-SVID parsing")
struct JWTSVIDTests {
    @Test func parsesHeaderAndClaimsWithoutVerifying() throws {
        var claims = JWTKeys.claims()
        claims["nbf"] = .integer(Int64(JWTKeys.now.timeIntervalSince1970 - 1))
        claims["lineage"] = .array([.object(["spiffe_id": .string("spiffe://example.org/node")])])
        claims["ratio"] = .double(0.5)
        let token = try JWTKeys.token(header: JWTKeys.header(alg: "ES256", kid: "p256"), claims: claims)
        let svid = try JWTSVID(parsing: token)
        #expect(svid.token == token)
        #expect(svid.spiffeID.description == JWTKeys.subject)
        #expect(svid.audience == [JWTKeys.audience])
        #expect(svid.expiry == JWTKeys.now.addingTimeInterval(300))
        #expect(svid.issuedAt == JWTKeys.now)
        #expect(svid.notBefore == JWTKeys.now.addingTimeInterval(-1))
        #expect(svid.algorithm == "ES256")
        #expect(svid.keyID == "p256")
        #expect(svid.header["typ"] == .string("JWT"))
        #expect(svid.claims["lineage"] == claims["lineage"])
        #expect(svid.claims["ratio"]?.numberValue == 0.5)
    }

    @Test func fractionalExpiryIsANumber() throws {
        var claims = JWTKeys.claims()
        claims["exp"] = .double(JWTKeys.now.timeIntervalSince1970 + 0.5)
        let svid = try JWTSVID(parsing: try JWTKeys.token(claims: claims))
        #expect(svid.expiry == JWTKeys.now.addingTimeInterval(0.5))
    }

    @Test func parsingDoesNotCheckTheSignature() throws {
        // Inspecting a token needs no key; trusting it does (see JWTSVIDVerifierTests).
        let token = try JWTKeys.token(key: .p256(.init()))
        #expect(try JWTSVID(parsing: token).keyID == "p256")
    }

    @Test func jsonValueDescriptionsAndAccessors() {
        let value = JSONValue.object(["b": .array([.integer(1), .bool(true), .null]), "a": .string("x")])
        #expect(value.description == "{a: x, b: [1, true, null]}")
        #expect(JSONValue.string("s").stringValue == "s")
        #expect(JSONValue.integer(1).stringValue == nil)
        #expect(JSONValue.string("1").numberValue == nil)
    }

    @Test func jsonValueRoundTrip() throws {
        let json = Data(#"{"a":[1,2.5,"x",true,null,{"b":{}}]}"#.utf8)
        let value = try JSONDecoder().decode(JSONValue.self, from: json)
        #expect(value == .object(["a": .array([.integer(1), .double(2.5), .string("x"), .bool(true), .null, .object(["b": .object([:])])])]))
        #expect(try JSONDecoder().decode(JSONValue.self, from: try JSONEncoder().encode(value)) == value)
    }

    @Test func algorithmsAllowedBySpec() {
        #expect(Set(JWTAlgorithmName.allowed) == ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512"])
    }
}
