import Foundation
import Logging
import SPIFFE
import WorkloadAPI
import X509

/// A nested agent's identity: the default X509-SVID the layer around it serves it over the
/// Workload API, replaced whenever that layer rotates it. The server only accepts it if its
/// entry is `nested`.
struct ParentIdentitySource: IdentitySource {
    let parent: WorkloadAPIAddress
    let trustDomain: TrustDomain
    /// Which of the SVIDs the parent serves is this layer's; nil means the default (first).
    let spiffeID: String?
    let logger: Logger

    init(parentSocket: String, trustDomain: TrustDomain, spiffeID: String?, logger: Logger) throws {
        self.spiffeID = spiffeID
        do {
            self.parent = try WorkloadAPIAddress(parentSocket)
        } catch {
            throw AgentError("--parent-socket: \(error)")
        }
        self.trustDomain = trustDomain
        self.logger = logger
    }

    func start() async throws -> (identity: LayerIdentity, bundle: SPIFFEBundle) {
        let set: X509SVIDSet
        do {
            set = try await WorkloadAPIClient.withClient(address: parent) { client in try await client.fetchX509Context() }
        } catch {
            throw AgentError("cannot obtain this layer's identity from the parent Workload API at \(parent.path): \(error)")
        }
        let (identity, bundle) = try Self.convert(set, trustDomain: trustDomain, spiffeID: spiffeID)
        logger.notice("nested agent identity from parent", metadata: [
            "spiffe_id": "\((try? X509SVID.spiffeID(of: identity.chain[0]).description) ?? "?")",
            "parent_socket": "\(parent.path)", "lineage_depth": "\(identity.lineage.depth)",
        ])
        return (identity, bundle)
    }

    func watch(feed: IdentityFeed) async throws {
        var delay = Duration.seconds(1)
        while !Task.isCancelled {
            do {
                try await WorkloadAPIClient.withClient(address: parent) { client in
                    for try await set in client.watchX509Context() {
                        let (identity, _) = try Self.convert(set, trustDomain: trustDomain, spiffeID: spiffeID)
                        let (current, _) = await feed.current
                        if identity.chain[0] != current.chain[0] {
                            logger.info("parent rotated this layer's SVID", metadata: ["serial": "\(identity.chain[0].serialNumber.hexString)"])
                            await feed.update(identity)
                        }
                        delay = .seconds(1)
                    }
                }
            } catch is CancellationError {
                return
            } catch {
                logger.warning("lost the parent Workload API; serving cached identities", metadata: ["reason": "\(error)"])
            }
            try await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(30))
        }
    }

    func renew(identity: LayerIdentity, client: NodeClient, feed: IdentityFeed) async throws {
        // The parent renews this layer; wait for the connection to end.
        try await Task.sleep(for: .seconds(Int64.max / 2))
    }

    func bundleChanged(_ bundle: SPIFFEBundle) async {}

    static func convert(_ set: X509SVIDSet, trustDomain: TrustDomain, spiffeID: String?) throws -> (LayerIdentity, SPIFFEBundle) {
        guard let svid = spiffeID.map({ id in set.svids.first { $0.spiffeID == id } }) ?? set.svids.first else {
            if let spiffeID {
                throw AgentError("the parent Workload API does not serve \(spiffeID) to this process (it serves \(set.svids.map(\.spiffeID).joined(separator: ", ")))")
            }
            throw AgentError("the parent Workload API returned no SVID for this layer")
        }
        do {
            let chain = try svid.certificateChain.map { try Certificate(derEncoded: $0) }
            guard !chain.isEmpty else { throw AgentError("the parent returned an empty certificate chain") }
            let key = try Certificate.PrivateKey(derBytes: svid.privateKey)
            let authorities = try svid.bundle.map { try Certificate(derEncoded: $0) }
            return (LayerIdentity(chain: chain, key: key), SPIFFEBundle(trustDomain: trustDomain, x509Authorities: authorities))
        } catch let error as AgentError {
            throw error
        } catch {
            throw AgentError("the parent returned an unreadable SVID: \(error)")
        }
    }
}
