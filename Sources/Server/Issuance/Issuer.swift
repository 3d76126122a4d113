import Authority
import Foundation
import Logging
import SPIFFE
import X509

/// Decides who may have which SVID and signs it: agent SVIDs after node attestation or renewal,
/// workload X509-SVIDs from CSRs, and JWT-SVIDs. Every issuance and every refusal is recorded.
public struct Issuer: Sendable {
    public struct Defaults: Sendable {
        public var x509TTL: Duration
        public var jwtTTL: Duration
        public var agentTTL: Duration

        public init(x509TTL: Duration, jwtTTL: Duration, agentTTL: Duration) {
            self.x509TTL = x509TTL
            self.jwtTTL = jwtTTL
            self.agentTTL = agentTTL
        }
    }

    let authorities: AuthorityManager
    let store: any DataStore
    let index: RegistrationIndex
    let defaults: Defaults
    let logger: Logger

    public init(authorities: AuthorityManager, store: any DataStore, index: RegistrationIndex, defaults: Defaults, logger: Logger) {
        self.authorities = authorities
        self.store = store
        self.index = index
        self.defaults = defaults
        self.logger = logger
    }

    /// Signs an agent SVID for `agentID` from a CSR and records it.
    public func issueAgentSVID(agentID: SPIFFEID, csrDER: [UInt8], event: String, now: Date = Date()) async throws(IssuanceError) -> [Certificate] {
        let parameters: X509SVIDParameters
        do {
            parameters = try X509SVIDParameters(spiffeID: agentID, csrDER: csrDER, ttl: defaults.agentTTL)
        } catch {
            throw .invalidRequest(error.description)
        }
        return try await sign(parameters, entryID: nil, requestedBy: agentID, event: event, now: now)
    }

    /// Signs the server's own TLS SVID.
    public func issueServerSVID(serverID: SPIFFEID, publicKey: Certificate.PublicKey, ttl: Duration, now: Date = Date()) async throws(IssuanceError) -> [Certificate] {
        let parameters = X509SVIDParameters(spiffeID: serverID, publicKey: publicKey, ttl: ttl, dnsNames: [])
        return try await sign(parameters, entryID: nil, requestedBy: nil, event: "svid.issue.server", now: now)
    }

    /// Signs an X509-SVID for `entryID` from a CSR, if `caller` may serve that entry.
    public func mintX509SVID(caller: SPIFFEID, entryID: String, csrDER: [UInt8], now: Date = Date()) async throws(IssuanceError) -> (RegistrationEntry, [Certificate]) {
        let entry = try await authorizedEntry(caller: caller, entryID: entryID, kind: "X509-SVID")
        let ttl = entry.x509TTL > 0 ? Duration.seconds(entry.x509TTL) : defaults.x509TTL
        let parameters: X509SVIDParameters
        do {
            parameters = try X509SVIDParameters(spiffeID: entry.spiffeID, csrDER: csrDER, ttl: ttl, dnsNames: entry.dnsNames)
        } catch {
            await refuse(caller: caller, subject: entry.spiffeID.description, reason: error.description)
            throw .invalidRequest(error.description)
        }
        return (entry, try await sign(parameters, entryID: entry.id, requestedBy: caller, event: "svid.issue", now: now))
    }

