import SPIFFE

/// Which issued SVIDs a revocation names, as the datastore can find them in one pass: by serial
/// number (or JWT token ID), by SPIFFE ID, and by the layers their lineage passes through (a
/// subtree), by that layer's SPIFFE ID or key. An SVID matching any part is selected.
public struct SVIDSelection: Sendable, Hashable {
    /// Serial numbers (hex, as stored) or JWT token IDs.
    public var serialNumbers: [String]
    /// SVIDs with one of these SPIFFE IDs.
    public var spiffeIDs: [SPIFFEID]
    /// SVIDs whose lineage passes through a layer with one of these SPIFFE IDs.
    public var ancestorSPIFFEIDs: [SPIFFEID]
    /// SVIDs whose lineage passes through a layer holding a key with one of these hex SHA-256s.
    public var ancestorKeyHashes: [String]

    public init(serialNumbers: [String] = [], spiffeIDs: [SPIFFEID] = [], ancestorSPIFFEIDs: [SPIFFEID] = [], ancestorKeyHashes: [String] = []) {
        self.serialNumbers = serialNumbers
        self.spiffeIDs = spiffeIDs
        self.ancestorSPIFFEIDs = ancestorSPIFFEIDs
        self.ancestorKeyHashes = ancestorKeyHashes
    }
}
