import Testing
import WorkloadAPI

@Suite("X.509 profile over a real socket")
struct X509Tests {
    @Test("FetchX509SVID returns what the provider gave, byte for byte")
    func fetchX509Context() async throws {
        let pki = try TestPKI()
        let provider = try TestIdentityProvider.standard(pki: pki)
        let expected = try #require(await provider.x509Context)
        let context = try await withTestServer(provider: provider) { _, address in
            try await WorkloadAPIClient.withClient(address: address) { client in
                try await client.fetchX509Context()
            }
        }
        #expect(context == expected)
        #expect(context.svids.first?.spiffeID == "spiffe://example.org/workload")
        #expect(context.svids.first?.bundle == [pki.caDER])
        #expect(context.federatedBundles["spiffe://other.org"] == [pki.caDER])
    }

    @Test("a one-shot fetch ends the provider's stream when the client cancels, though the connection stays open")
    func oneShotFetchReleasesTheStream() async throws {
        // SPIFFE clients' FetchX509Context reads the first message and cancels the stream. gRPC
        // does not cancel the handler's task for that; were the cancellation not seen, every fetch
        // would leave a handler and the provider's stream waiting for the next update.
        let pki = try TestPKI()
        let provider = try TestIdentityProvider.standard(pki: pki)
        try await withTestServer(provider: provider) { _, address in
            try await WorkloadAPIClient.withClient(address: address) { client in
                for _ in 0..<3 { _ = try await client.fetchX509Context() }
                let deadline = ContinuousClock.now + .seconds(10)
                while await provider.x509StreamsEnded < 3, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(20))
                }
                #expect(await provider.x509StreamsEnded == 3)
            }
        }
    }

    @Test("a certificate chain with intermediates survives concatenation and splitting")
    func chainRoundTrip() async throws {
        let pki = try TestPKI()
        var svid = try pki.svid(path: "/chain", hint: "internal")
        svid.certificateChain.append(pki.caDER)
        let provider = try TestIdentityProvider.standard(pki: pki)
        await provider.setX509Context(X509SVIDSet(svids: [svid, try pki.svid(path: "/second")]))
        let context = try await withTestServer(provider: provider) { _, address in
            try await WorkloadAPIClient.withClient(address: address) { try await $0.fetchX509Context() }
        }
        #expect(context.svids.count == 2)
        #expect(context.svids[0].certificateChain.count == 2)
        #expect(context.svids[0] == svid)
        #expect(context.svids[0].hint == "internal")
    }

    @Test("a watch sees the first message at once and a second when the provider rotates")
    func watchSeesRotation() async throws {
        let pki = try TestPKI()
        let provider = try TestIdentityProvider.standard(pki: pki)
        let rotated = X509SVIDSet(svids: [try pki.svid(path: "/workload")], crls: [])
        let messages = try await withTestServer(provider: provider) { _, address in
            try await WorkloadAPIClient.withClient(address: address) { client in
                let collector = StreamCollector<X509SVIDSet>()
                return try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { await collector.consume(client.watchX509Context()) }
                    _ = try await collector.waitForElements(1)
                    await provider.publishX509(rotated)
                    let received = try await collector.waitForElements(2)
                    group.cancelAll()
                    return received
                }
            }
        }
        #expect(messages.count == 2)
        #expect(messages[1] == rotated)
        #expect(messages[0] != messages[1])
    }

    @Test("a provider error mid-stream ends the watch with the mapped status")
    func providerErrorEndsStream() async throws {
        let pki = try TestPKI()
        let provider = try TestIdentityProvider.standard(pki: pki)
        let failure = try await withTestServer(provider: provider) { _, address in
            try await WorkloadAPIClient.withClient(address: address) { client in
                let collector = StreamCollector<X509SVIDSet>()
                return try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { await collector.consume(client.watchX509Context()) }
                    _ = try await collector.waitForElements(1)
                    await provider.failX509Streams(WorkloadAPIError.unavailable("SVID cache is being rebuilt"))
                    return try await collector.waitForEnd()
                }
            }
        }
        let error = try #require(failure as? WorkloadAPIClientError)
        guard case .agentUnavailable(_, let detail) = error else {
            Issue.record("expected agentUnavailable, got \(error)")
            return
        }
        #expect(detail.contains("SVID cache is being rebuilt"))
    }

    @Test("an update without SVIDs (revocation) ends the watch with PermissionDenied")
    func revocationEndsStream() async throws {
        let pki = try TestPKI()
        let provider = try TestIdentityProvider.standard(pki: pki)
        let failure = try await withTestServer(provider: provider) { _, address in
            try await WorkloadAPIClient.withClient(address: address) { client in
                let collector = StreamCollector<X509SVIDSet>()
                return try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { await collector.consume(client.watchX509Context()) }
                    _ = try await collector.waitForElements(1)
                    await provider.publishX509(X509SVIDSet(svids: []))
                    return try await collector.waitForEnd()
                }
            }
        }
        guard case .permissionDenied(let message)? = failure as? WorkloadAPIClientError else {
            Issue.record("expected permissionDenied, got \(String(describing: failure))")
            return
        }
        #expect(message.contains("no X509-SVID"))
    }

    @Test("FetchX509Bundles returns the bundles and CRLs")
    func fetchX509Bundles() async throws {
        let pki = try TestPKI()
        let provider = try TestIdentityProvider.standard(pki: pki)
        let bundles = try await withTestServer(provider: provider) { _, address in
            try await WorkloadAPIClient.withClient(address: address) { try await $0.fetchX509Bundles() }
        }
        #expect(bundles.bundles == ["spiffe://example.org": [pki.caDER]])
        #expect(bundles.crls == [[0x30, 0x00]])
    }

    @Test("a caller with no identity gets PermissionDenied")
    func noIdentity() async throws {
        let pki = try TestPKI()
        let provider = try TestIdentityProvider.standard(pki: pki)
        await provider.setX509Context(nil)
        let error = try await withTestServer(provider: provider) { _, address in
            try await WorkloadAPIClient.withClient(address: address) { client in
                await clientError { try await client.fetchX509Context() }
            }
        }
        guard case .permissionDenied? = error else {
            Issue.record("expected permissionDenied, got \(String(describing: error))")
            return
        }
        #expect(error?.description == "permission denied: no identity for this caller")
    }
}
