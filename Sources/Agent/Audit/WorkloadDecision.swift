import Attestation
import Crypto
import Foundation
import MatryoshkaAPI
import SPIFFE

/// One workload attestation decision of this layer, as the server's audit log records it.
struct WorkloadDecision: Sendable, Hashable {
    enum Outcome: String, Sendable {
        /// The caller had the selectors of at least one entry and was answered.
        case served
        /// No entry matches the caller's selectors.
        case noMatch = "no_match"
        /// The caller may not be served at all (a nested agent's non-descendant).
        case refused
        /// The caller could not be attested (it exited, or its /proc entries were unreadable).
        case failed
        /// A process holding identities no longer has what it was attested for.
        case recheckFailed = "recheck_failed"
    }

    /// Which Workload API call it was made for.
    enum Call: String, Sendable {
        case x509, jwt, x509Bundles = "x509_bundles", jwtBundles = "jwt_bundles", validate, recheck
    }

    var pid: Int32
    var uid: UInt32
    var gid: UInt32
    var executable: String
    /// Hex SHA-256 of the sorted selectors: the evidence digest.
    var selectorsSHA256: String
    var spiffeIDs: [String]
    var outcome: Outcome
    var reason: String
    var call: Call

    init(caller: CallerIdentity, selectors: [Selector], spiffeIDs: [String] = [], outcome: Outcome, reason: String = "", call: Call) {
        pid = caller.pid
        uid = caller.uid
        gid = caller.gid
        executable = selectors.first { $0.type == "unix" && $0.value.hasPrefix("path:") }.map { String($0.value.dropFirst("path:".count)) } ?? ""
        selectorsSHA256 = Self.digest(selectors)
        self.spiffeIDs = spiffeIDs.sorted()
        self.outcome = outcome
        self.reason = reason
        self.call = call
    }

    /// Hex SHA-256 over the selectors, sorted, one per line.
    static func digest(_ selectors: [Selector]) -> String {
        let text = selectors.map(\.description).sorted().joined(separator: "\n")
        return Hex.encode(SHA256.hash(data: Array(text.utf8)))
    }

    func wire(firstSeen: Date, count: Int) -> Matryoshka_V1_WorkloadAttestation {
        Matryoshka_V1_WorkloadAttestation.with {
            $0.timeMs = Int64((firstSeen.timeIntervalSince1970 * 1000).rounded())
            $0.pid = pid
            $0.uid = uid
            $0.gid = gid
            $0.executable = executable
            $0.selectorsSha256 = selectorsSHA256
            $0.spiffeIds = spiffeIDs
            $0.outcome = outcome.rawValue
            $0.reason = reason
            $0.call = call.rawValue
            $0.count = UInt32(clamping: count)
        }
    }
}

/// The kernel credentials a decision is about.
struct CallerIdentity: Sendable, Hashable {
    var pid: Int32
    var uid: UInt32
    var gid: UInt32
}
