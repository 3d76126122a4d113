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
        let signed = try signed(parameters, lineage: lineage, entryID: nil, requestedBy: agentID, event: event, now: now, ca: ca, kind: "x509-agent")
        try await record([signed], metric: .agent, started: started)
        return signed.chain
    }

    /// Signs the server's own TLS SVID.
    public func issueServerSVID(serverID: SPIFFEID, publicKey: Certificate.PublicKey, ttl: Duration, now: Date = Date()) async throws(IssuanceError) -> [Certificate] {
        let started = ContinuousClock.now
        let parameters = X509SVIDParameters(spiffeID: serverID, publicKey: publicKey, ttl: ttl, dnsNames: [])
        let signed = try signed(parameters, lineage: nil, entryID: nil, requestedBy: nil, event: "svid.issue.server", now: now,
                                ca: try await activeCA(), kind: "x509-agent")
        try await record([signed], metric: .agent, started: started)
        return signed.chain
    }

    /// Signs an X509-SVID for a child of `caller`, for entry `entryID`, from a CSR and the lineage
    /// link the caller signed. `requestedID` names the child of a wildcard entry.
    public func mintX509SVID(
        caller: Caller, entryID: String, requestedID: String, csrDER: [UInt8], linkDER: [UInt8], now: Date = Date()
    ) async throws(IssuanceError) -> (SPIFFEID, [Certificate]) {
        let request = X509SVIDRequest(entryID: entryID, requestedID: requestedID, csrDER: csrDER, linkDER: linkDER)
        let minted = try await mintX509SVIDs(caller: caller, requests: [request], now: now)[0].get()
        return (minted.spiffeID, minted.chain)
    }

    /// Signs the X509-SVIDs a caller asks for in one call: each is checked and signed on its own
    /// (in parallel, one task per core), and every one signed is recorded, with its audit
    /// record, in one transaction. A refusal affects only its own request; a failure to record
    /// fails every signed one (none of them is handed out unrecorded).
    public func mintX509SVIDs(caller: Caller, requests: [X509SVIDRequest], now: Date = Date()) async -> [Result<MintedX509SVID, IssuanceError>] {
        let started = ContinuousClock.now
        let ca: CertificateAuthority
        do {
            ca = try await activeCA()
        } catch {
            return requests.map { _ in .failure(error) }
        }
        var results = [Result<SignedSVID, IssuanceError>](repeating: .failure(.internalError("not signed")), count: requests.count)
        await withTaskGroup(of: IndexedSignature.self) { group in
            let width = max(1, ProcessInfo.processInfo.activeProcessorCount)
            for (index, request) in requests.enumerated() {
                if index >= width, let done = await group.next() { results[done.index] = done.result }
                group.addTask {
                    IndexedSignature(index: index, result: await self.signX509SVIDResult(caller: caller, request: request, ca: ca, now: now))
                }
            }
            for await done in group { results[done.index] = done.result }
        }
        let signed = results.compactMap { try? $0.get() }
        do {
            try await record(signed, metric: .x509, started: started)
        } catch {
            return results.map { $0.flatMap { _ in .failure(error) } }
        }
        return results.map { $0.map { MintedX509SVID(spiffeID: $0.spiffeID, chain: $0.chain) } }
    }

    private func signX509SVIDResult(caller: Caller, request: X509SVIDRequest, ca: CertificateAuthority, now: Date) async -> Result<SignedSVID, IssuanceError> {
        do {
            return .success(try await signX509SVID(caller: caller, request: request, ca: ca, now: now))
        } catch {
            return .failure(error)
        }
    }

    /// Checks one request of a caller and signs its SVID (not yet recorded).
    private func signX509SVID(caller: Caller, request: X509SVIDRequest, ca: CertificateAuthority, now: Date) async throws(IssuanceError) -> SignedSVID {
        let (entry, childID) = try await authorizedChild(caller: caller, entryID: request.entryID, requestedID: request.requestedID, kind: "X509-SVID")
        let csr: CertificateSigningRequest
        do {
            csr = try X509SVIDParameters.verifiedCSR(der: request.csrDER)
        } catch {
            await refuse(caller: caller.spiffeID, subject: childID.description, reason: error.description)
            throw .invalidRequest(error.description)
        }
        let keySPKI = csr.publicKey.spkiDER
        let link = try await checked(ChildLinkCheck(caller: caller, entry: entry, childID: childID, childKeySPKI: keySPKI, now: now), request.linkDER)
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
        var parameters = X509SVIDParameters(spiffeID: childID, publicKey: csr.publicKey, ttl: ttl, dnsNames: entry.dnsNames)
        parameters.publicKeySPKI = keySPKI
        return try signed(parameters, lineage: lineage, entryID: entry.id, requestedBy: caller.spiffeID, event: "svid.issue", now: now, ca: ca, kind: "x509")
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
        let link = try await checked(ChildLinkCheck(caller: caller, entry: entry, childID: childID, childKeySPKI: nil, now: now), linkDER)
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

    private func activeCA() async throws(IssuanceError) -> CertificateAuthority {
        do {
            return try await authorities.activeCA
        } catch {
            throw .internalError(error.message)
        }
    }

    /// Signs an X509-SVID and prepares its record (`kind` is the audit record's `svid_kind`).
    private func signed(
        _ parameters: X509SVIDParameters, lineage: Lineage?, entryID: String?, requestedBy: SPIFFEID?, event: String, now: Date,
        ca: CertificateAuthority, kind: String
    ) throws(IssuanceError) -> SignedSVID {
        var parameters = parameters
        let chain: [Certificate]
        do {
            if let lineage { parameters.extraExtensions.append(try LineageExtension.make(lineage)) }
            chain = try ca.issue(parameters, now: now)
        } catch let error as AuthorityError {
            throw .internalError(error.description)
        } catch {
            throw .internalError(String(describing: error))
        }
        let issuerKeyID = SHA256Hex.hex(ca.keyIdentifier)
        let leaf = chain[0]
        let serial = leaf.serialNumber.hexString
        var details = ["serial": serial, "svid_kind": kind, "expires_at": leaf.notValidAfter.formatted(.iso8601),
                       "ttl_seconds": String(Int(leaf.notValidAfter.timeIntervalSince(now))), "issuer_key_id": issuerKeyID]
        if let entryID { details["entry_id"] = entryID }
        if let requestedBy { details["requested_by"] = requestedBy.description }
        if let lineage { details.merge(AuditLineage.details(lineage)) { $1 } }
        let record = IssuanceRecord(
            svid: IssuedSVIDRecord(serialNumber: serial, kind: .x509, spiffeID: parameters.spiffeID, entryID: entryID,
                                   requestedBy: requestedBy, issuedAt: now, expiresAt: leaf.notValidAfter,
                                   publicKeyHash: SHA256Hex.digest(parameters.publicKeySPKI ?? parameters.publicKey.spkiDER),
                                   ancestors: lineage.map(ChildLinkCheck.ancestors(of:)) ?? [], issuerKeyID: issuerKeyID),
            audit: AuditEvent(kind: event, actor: requestedBy?.description ?? "server", subject: parameters.spiffeID.description,
                              details: details, time: now))
        return SignedSVID(spiffeID: parameters.spiffeID, chain: chain, record: record)
    }

    /// Records signed SVIDs (one transaction); only then may they be handed out.
    private func record(_ signed: [SignedSVID], metric: ServerMetrics.IssuanceKind, started: ContinuousClock.Instant) async throws(IssuanceError) {
        guard !signed.isEmpty else { return }
        do {
            try await store.recordIssuances(signed.map(\.record))
        } catch {
            throw .internalError("cannot record issuance: \(error)")
        }
        let duration = ContinuousClock.now - started
        for svid in signed {
            metrics.issued(metric, duration: duration)
            logger.debug("issued X509-SVID", metadata: [
                "spiffe_id": "\(svid.spiffeID)", "serial": "\(svid.record.svid.serialNumber)",
                "by": "\(svid.record.svid.requestedBy?.description ?? "server")",
            ])
        }
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

/// One X509-SVID a caller asks for: the entry, the child's ID for a wildcard entry (else empty),
/// the CSR and the lineage link the caller signed.
public struct X509SVIDRequest: Sendable {
    public var entryID: String
    public var requestedID: String
    public var csrDER: [UInt8]
    public var linkDER: [UInt8]

    public init(entryID: String, requestedID: String, csrDER: [UInt8], linkDER: [UInt8]) {
        self.entryID = entryID
        self.requestedID = requestedID
        self.csrDER = csrDER
        self.linkDER = linkDER
    }
}

/// An X509-SVID signed and recorded for a child.
public struct MintedX509SVID: Sendable {
    public let spiffeID: SPIFFEID
    public let chain: [Certificate]
}

/// The outcome of one request of a batch, with its place in the batch. (A struct, not a tuple
/// returned from a `do throws(IssuanceError)` block inside the task: that form trapped with an
/// out-of-range index in release builds of Swift 6.3.1, though debug builds were right.)
struct IndexedSignature: Sendable {
    let index: Int
    let result: Result<SignedSVID, IssuanceError>
}

/// An SVID signed but not yet recorded.
struct SignedSVID: Sendable {
    let spiffeID: SPIFFEID
    let chain: [Certificate]
    let record: IssuanceRecord
}
