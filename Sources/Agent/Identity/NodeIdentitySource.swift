import Attestation
import Authority
import Foundation
import GRPCCore
import Logging
import MatryoshkaAPI
import SPIFFE
import X509

/// A node agent's identity: attested once (join token, TPM or x509pop), kept in the data directory
/// across restarts, renewed at half-life — through the server's RenewAgent (join token), or by
/// attesting afresh for the new key (TPM, x509pop: the first lineage link's evidence then binds
/// the key it names); with a TPM or x509pop, re-attested every `reattestInterval`.
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
        guard config.reattestInterval > .zero, config.tpmTCTI != nil || config.x509popCertificatePath != nil else {
            return try await renewAtHalfLife(identity: identity, client: client, feed: feed)
        }
        // Renewal and continuous attestation side by side; either ending ends this connection's turn.
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await renewAtHalfLife(identity: identity, client: client, feed: feed) }
            group.addTask { try await reattestLoop(identity: identity, client: client) }
            try await group.next()
            group.cancelAll()
        }
    }

    /// The TPM attestation client, when the agent attests with a TPM (with the saved AK, if any).
    var tpmClient: TPMAttestorClient? {
        config.tpmTCTI.map { TPMAttestorClient(tcti: $0, attestationKey: TPMAttestationKeyFile(directory: config.dataDirectory).load()) }
    }

    /// The x509pop attestation client, when the agent attests with a provisioned certificate (the
    /// files are read again each time, so a fixed file is picked up).
    var x509popClient: X509PoPAttestorClient? {
        get throws {
            guard let certificate = config.x509popCertificatePath, let key = config.x509popKeyPath else { return nil }
            do {
                return try X509PoPAttestorClient(certificatePath: certificate, keyPath: key)
            } catch {
                throw AgentError(error.message)
            }
        }
    }

    /// The client of the node attestation method that can prove the node's state again (TPM,
    /// x509pop); nil for a join token.
    var reattestorClient: (any NodeReattestorClient)? {
        get throws {
            if let tpm = tpmClient { return tpm }
            return try x509popClient
        }
    }

    /// Proves the node again every `reattestInterval` (a fresh TPM quote, or a fresh x509pop
    /// signature). A refusal (the server evicted this node) ends the connection with the server's
    /// `PermissionDenied`; a TPM or network hiccup, or x509pop files that cannot be read just now,
    /// is logged and tried again next time.
    private func reattestLoop(identity: LayerIdentity, client: NodeClient) async throws {
        let agentKey = identity.chain[0].publicKey
        while true {
            try await Task.sleep(for: config.reattestInterval)
            do {
                guard let reattestor = try reattestorClient else { continue }
                let result = try await client.reattest(with: reattestor, agentKey: agentKey)
                logger.info("node re-attested", metadata: ["result": "\(result.summary)"])
            } catch let error as RPCError where error.code == .permissionDenied {
                logger.error("the server refused this node's re-attestation: the node is untrusted and evicted", metadata: ["reason": "\(error.message)"])
                throw error
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                logger.warning("re-attestation did not complete; trying again later", metadata: ["reason": "\(MatryoshkaAgent.describe(error))"])
            }
        }
    }

    private func renewAtHalfLife(identity: LayerIdentity, client: NodeClient, feed: IdentityFeed) async throws {
        let leaf = identity.chain[0]
        // Half of the life it was issued with; notBefore is backdated by CertificateAuthority.backdate.
        let issued = min(leaf.notValidBefore.addingTimeInterval(CertificateAuthority.backdate), Date())
        let renewAt = issued.addingTimeInterval(leaf.notValidAfter.timeIntervalSince(issued) / 2)
        try await Task.sleep(for: .seconds(max(0, renewAt.timeIntervalSinceNow)))
        let key = try SigningKey(generating: .ecP256)
        let chain: [Certificate]
        if let attestor = try reattestorClient {
            chain = try await renewByAttestation(attestor, key: key, until: leaf.notValidAfter)
        } else {
            chain = try await client.renew(key: key)
            try store.saveIdentity(chain: chain, key: key)
        }
        logger.info("agent SVID renewed", metadata: ["serial": "\(chain[0].serialNumber.hexString)", "expires": "\(chain[0].notValidAfter.formatted(.iso8601))"])
        await feed.update(LayerIdentity(chain: chain, key: key.certificatePrivateKey))
    }

    /// A TPM or x509pop node renews by attesting afresh for its new key, so the new SVID's first
    /// lineage link carries evidence binding that key (a TPM quote, an x509pop signature);
    /// re-stating the old evidence would bind the old one. A TPM busy with a re-attestation quote,
    /// or a server briefly away, is tried again until the current SVID is about to expire.
    private func renewByAttestation(_ attestor: any NodeAttestorClient, key: SigningKey, until expiry: Date) async throws -> [Certificate] {
        guard let bundle = try store.load(trustDomain: config.trustDomain)?.bundle else {
            throw AgentError("cannot renew: the agent's saved trust bundle is missing from \(config.dataDirectory)")
        }
        while true {
            do {
                let state = try await attest(with: attestor, key: key, bootstrapBundle: bundle)
                if let tpm = attestor as? TPMAttestorClient, let ak = tpm.attestationKey {
                    try TPMAttestationKeyFile(directory: config.dataDirectory).save(ak)
                }
                return state.chain
            } catch {
                // A refusal is final (the node is evicted or untrusted); anything else is retried.
                let reason = "\(error)"
                guard !(error is CancellationError), !reason.contains("node attestation refused"), Date().addingTimeInterval(10) < expiry else {
                    throw error
                }
                logger.warning("renewal by attestation did not complete; trying again", metadata: ["reason": "\(reason)"])
                try await Task.sleep(for: .seconds(2))
            }
        }
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
        if let saved = try store.load(trustDomain: config.trustDomain),
           config.tpmTCTI == nil || TPMAttestationKeyFile(directory: config.dataDirectory).load() != nil {
            let expiry = saved.chain[0].notValidAfter
            if expiry > Date().addingTimeInterval(5) {
                logger.info("using saved agent identity", metadata: [
                    "agent_id": "\((try? X509SVID.spiffeID(of: saved.chain[0]).description) ?? "?")",
                    "expires": "\(expiry.formatted(.iso8601))",
                ])
                return saved
            }
            guard config.joinToken != nil || config.tpmTCTI != nil || config.x509popCertificatePath != nil else {
                throw AgentError("the saved agent SVID expired at \(expiry.formatted(.iso8601)); the agent must attest again (start it with a new --join-token)")
            }
            logger.warning("saved agent SVID has expired; attesting again")
        }
        let attestor: any NodeAttestorClient
        if let tpm = tpmClient {
            attestor = tpm
        } else if let x509pop = try x509popClient {
            attestor = x509pop
        } else if let token = config.joinToken {
            attestor = JoinTokenAttestorClient(token: token)
        } else {
            throw AgentError("no agent identity in \(config.dataDirectory): start the agent with --join-token (from `matryoshka server token generate`), --tpm TCTI or --x509pop-cert/--x509pop-key")
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
        let state = try await attest(with: attestor, key: try SigningKey(generating: .ecP256), bootstrapBundle: bootstrapBundle)
        if let tpm = attestor as? TPMAttestorClient, let key = tpm.attestationKey {
            try TPMAttestationKeyFile(directory: config.dataDirectory).save(key)
        }
        return state
    }

    /// Attests the node for `key` (the key of the agent SVID to be issued), authenticating the
    /// server with `bootstrapBundle`; saves the new identity and bundle.
    private func attest(with attestor: any NodeAttestorClient, key: SigningKey, bootstrapBundle: SPIFFEBundle) async throws -> AgentStateStore.State {
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
