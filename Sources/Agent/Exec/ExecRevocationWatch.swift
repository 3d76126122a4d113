import Foundation

/// Whether an exec'd child's X509-SVID may still be served, from the revocations the server
/// pushes on the exec session's sync stream: once it (or a layer of its lineage) is revoked, it
/// stays refused.
actor ExecRevocationWatch {
    private let svid: CachedSVID
    /// The latest revocations, and the CRLs to serve the child.
    private(set) var revocations = RevocationList()
    /// Why the child's SVID is revoked; nil while it is not.
    private(set) var revokedReason: String?
    private var watchers: [UUID: AsyncStream<Void>.Continuation] = [:]

    init(svid: CachedSVID) {
        self.svid = svid
    }

    /// Takes the revocations of a sync update.
    func update(_ list: RevocationList) {
        guard list != revocations else { return }
        revocations = list
        if revokedReason == nil { revokedReason = list.refusal(for: svid.chain[0]) }
        for watcher in watchers.values { watcher.yield() }
    }

    /// A signal on every change of the revocations.
    func changes() -> AsyncStream<Void> {
        let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let id = UUID()
        watchers[id] = continuation
        continuation.onTermination = { [weak self] _ in
            Task { await self?.removeWatcher(id) }
        }
        return stream
    }

    private func removeWatcher(_ id: UUID) { watchers[id] = nil }
}
