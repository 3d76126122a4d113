import Foundation
import MatryoshkaAPI

/// Whether an exec'd child's X509-SVID may still be served, from the revocations the server
/// pushes on the exec session's sync stream: once it (or a layer of its lineage) is revoked, it
/// stays refused.
///
/// The stream starts before the child's SVID exists (its first update names the entry the SVID
/// is minted from), so the watch holds the revocations from the start and judges the SVID from
/// when it is given one.
actor ExecRevocationWatch {
    private var svid: CachedSVID?
    /// The latest revocations, and the CRLs to serve the child.
    private(set) var revocations = RevocationList()
    /// Why the child's SVID is revoked; nil while it is not.
    private(set) var revokedReason: String?
    private let changeSignal = ChangeSignal()

    /// Watches `svid` from now on; returns why it is revoked if the revocations already say so.
    func watch(_ svid: CachedSVID) -> String? {
        self.svid = svid
        return judge()
    }

    /// Takes the revocations of a sync update; returns why the child's SVID is revoked if this
    /// update is the one that revoked it.
    func update(_ list: RevocationList) -> String? {
        guard list != revocations else { return nil }
        revocations = list
        let newlyRevoked = judge()
        changeSignal.signal()
        return newlyRevoked
    }

    /// Sets `revokedReason` the first time the revocations refuse the SVID, and returns it then.
    private func judge() -> String? {
        guard revokedReason == nil, let svid, let reason = revocations.refusal(for: svid) else { return nil }
        revokedReason = reason
        return reason
    }

    /// A signal on every change of the revocations.
    func changes() -> AsyncStream<Void> { changeSignal.stream() }
}
