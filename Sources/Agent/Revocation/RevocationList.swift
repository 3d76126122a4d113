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
    }

    private(set) var bySerial: [String: Entry] = [:]
    private(set) var byKeyHash: [String: Entry] = [:]
    /// DER CRLs, one per CA of the server.
    private(set) var crls: [[UInt8]] = []

    init() {}

    /// The list a sync update carries.
    init(revoked: [Matryoshka_V1_RevokedCredential], crls: [Data]) {
        for credential in revoked {
            let entry = Entry(
                serialNumber: credential.serialNumber, spiffeID: credential.spiffeID,
                revokedAt: Date(timeIntervalSince1970: TimeInterval(credential.revokedAt)), reason: credential.reason)
            bySerial[credential.serialNumber] = entry
            if !credential.publicKeyHash.isEmpty { byKeyHash[credential.publicKeyHash] = entry }
        }
        self.crls = crls.map { Array($0) }
    }

    var isEmpty: Bool { bySerial.isEmpty }

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
