/// How the caller's kernel credentials travel from the connection to the service handler: as one
/// private request-metadata entry that ``PeerCredentialsHandler`` writes after removing every
/// copy a client may have sent.
enum PeerCredentialsMetadata {
    /// The private metadata key. Any client-sent header of this name (in any letter case) is
    /// dropped before the request reaches gRPC.
    static let key = "x-matryoshka-peer-cred"

    /// `pid=<pid>;uid=<uid>;gid=<gid>`.
    static func encode(_ credentials: CallerCredentials) -> String {
        "pid=\(credentials.pid);uid=\(credentials.uid);gid=\(credentials.gid)"
    }

    /// Parses a value written by ``encode(_:)``; `nil` for anything else.
    static func decode(_ value: String) -> CallerCredentials? {
        let fields = value.split(separator: ";", omittingEmptySubsequences: false)
        guard fields.count == 3 else { return nil }
        var pid: Int32?
        var uid: UInt32?
        var gid: UInt32?
        for field in fields {
            let parts = field.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2 else { return nil }
            switch parts[0] {
            case "pid" where pid == nil: pid = Int32(parts[1])
            case "uid" where uid == nil: uid = UInt32(parts[1])
            case "gid" where gid == nil: gid = UInt32(parts[1])
            default: return nil
            }
        }
        guard let pid, let uid, let gid, pid > 0 else { return nil }
        return CallerCredentials(pid: pid, uid: uid, gid: gid)
    }
}
