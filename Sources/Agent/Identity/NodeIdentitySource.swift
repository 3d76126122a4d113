import Attestation
import Authority
import Foundation
import GRPCCore
import Logging
import MatryoshkaAPI
import SPIFFE
import X509

/// A node agent's identity: attested once (join token), kept in the data directory across
/// restarts, renewed through the server at half-life.
struct NodeIdentitySource: IdentitySource {
    let config: AgentConfig
    let store: AgentStateStore
    let logger: Logger

    func start() async throws -> (identity: LayerIdentity, bundle: SPIFFEBundle) {
        try store.prepare()
        let state = try await obtainIdentity()
        return (LayerIdentity(chain: state.chain, key: state.key.certificatePrivateKey), state.bundle)
    }

    func watch(feed: IdentityFeed) async throws {
        // Nothing outside the connection changes a node agent's identity.
        try await Task.sleep(for: .seconds(Int64.max / 2))
    }

    func renew(identity: LayerIdentity, client: NodeClient, feed: IdentityFeed) async throws {
        let leaf = identity.chain[0]
        // Half of the life it was issued with; notBefore is backdated by CertificateAuthority.backdate.
        let issued = min(leaf.notValidBefore.addingTimeInterval(CertificateAuthority.backdate), Date())
        let renewAt = issued.addingTimeInterval(leaf.notValidAfter.timeIntervalSince(issued) / 2)
        try await Task.sleep(for: .seconds(max(0, renewAt.timeIntervalSinceNow)))
        let key = try SigningKey(generating: .ecP256)
        let chain = try await client.renew(key: key)
        try store.saveIdentity(chain: chain, key: key)
        logger.info("agent SVID renewed", metadata: ["serial": "\(chain[0].serialNumber.hexString)", "expires": "\(chain[0].notValidAfter.formatted(.iso8601))"])
        await feed.update(LayerIdentity(chain: chain, key: key.certificatePrivateKey))
    }

    func bundleChanged(_ bundle: SPIFFEBundle) async {
        do {
            try store.saveBundle(bundle)
        } catch {
            logger.warning("cannot save the new trust bundle", metadata: ["error": "\(error)"])
        }
    }

    /// The saved identity if it is still valid, else a new one by attestation.
    private func obtainIdentity() async throws -> AgentStateStore.State {
        if let saved = try store.load(trustDomain: config.trustDomain) {
            let expiry = saved.chain[0].notValidAfter
            if expiry > Date().addingTimeInterval(5) {
                logger.info("using saved agent identity", metadata: [
                    "agent_id": "\((try? X509SVID.spiffeID(of: saved.chain[0]).description) ?? "?")",
                    "expires": "\(expiry.formatted(.iso8601))",
                ])
                return saved
            }
            guard config.joinToken != nil else {
                throw AgentError("the saved agent SVID expired at \(expiry.formatted(.iso8601)); the agent must attest again (start it with a new --join-token)")
            }
            logger.warning("saved agent SVID has expired; attesting again")
        }
        guard let token = config.joinToken else {
            throw AgentError("no agent identity in \(config.dataDirectory): start the agent with --join-token (from `matryoshka server token generate`)")
        }
        guard let bundlePath = config.bootstrapBundlePath else {
            throw AgentError("--trust-bundle is required for the first attestation, to authenticate the server")
        }
        let bootstrapBundle: SPIFFEBundle
        do {
            bootstrapBundle = try BundleFile.parse(Array(try Data(contentsOf: URL(fileURLWithPath: bundlePath))), trustDomain: config.trustDomain)
        } catch {
            throw AgentError("cannot read trust bundle \(bundlePath): \(error)")
        }
        return try await attest(with: JoinTokenAttestorClient(token: token), bootstrapBundle: bootstrapBundle)
    }

    private func attest(with attestor: any NodeAttestorClient, bootstrapBundle: SPIFFEBundle) async throws -> AgentStateStore.State {
        let key = try SigningKey(generating: .ecP256)
        let reloader = SVIDCertificateReloader()
        try reloader.update(chain: [try CertificateRequests.bootstrapCertificate(for: key)], key: key.certificatePrivateKey)
        let diagnostics = TLSDiagnostics()
        let deadline = ContinuousClock.now.advanced(by: config.startupTimeout)
        var delay = Duration.milliseconds(250)
        while true {
            do {
                let (id, chain, bundle) = try await NodeClient.withConnection(
                    host: config.serverHost, port: config.serverPort, serverID: config.serverID, identity: reloader,
                    bundle: { bootstrapBundle }, diagnostics: diagnostics
                ) { client in
                    try await client.attest(with: attestor, key: key)
                }
                try store.saveIdentity(chain: chain, key: key)
                try store.saveBundle(bundle)
                logger.notice("node attested", metadata: ["agent_id": "\(id)", "method": "\(attestor.type)", "expires": "\(chain[0].notValidAfter.formatted(.iso8601))"])
                return AgentStateStore.State(chain: chain, key: key, bundle: bundle)
            } catch let error as RPCError where error.code != .unavailable && error.code != .deadlineExceeded {
                throw AgentError("node attestation refused: \(error.message)")
            } catch {
                let reason = diagnostics.failure ?? MatryoshkaAgent.describe(error)
                if diagnostics.failure != nil || ContinuousClock.now >= deadline {
                    throw AgentError("cannot reach the server at \(config.serverHost):\(config.serverPort): \(reason)")
                }
                logger.info("server not reachable yet; retrying", metadata: ["reason": "\(reason)"])
                try await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(5))
            }
        }
    }
}
