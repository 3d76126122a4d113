import Testing
import WorkloadAPI

@Suite("JWT profile over a real socket")
struct JWTTests {
    @Test("FetchJWTSVID returns the provider's SVIDs for the audiences")
    func fetchJWTSVIDs() async throws {
        let provider = try TestIdentityProvider.standard(pki: TestPKI())
        let (all, one) = try await withTestServer(provider: provider) { _, address in
            try await WorkloadAPIClient.withClient(address: address) { client in
                let all = try await client.fetchJWTSVIDs(audience: ["aud1", "aud2"])
                let one = try await client.fetchJWTSVID(audience: ["aud1"], spiffeID: "spiffe://example.org/workload")
                return (all, one)
            }
        }
        #expect(all == [JWTSVIDMaterial(spiffeID: "spiffe://example.org/workload", token: "spiffe://example.org/workload|aud1,aud2")])
        #expect(one.token == "spiffe://example.org/workload|aud1")
    }

    @Test("FetchJWTSVID with an empty audience gets InvalidArgument")
    func emptyAudience() async throws {
        let provider = try TestIdentityProvider.standard(pki: TestPKI())
        let (none, blank) = try await withTestServer(provider: provider) { _, address in
            try await WorkloadAPIClient.withClient(address: address) { client in
                (
                    await clientError { try await client.fetchJWTSVIDs(audience: []) },
                    await clientError { try await client.fetchJWTSVIDs(audience: [""]) }
                )
            }
        }
        #expect(none == .invalidArgument("audience must be specified"))
        #expect(none?.description == "invalid argument: audience must be specified")
        guard case .invalidArgument? = blank else {
            Issue.record("expected invalidArgument, got \(String(describing: blank))")
            return
        }
    }

    @Test("FetchJWTSVID for a malformed SPIFFE ID gets InvalidArgument; for someone else's, PermissionDenied")
    func requestedSPIFFEID() async throws {
        let provider = try TestIdentityProvider.standard(pki: TestPKI())
        let (malformed, foreign) = try await withTestServer(provider: provider) { _, address in
            try await WorkloadAPIClient.withClient(address: address) { client in
                (
                    await clientError { try await client.fetchJWTSVIDs(audience: ["a"], spiffeID: "https://example.org/x") },
                    await clientError { try await client.fetchJWTSVIDs(audience: ["a"], spiffeID: "spiffe://example.org/other") }
                )
            }
        }
        guard case .invalidArgument? = malformed, case .permissionDenied? = foreign else {
            Issue.record("got \(String(describing: malformed)) and \(String(describing: foreign))")
            return
        }
    }

    @Test("FetchJWTBundles returns the JWKS by trust domain, and a watch sees changes")
    func jwtBundles() async throws {
        let pki = try TestPKI()
        let provider = try TestIdentityProvider.standard(pki: pki)
        let changed = JWTBundleSet(bundles: ["spiffe://example.org": pki.jwks, "spiffe://other.org": Array(#"{"keys":[]}"#.utf8)])
        let (fetched, watched) = try await withTestServer(provider: provider) { _, address in
            try await WorkloadAPIClient.withClient(address: address) { client in
                let fetched = try await client.fetchJWTBundles()
                let collector = StreamCollector<JWTBundleSet>()
                let watched = try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { await collector.consume(client.watchJWTBundles()) }
                    _ = try await collector.waitForElements(1)
                    await provider.publishJWTBundles(changed)
                    let received = try await collector.waitForElements(2)
                    group.cancelAll()
                    return received
                }
                return (fetched, watched)
            }
        }
        #expect(fetched == JWTBundleSet(bundles: ["spiffe://example.org": pki.jwks]))
        #expect(watched.first == fetched)
        #expect(watched.last == changed)
    }

    @Test("ValidateJWTSVID returns SPIFFE ID and claims; an invalid token gets InvalidArgument with the reason")
    func validate() async throws {
        let provider = try TestIdentityProvider.standard(pki: TestPKI())
        let claims: [String: ValidatedJWT.ClaimValue] = [
            "sub": .string("spiffe://example.org/workload"),
            "aud": .array([.string("test-audience")]),
            "exp": .number(1_900_000_000),
            "nested": .object(["flag": .bool(true), "none": .null]),
        ]
        await provider.setValidated(ValidatedJWT(spiffeID: "spiffe://example.org/workload", claims: claims))
        let (valid, invalid, emptyToken, emptyAudience) = try await withTestServer(provider: provider) { _, address in
            try await WorkloadAPIClient.withClient(address: address) { client in
                (
                    try await client.validateJWTSVID("valid.jwt.token", audience: "test-audience"),
                    await clientError { try await client.validateJWTSVID("forged.jwt.token", audience: "test-audience") },
                    await clientError { try await client.validateJWTSVID("", audience: "test-audience") },
                    await clientError { try await client.validateJWTSVID("valid.jwt.token", audience: "") }
                )
            }
        }
        #expect(valid.spiffeID == "spiffe://example.org/workload")
        #expect(valid.claims == claims)
        #expect(invalid?.description == "invalid argument: invalid JWT-SVID: token has an invalid signature")
        #expect(emptyToken == .invalidArgument("svid must be specified"))
        #expect(emptyAudience == .invalidArgument("audience must be specified"))
    }
}
