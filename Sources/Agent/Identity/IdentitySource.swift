import SPIFFE

/// Where a layer's own identity comes from: node attestation to the server (a node agent), or the
/// Workload API of the layer around it (a nested agent).
protocol IdentitySource: Sendable {
    /// The identity to start with, and the trust bundle it came with.
    func start() async throws -> (identity: LayerIdentity, bundle: SPIFFEBundle)
    /// Keeps `feed` current from outside the server connection (a parent's rotations); returns
    /// when there is nothing to watch.
    func watch(feed: IdentityFeed) async throws
    /// Renews the identity through the server when it is due, publishing it on `feed`; returns
    /// never for sources that do not renew through the server.
    func renew(identity: LayerIdentity, client: NodeClient, feed: IdentityFeed) async throws
    /// The server sent a new bundle.
    func bundleChanged(_ bundle: SPIFFEBundle) async
}