    /// Signs a JWT-SVID for `entryID` and `audience`, if `caller` may serve that entry and the
    /// entry allows every audience asked for.
    public func mintJWTSVID(caller: SPIFFEID, entryID: String, audience: [String], now: Date = Date()) async throws(IssuanceError) -> (token: String, expiresAt: Date) {
        let entry = try await authorizedEntry(caller: caller, entryID: entryID, kind: "JWT-SVID")
        guard !audience.isEmpty, !audience.contains(where: \.isEmpty) else {
            throw .invalidRequest("a JWT-SVID needs at least one non-empty audience")
        }
        if !entry.audiences.isEmpty {
            let widened = audience.filter { !entry.audiences.contains($0) }
            if !widened.isEmpty {
                let reason = "audience \(widened.joined(separator: ", ")) is not allowed for \(entry.spiffeID) (allowed: \(entry.audiences.joined(separator: ", ")))"
                await refuse(caller: caller, subject: entry.spiffeID.description, reason: reason)
                throw .permissionDenied(reason)
            }
        }
        let ttl = entry.jwtTTL > 0 ? Duration.seconds(entry.jwtTTL) : defaults.jwtTTL
        do {
            let authority = try await authorities.activeJWTAuthority
            let token = try await authority.sign(spiffeID: entry.spiffeID, audience: audience, ttl: ttl, now: now)
            let expiresAt = min(now.addingTimeInterval(ttl.timeInterval), authority.notAfter)
            let tokenID = Self.tokenID(token)
            try await store.recordIssuance(
                IssuedSVIDRecord(serialNumber: tokenID, kind: .jwt, spiffeID: entry.spiffeID, entryID: entry.id,
                                 requestedBy: caller, issuedAt: now, expiresAt: expiresAt),
                audit: AuditEvent(kind: "jwt_svid.issue", actor: caller.description, subject: entry.spiffeID.description,
                                  details: ["token_id": tokenID, "audience": audience.joined(separator: " "), "entry_id": entry.id,
                                            "expires_at": expiresAt.formatted(.iso8601)], time: now))
            return (token, expiresAt)
        } catch let error as ServerError {
            throw .internalError(error.message)
        } catch {
            throw .internalError(String(describing: error))
        }
    }

    private func authorizedEntry(caller: SPIFFEID, entryID: String, kind: String) async throws(IssuanceError) -> RegistrationEntry {
        guard let entry = await index.entry(id: entryID) else {
            await refuse(caller: caller, subject: entryID, reason: "no such entry")
            throw .notFound("no entry \(entryID)")
        }
        guard await index.may(caller, serve: entry) else {
            let reason = "\(caller) may not obtain a \(kind) for \(entry.spiffeID): its parent is \(entry.parentID)"
            await refuse(caller: caller, subject: entry.spiffeID.description, reason: reason)
            throw .permissionDenied(reason)
        }
        return entry
    }

    private func sign(
        _ parameters: X509SVIDParameters, entryID: String?, requestedBy: SPIFFEID?, event: String, now: Date
    ) async throws(IssuanceError) -> [Certificate] {
        let chain: [Certificate]
        do {
            chain = try await authorities.activeCA.issue(parameters, now: now)
        } catch let error as ServerError {
            throw .internalError(error.message)
        } catch {
            throw .internalError(String(describing: error))
        }
        let leaf = chain[0]
        let serial = leaf.serialNumber.hexString
        var details = ["serial": serial, "expires_at": leaf.notValidAfter.formatted(.iso8601),
                       "ttl_seconds": String(Int(leaf.notValidAfter.timeIntervalSince(now)))]
        if let entryID { details["entry_id"] = entryID }
        do {
            try await store.recordIssuance(
                IssuedSVIDRecord(serialNumber: serial, kind: .x509, spiffeID: parameters.spiffeID, entryID: entryID,
                                 requestedBy: requestedBy, issuedAt: now, expiresAt: leaf.notValidAfter),
                audit: AuditEvent(kind: event, actor: requestedBy?.description ?? "server", subject: parameters.spiffeID.description,
                                  details: details, time: now))
        } catch {
            throw .internalError("cannot record issuance: \(error)")
        }
        logger.debug("issued X509-SVID", metadata: ["spiffe_id": "\(parameters.spiffeID)", "serial": "\(serial)", "by": "\(requestedBy?.description ?? "server")"])
        return chain
    }

    private func refuse(caller: SPIFFEID, subject: String, reason: String) async {
        logger.warning("refused SVID request", metadata: ["caller": "\(caller)", "subject": "\(subject)", "reason": "\(reason)"])
        try? await store.appendAudit(AuditEvent(kind: "svid.refuse", actor: caller.description, subject: subject, details: ["reason": reason]))
    }

    /// A short, stable identifier for a JWT: the hex SHA-256 of the token, first 32 characters.
    static func tokenID(_ token: String) -> String {
        SHA256Hex.digest(Array(token.utf8)).prefix(32).description
    }
}

/// Why an SVID request was refused.
public enum IssuanceError: Error, Hashable, Sendable, CustomStringConvertible {
    case invalidRequest(String)
    case notFound(String)
    case permissionDenied(String)
    case internalError(String)

    public var description: String {
        switch self {
        case .invalidRequest(let message), .notFound(let message), .permissionDenied(let message), .internalError(let message):
            return message
        }
    }
}
