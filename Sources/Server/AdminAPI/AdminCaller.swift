import GRPCCore
import LocalSocket

/// Who made an admin call, as the audit log and the server's log name them: the kernel's
/// credentials of the process on the other end of the admin socket.
enum AdminCaller {
    /// The audit name of the call's caller, from the credentials ``CallerCredentialsInterceptor``
    /// attached to `context`.
    ///
    /// - Throws: `PermissionDenied` when the context carries no credentials: an admin change is
    ///   never made, nor audited, without knowing who asked for it.
    static func auditName(in context: ServerContext) throws(RPCError) -> String {
        auditName(of: try CallerCredentials(context: context))
    }

    /// `uid:<uid>(<user>)`, e.g. `uid:1000(alice)` or `uid:0(root)`; `uid:<uid>` when the user
    /// database has no name for the uid.
    static func auditName(of credentials: CallerCredentials) -> String {
        auditName(uid: credentials.uid, userName: credentials.userName)
    }

    /// `uid:<uid>(<user>)`, or `uid:<uid>` without a name.
    static func auditName(uid: UInt32, userName: String?) -> String {
        guard let userName else { return "uid:\(uid)" }
        return "uid:\(uid)(\(userName))"
    }
}
