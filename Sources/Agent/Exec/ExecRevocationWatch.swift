import Foundation
import MatryoshkaAPI

/// Whether an exec'd child's X509-SVID may still be served, from the revocations the server
/// pushes on the exec session's sync stream: once it (or a layer of its lineage) is revoked, it
/// stays refused.
actor ExecRevocationWatch {
    private let svid: CachedSVID
    /// The latest revocations, and the CRLs to serve the child.
    private(set) var revocations = RevocationList()
    /// Why the child's SVID is revoked; nil while it is not.
    private(set) var revokedReason: String?
    private let changeSignal = ChangeSignal()

    init(svid: CachedSVID) {
        self.svid = svid
    }

    /// Takes the revocations of a sync update.
    func update(_ list: RevocationList) {
        guard list != revocations else { return }
        revocations = list
        if revokedReason == nil { revokedReason = list.refusal(for: svid) }
        changeSignal.signal()
    }

    /// A signal on every change of the revocations.
    func changes() -> AsyncStream<Void> { changeSignal.stream() }
}
