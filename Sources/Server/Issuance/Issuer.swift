import Authority
import Foundation
import Lineage
import Logging
import SPIFFE
import X509

/// Decides who may have which SVID and signs it: agent SVIDs after node attestation or renewal
/// (with the first lineage link, the server's statement), and X509-SVIDs and JWT-SVIDs for the
/// children of an authenticated layer, carrying the lineage that layer vouched for. Every
/// issuance and every refusal is recorded.
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
    let metrics: ServerMetrics

    public init(
        authorities: AuthorityManager, store: any DataStore, index: RegistrationIndex, defaults: Defaults, logger: Logger,
        metrics: ServerMetrics = ServerMetrics()
    ) {
        self.authorities = authorities
        self.store = store
        self.index = index
        self.defaults = defaults
        self.logger = logger
        self.metrics = metrics
    }

    /// The X509-SVID lifetime of an entry.
    public func x509TTL(of entry: RegistrationEntry) -> Duration {
        entry.x509TTL > 0 ? .seconds(entry.x509TTL) : defaults.x509TTL
    }

    /// The JWT-SVID lifetime of an entry.
    public func jwtTTL(of entry: RegistrationEntry) -> Duration {
        entry.jwtTTL > 0 ? .seconds(entry.jwtTTL) : defaults.jwtTTL
    }

    /// Signs an agent SVID for `agentID` from a CSR, with the first lineage link: the server's
    /// statement of how the node was attested (and its evidence), signed by the CA.
    public func issueAgentSVID(
        agentID: SPIFFEID, csrDER: [UInt8], attestor: String, selectors: [String], evidence: [UInt8],
        event: String, now: Date = Date()
    ) async throws(IssuanceError) -> [Certificate] {
        let started = ContinuousClock.now
        let csr: CertificateSigningRequest
        do {
            csr = try X509SVIDParameters.verifiedCSR(der: csrDER)
        } catch {
            throw .invalidRequest(error.description)
        }
        let ca: CertificateAuthority
        do {
            ca = try await authorities.activeCA
        } catch {
            throw .internalError(error.message)
        }
        let expiresAt = min(now.addingTimeInterval(defaults.agentTTL.timeInterval), ca.certificate.notValidAfter)
        let lineage: Lineage
        do {
            let root = try LinkBuilder.root(
                spiffeID: agentID.description, publicKey: csr.publicKey, attestor: attestor, selectors: selectors,
                issuedAt: now, expiresAt: expiresAt, evidence: evidence, signedBy: ca.key.certificatePrivateKey)
            lineage = Lineage(links: [root])
        } catch {
            throw .internalError("cannot sign the first lineage link: \(error)")
        }
        let parameters = X509SVIDParameters(
            spiffeID: agentID, publicKey: csr.publicKey, ttl: .seconds(Int64(expiresAt.timeIntervalSince(now).rounded(.down))))
        return try await sign(parameters, lineage: lineage, entryID: nil, requestedBy: agentID, event: event, now: now, ca: ca,
                              metric: .agent, started: started)
    }

    /// Signs the server's own TLS SVID.
    public func issueServerSVID(serverID: SPIFFEID, publicKey: Certificate.PublicKey, ttl: Duration, now: Date = Date()) async throws(IssuanceError) -> [Certificate] {
        let parameters = X509SVIDParameters(spiffeID: serverID, publicKey: publicKey, ttl: ttl, dnsNames: [])
        return try await sign(parameters, lineage: nil, entryID: nil, requestedBy: nil, event: "svid.issue.server", now: now, ca: nil,
                              metric: .agent, started: ContinuousClock.now)
    }

    /// Signs an X509-SVID for a child of `caller`, for entry `entryID`, from a CSR and the lineage
    /// link the caller signed. `requestedID` names the child of a wildcard entry.
    public func mintX509SVID(
        caller: Caller, entryID: String, requestedID: String, csrDER: [UInt8], linkDER: [UInt8], now: Date = Date()
    ) async throws(IssuanceError) -> (SPIFFEID, [Certificate]) {
        let started = ContinuousClock.now
        let (entry, childID) = try await authorizedChild(caller: caller, entryID: entryID, requestedID: requestedID, kind: "X509-SVID")
        let csr: CertificateSigningRequest
        do {
            csr = try X509SVIDParameters.verifiedCSR(der: csrDER)
        } catch {
            await refuse(caller: caller.spiffeID, subject: childID.description, reason: error.description)
            throw .invalidRequest(error.description)
        }
        let link = try await checked(ChildLinkCheck(caller: caller, entry: entry, childID: childID, childKey: csr.publicKey, now: now), linkDER)
        let maximum = now.addingTimeInterval(x509TTL(of: entry).timeInterval + ChildLinkCheck.leeway)
        guard link.expiresAt <= maximum else {
            let reason = "requested lifetime (until \(link.expiresAt.formatted(.iso8601))) exceeds the entry's X509-SVID TTL of \(DurationText.format(x509TTL(of: entry)))"
            await refuse(caller: caller.spiffeID, subject: childID.description, reason: reason)
            throw .permissionDenied(reason)
        }
        let lineage: Lineage
        do {
            lineage = try caller.lineage.appending(link)
        } catch {
            throw .invalidRequest("\(error)")
        }
        let ttl = Duration.seconds(Int64(link.expiresAt.timeIntervalSince(now).rounded(.down)))
        let parameters = X509SVIDParameters(spiffeID: childID, publicKey: csr.publicKey, ttl: ttl, dnsNames: entry.dnsNames)
        let chain = try await sign(parameters, lineage: lineage, entryID: entry.id, requestedBy: caller.spiffeID, event: "svid.issue", now: now, ca: nil,
                                   metric: .x509, started: started)
        return (childID, chain)
    }

    /// Signs a JWT-SVID for a child of `caller`, if the entry and the caller allow every audience
    /// asked for. The token carries the lineage in `lineage` and the ancestors in `act`.
    public func mintJWTSVID(
        caller: Caller, entryID: String, requestedID: String, audience: [String], linkDER: [UInt8], now: Date = Date()
    ) async throws(IssuanceError) -> (token: String, expiresAt: Date) {
        let started = ContinuousClock.now
        let (entry, childID) = try await authorizedChild(caller: caller, entryID: entryID, requestedID: requestedID, kind: "JWT-SVID")
        guard !audience.isEmpty, !audience.contains(where: \.isEmpty) else {
            throw .invalidRequest("a JWT-SVID needs at least one non-empty audience")
        }
        for (limit, whose) in [(entry.audiences, "the entry \(entry.template)")] + caller.describedAudienceLimits where !limit.isEmpty {
            let widened = audience.filter { !limit.contains($0) }
            if !widened.isEmpty {
                let reason = "audience \(widened.joined(separator: ", ")) is wider than \(whose) allows (\(limit.joined(separator: ", ")))"
                await refuse(caller: caller.spiffeID, subject: childID.description, reason: reason)
                throw .permissionDenied(reason)
            }
        }
        let link = try await checked(ChildLinkCheck(caller: caller, entry: entry, childID: childID, childKey: nil, now: now), linkDER)
        let ttl = jwtTTL(of: entry)
        guard link.expiresAt <= now.addingTimeInterval(ttl.timeInterval + ChildLinkCheck.leeway) else {
            let reason = "requested lifetime exceeds the entry's JWT-SVID TTL of \(DurationText.format(ttl))"
            await refuse(caller: caller.spiffeID, subject: childID.description, reason: reason)
            throw .permissionDenied(reason)
        }
        do {
            let lineage = try caller.lineage.appending(link)
            var claims: [String: JSONValue] = ["lineage": LineageJSON.claim(lineage)]
            if let act = LineageJSON.actClaim(lineage) { claims["act"] = act }
            let authority = try await authorities.activeJWTAuthority
            let lifetime = Duration.seconds(Int64(link.expiresAt.timeIntervalSince(now).rounded(.down)))
            let token = try await authority.sign(spiffeID: childID, audience: audience, ttl: lifetime, extraClaims: claims, now: now)
            let expiresAt = min(link.expiresAt, authority.notAfter)
            let tokenID = Self.tokenID(token)
            var details = AuditLineage.details(lineage)
            details.merge(["token_id": tokenID, "serial": tokenID, "svid_kind": "jwt", "audience": audience.joined(separator: " "),
                           "entry_id": entry.id, "requested_by": caller.spiffeID.description,
                           "expires_at": expiresAt.formatted(.iso8601), "ttl_seconds": String(Int(expiresAt.timeIntervalSince(now)))]) { $1 }
            try await store.recordIssuance(
                IssuedSVIDRecord(serialNumber: tokenID, kind: .jwt, spiffeID: childID, entryID: entry.id, requestedBy: caller.spiffeID,
                                 issuedAt: now, expiresAt: expiresAt, ancestors: ChildLinkCheck.ancestors(of: lineage)),
                audit: AuditEvent(kind: "jwt_svid.issue", actor: caller.spiffeID.description, subject: childID.description,
                                  details: details, time: now))
            metrics.issued(.jwt, duration: ContinuousClock.now - started)
            return (token, expiresAt)
        } catch let error as IssuanceError {
            throw error
        } catch let error as ServerError {
            throw .internalError(error.message)
        } catch {
            throw .internalError(String(describing: error))
        }
    }

    /// The entry, if the caller may serve it, and the concrete child ID.
    private func authorizedChild(caller: Caller, entryID: String, requestedID: String, kind: String) async throws(IssuanceError) -> (RegistrationEntry, SPIFFEID) {
        guard let entry = await index.entry(id: entryID) else {
            await refuse(caller: caller.spiffeID, subject: entryID, reason: "no such entry")
            throw .notFound("no entry \(entryID)")
        }
        guard await index.may(caller.spiffeID, serve: entry) else {
            let reason = "\(caller.spiffeID) may not obtain a \(kind) for \(entry.template): its parent is \(entry.parentID)"
            await refuse(caller: caller.spiffeID, subject: entry.template, reason: reason)
            throw .permissionDenied(reason)
        }
        if requestedID.isEmpty {
            guard !entry.isWildcard else {
                throw .invalidRequest("entry \(entry.template) is a wildcard: name the child's SPIFFE ID")
            }
            return (entry, entry.spiffeID)
        }
        let childID: SPIFFEID
        do {
            childID = try SPIFFEID(requestedID)
        } catch {
            throw .invalidRequest("requested SPIFFE ID '\(requestedID)': \(error)")
        }
        guard entry.grants(childID) else {
            let reason = "\(childID) is not granted by entry \(entry.template)"
            await refuse(caller: caller.spiffeID, subject: childID.description, reason: reason)
            throw .permissionDenied(reason)
        }
        return (entry, childID)
    }

    private func checked(_ check: ChildLinkCheck, _ linkDER: [UInt8]) async throws(IssuanceError) -> LineageLink {
        do {
            return try check.verify(linkDER)
        } catch {
            await refuse(caller: check.caller.spiffeID, subject: check.childID.description, reason: error.description)
            throw error
        }
    }

    private func sign(
        _ parameters: X509SVIDParameters, lineage: Lineage?, entryID: String?, requestedBy: SPIFFEID?, event: String, now: Date,
        ca: CertificateAuthority?, metric: ServerMetrics.IssuanceKind, started: ContinuousClock.Instant
    ) async throws(IssuanceError) -> [Certificate] {
        var parameters = parameters
        let chain: [Certificate]
        let issuerKeyID: String
        do {
            if let lineage { parameters.extraExtensions.append(try LineageExtension.make(lineage)) }
            let authority: CertificateAuthority
            if let ca { authority = ca } else { authority = try await authorities.activeCA }
            chain = try authority.issue(parameters, now: now)
            issuerKeyID = SHA256Hex.hex(authority.keyIdentifier)
        } catch let error as ServerError {
            throw .internalError(error.message)
        } catch {
            throw .internalError(String(describing: error))
        }
        let leaf = chain[0]
        let serial = leaf.serialNumber.hexString
        var details = ["serial": serial, "svid_kind": metric == .x509 ? "x509" : "x509-agent", "expires_at": leaf.notValidAfter.formatted(.iso8601),
                       "ttl_seconds": String(Int(leaf.notValidAfter.timeIntervalSince(now))), "issuer_key_id": issuerKeyID]
        if let entryID { details["entry_id"] = entryID }
        if let requestedBy { details["requested_by"] = requestedBy.description }
        if let lineage { details.merge(AuditLineage.details(lineage)) { $1 } }
        do {
            try await store.recordIssuance(
                IssuedSVIDRecord(serialNumber: serial, kind: .x509, spiffeID: parameters.spiffeID, entryID: entryID,
                                 requestedBy: requestedBy, issuedAt: now, expiresAt: leaf.notValidAfter,
                                 publicKeyHash: SHA256Hex.digest(parameters.publicKey.spkiDER),
                                 ancestors: lineage.map(ChildLinkCheck.ancestors(of:)) ?? [], issuerKeyID: issuerKeyID),
                audit: AuditEvent(kind: event, actor: requestedBy?.description ?? "server", subject: parameters.spiffeID.description,
                                  details: details, time: now))
        } catch {
            throw .internalError("cannot record issuance: \(error)")
        }
        metrics.issued(metric, duration: ContinuousClock.now - started)
        logger.debug("issued X509-SVID", metadata: ["spiffe_id": "\(parameters.spiffeID)", "serial": "\(serial)", "by": "\(requestedBy?.description ?? "server")"])
        return chain
    }

    private func refuse(caller: SPIFFEID, subject: String, reason: String) async {
        metrics.refusals.increment()
        logger.warning("refused SVID request", metadata: ["caller": "\(caller)", "subject": "\(subject)", "reason": "\(reason)"])
        try? await store.appendAudit(AuditEvent(kind: "svid.refuse", actor: caller.description, subject: subject, details: ["reason": reason]))
    }

    /// A short, stable identifier for a JWT: the hex SHA-256 of the token, first 32 characters.
    public static func tokenID(_ token: String) -> String {
        String(SHA256Hex.digest(Array(token.utf8)).prefix(32))
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
