import Foundation
import Lineage
import MatryoshkaAPI
import SPIFFE
import X509

/// What the server says is revoked, as the agent uses it: revoked credentials by serial number
/// (X509-SVIDs) or token ID (JWT-SVIDs), the keys of revoked layers (a credential whose lineage
/// passes through one descends from a revoked layer), and the CRLs to hand to workloads.
struct RevocationList: Sendable, Equatable {
    /// One revoked credential.
    struct Entry: Sendable, Equatable {
        var serialNumber: String
        var spiffeID: String
        var revokedAt: Date
        var reason: String
        /// When the credential itself expires; nil when the server did not say.
        var expiresAt: Date?
    }

    /// How long a revocation is kept after its credential expired: longer than the clock skew
    /// any verifier here tolerates on `exp` (10 s for JWT-SVIDs), so a revoked token is never
    /// accepted in that margin.
    static let keptPastExpiry: TimeInterval = 60

    private(set) var bySerial: [String: Entry] = [:]
    private(set) var byKeyHash: [String: Entry] = [:]
    /// DER CRLs, one per CA of the server.
    private(set) var crls: [[UInt8]] = []
    /// The earliest time a held revocation may be dropped (``dropExpired(now:)``).
    private var nextExpiry: Date?

    init() {}

    /// The list a sync update carries whole.
    init(revoked: [Matryoshka_V1_RevokedCredential], crls: [Data]) {
        add(revoked)
        self.crls = crls.map { Array($0) }
    }

    /// Adds the credentials a sync update says were revoked since the previous one.
    mutating func add(_ revoked: [Matryoshka_V1_RevokedCredential]) {
        for credential in revoked {
            let entry = Entry(
                serialNumber: credential.serialNumber, spiffeID: credential.spiffeID,
                revokedAt: Date(timeIntervalSince1970: TimeInterval(credential.revokedAt)), reason: credential.reason,
                expiresAt: credential.expiresAt > 0 ? Date(timeIntervalSince1970: TimeInterval(credential.expiresAt)) : nil)
            bySerial[credential.serialNumber] = entry
            if !credential.publicKeyHash.isEmpty { byKeyHash[credential.publicKeyHash] = entry }
            if let drop = entry.dropAt { nextExpiry = min(nextExpiry ?? drop, drop) }
        }
    }

    /// Replaces the CRLs (the server signs them anew on every change and sends them whole).
    mutating func replaceCRLs(_ crls: [Data]) {
        self.crls = crls.map { Array($0) }
    }

    /// Drops the revocations of credentials that expired (``keptPastExpiry`` ago): the server
    /// stops listing them then, and sends no word of it to an agent that takes deltas. Cheap
    /// until the earliest expiry is due. Returns whether any were dropped.
    @discardableResult
    mutating func dropExpired(now: Date) -> Bool {
        guard let nextExpiry, now >= nextExpiry else { return false }
        let before = bySerial.count + byKeyHash.count
        bySerial = bySerial.filter { !$0.value.isDue(at: now) }
        byKeyHash = byKeyHash.filter { !$0.value.isDue(at: now) }
        self.nextExpiry = (bySerial.values.compactMap(\.dropAt) + byKeyHash.values.compactMap(\.dropAt)).min()
        return bySerial.count + byKeyHash.count != before
    }

    var isEmpty: Bool { bySerial.isEmpty }

    /// The same revocations and CRLs (when each may be dropped follows from them).
    static func == (lhs: RevocationList, rhs: RevocationList) -> Bool {
        lhs.bySerial == rhs.bySerial && lhs.byKeyHash == rhs.byKeyHash && lhs.crls == rhs.crls
    }

    /// Why an X509-SVID the agent holds must no longer be used (from what it noted when it
    /// received it: no parsing).
    func refusal(for svid: CachedSVID) -> String? {
        refusal(serialNumber: svid.serialNumber, keyHashes: svid.lineageKeyHashes)
    }

    /// Why the credential with this serial number (or token ID) and lineage must no longer be used.
    func refusal(serialNumber: String, lineage: Lineage) -> String? {
        refusal(serialNumber: serialNumber, keyHashes: lineage.links.compactMap(\.publicKeyHash))
    }

    /// Why the credential with this serial number (or token ID), whose lineage passes through
    /// the layers with these key hashes, must no longer be used.
    func refusal(serialNumber: String, keyHashes: [String]) -> String? {
        if let entry = bySerial[serialNumber] {
            return "\(entry.spiffeID) (serial \(serialNumber)) was revoked at \(entry.revokedAt.formatted(.iso8601))"
                + (entry.reason.isEmpty ? "" : ": \(entry.reason)")
        }
        guard !byKeyHash.isEmpty else { return nil }
        for key in keyHashes {
            guard let entry = byKeyHash[key] else { continue }
            return "its lineage passes through \(entry.spiffeID), whose SVID \(entry.serialNumber) was revoked at \(entry.revokedAt.formatted(.iso8601))"
        }
        return nil
    }

    /// Why a JWT-SVID must be refused: its token ID is revoked, or its `lineage` claim passes
    /// through a revoked layer's key. Nil when it may be accepted (or carries no lineage).
    func refusal(forToken token: String, claims: [String: JSONValue]) -> String? {
        let lineage = claims["lineage"].flatMap { try? LineageJSON.lineage(from: $0) } ?? Lineage()
        return refusal(serialNumber: Self.tokenID(token), lineage: lineage)
    }

    /// The server's identifier of a JWT-SVID: the first 32 hex digits of its SHA-256.
    static func tokenID(_ token: String) -> String {
        String(LineageLink.hexSHA256(Array(token.utf8)).prefix(32))
    }
}

extension RevocationList.Entry {
    /// When the revocation may be dropped; nil to keep it while the server lists it.
    var dropAt: Date? { expiresAt.map { $0.addingTimeInterval(RevocationList.keptPastExpiry) } }

    func isDue(at now: Date) -> Bool { dropAt.map { now >= $0 } ?? false }
}
