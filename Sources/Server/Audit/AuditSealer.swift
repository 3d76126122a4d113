import Foundation
import Logging

/// Signs the audit chain head with the active X.509 CA key: every ``interval`` while the server
/// runs (skipped when nothing was recorded since the last signing) and once more on graceful
/// shutdown. Each signing is itself an audit record (`audit.head.sign`), and the head covers that
/// record, so the newest record is always covered after a clean shutdown.
public struct AuditSealer: Sendable {
    /// The kind of the audit record written with each signed head.
    public static let eventKind = "audit.head.sign"

    let store: any AuditLogStore
    let authorities: AuthorityManager
    let interval: Duration
    let logger: Logger
    let metrics: ServerMetrics?

    public init(store: any AuditLogStore, authorities: AuthorityManager, interval: Duration, logger: Logger, metrics: ServerMetrics? = nil) {
        self.store = store
        self.authorities = authorities
        self.interval = interval
        self.logger = logger
        self.metrics = metrics
    }

    /// Signs the head now, unless nothing happened since the last signing.
    /// - Returns: the new head, or nil when there was nothing to sign.
    @discardableResult
    public func seal(reason: String, now: Date = Date()) async throws(ServerError) -> SignedAuditHead? {
        let signer = try AuditHeadSignature.signer(for: try await authorities.activeCA)
        let event = AuditEvent(kind: Self.eventKind, actor: "server", subject: "audit_log", details: ["reason": reason, "key_id": signer.keyID], time: now)
        let head: SignedAuditHead?
        do {
            head = try await store.signAuditHead(event, signer: signer)
        } catch {
            throw ServerError("cannot sign the audit head: \(error)")
        }
        if let head {
            metrics?.auditHeadSequence.set(to: Double(head.sequence))
            // The log line is an external copy of the head: compare it with `audit verify`.
            logger.notice("signed audit chain head", metadata: [
                "sequence": "\(head.sequence)", "hash": "\(head.hash)", "key_id": "\(head.keyID)", "reason": "\(reason)",
            ])
        }
        return head
    }

    /// Signs every ``interval`` until cancelled.
    public func run() async throws {
        while true {
            try await Task.sleep(for: interval)
            do {
                try await seal(reason: "interval")
            } catch {
                logger.error("signing the audit chain head failed; retrying at the next interval", metadata: ["error": "\(error)"])
            }
        }
    }
}
