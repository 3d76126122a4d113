import Attestation
import Foundation
import MatryoshkaAPI
import Synchronization
import WorkloadAPI

/// Continuous workload attestation: while a process holds an X509-SVID stream, the agent checks
/// on an interval that it is still the process it attested (same pid and start time), still one
/// this layer may serve (a nested agent's descendant), and still has every selector of the
/// entries it was served (its executable's path and digest among them).
struct WorkloadRecheck: Sendable {
    enum Verdict: Sendable, Equatable {
        /// Everything still holds.
        case holds
        /// The process that opened the stream has exited (its connection may live on in a child
        /// that inherited it): the stream ends; nothing leaked, nothing is revoked.
        case gone(String)
        /// The process holds identities it is no longer entitled to: they are revoked.
        case failed(String)
    }

    let caller: CallerCredentials
    /// The caller's start time when it was first attested (nil: unknown, not compared).
    let startTime: UInt64?
    let procRoot: String

    init(caller: CallerCredentials, procRoot: String = "/proc") {
        self.caller = caller
        self.procRoot = procRoot
        startTime = ProcFS.stat(of: caller.pid, procRoot: procRoot)?.startTime
    }

    /// Checks the caller against the entries whose SVIDs it holds.
    func check(entries: [RegistrationEntry], attestor: any WorkloadAttestor, policy: CallerPolicy) async -> Verdict {
        if let startTime {
            guard let now = ProcFS.stat(of: caller.pid, procRoot: procRoot)?.startTime else {
                return .gone("process \(caller.pid) has exited")
            }
            guard now == startTime else {
                return .gone("process \(caller.pid) has exited (its pid now belongs to another process)")
            }
        }
        if let refusal = policy.refusal(for: caller, procRoot: procRoot) {
            return .failed(refusal)
        }
        let selectors: [Selector]
        do {
            selectors = try await attestor.attest(PeerProcess(pid: caller.pid, uid: caller.uid, gid: caller.gid))
        } catch .processGone, .processReplaced {
            return .gone("process \(caller.pid) has exited")
        } catch {
            return .failed("process \(caller.pid) can no longer be attested: \(error)")
        }
        for entry in entries where !selectors.satisfies(entry.selectors) {
            let missing = Set(entry.selectors).subtracting(selectors).map(\.description).sorted()
            return .failed("process \(caller.pid) no longer has the selectors of \(entry.spiffeID) (missing \(missing.joined(separator: " ")); e.g. it exec'd another program)")
        }
        return .holds
    }
}

/// The SVIDs an X509-SVID stream last sent, shared with its re-check.
final class HeldSVIDs: Sendable {
    private let svids = Mutex<[CachedSVID]>([])
    var current: [CachedSVID] { svids.withLock { $0 } }
    func set(_ new: [CachedSVID]) { svids.withLock { $0 = new } }
}

extension AgentWorkloadProvider {
    /// Checks the caller of an X509-SVID stream every `interval` while the stream lasts. A failed
    /// check discards the SVIDs it holds here at once, revokes them (with everything they vouched
    /// for) at the server, reports it for the audit log and ends the stream.
    func recheckLoop(
        _ caller: CallerCredentials, every interval: Duration, held: HeldSVIDs,
        continuation: AsyncThrowingStream<X509SVIDSet, any Error>.Continuation
    ) async {
        let recheck = WorkloadRecheck(caller: caller)
        while !Task.isCancelled {
            guard (try? await Task.sleep(for: interval)) != nil else { return }
            let svids = held.current
            guard !svids.isEmpty else { continue }
            var entries: [RegistrationEntry] = []
            for svid in svids {
                if let entry = await cache.entries[svid.entryID] { entries.append(entry) }
            }
            switch await recheck.check(entries: entries, attestor: attestor, policy: callerPolicy) {
            case .holds:
                continue
            case .gone(let reason):
                logger.info("ending the X509-SVID stream of a process that has exited", metadata: ["pid": "\(caller.pid)", "reason": "\(reason)"])
                continuation.finish(throwing: WorkloadAPIError.noIdentity(detail: reason))
                return
            case .failed(let reason):
                await revokeHeld(svids, caller: caller, reason: reason)
                continuation.finish(throwing: WorkloadAPIError.noIdentity(detail: "re-attestation failed: \(reason); the identities it held are revoked"))
                return
            }
        }
    }

    private func revokeHeld(_ svids: [CachedSVID], caller: CallerCredentials, reason: String) async {
        let serials = svids.map(\.serialNumber)
        logger.warning("workload re-check failed; revoking the identities it held", metadata: [
            "pid": "\(caller.pid)", "reason": "\(reason)", "spiffe_ids": "\(svids.map(\.spiffeID.description).joined(separator: " "))",
            "serials": "\(serials.joined(separator: " "))",
        ])
        let selectors = (try? await attestor.attest(PeerProcess(pid: caller.pid, uid: caller.uid, gid: caller.gid))) ?? []
        await report(caller, selectors, .recheckFailed, ids: svids.map(\.spiffeID.description), reason: reason, call: .recheck)
        await cache.discard(entryIDs: Set(svids.map(\.entryID)), reason: "held by process \(caller.pid), which failed its re-check")
        // Discarding ends the workload's stream, which cancels this task: the revocation runs in a
        // task of its own so that it is not cancelled with it.
        let link = self.link
        let revocation = Task { try await link.revoke(serials, reason: "workload re-check failed: \(reason)") }
        do {
            let revoked = try await revocation.value
            logger.notice("revoked the identities of a workload that failed its re-check", metadata: ["pid": "\(caller.pid)", "revoked": "\(revoked)"])
        } catch {
            logger.error("cannot revoke the identities of a workload that failed its re-check; they were discarded here and expire on their own", metadata: [
                "pid": "\(caller.pid)", "error": "\(error)",
            ])
        }
    }
}
