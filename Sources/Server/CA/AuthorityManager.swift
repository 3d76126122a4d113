import Authority
import Foundation
import Logging
import SPIFFE
import X509

/// Owns the server's signing keys: the X.509 CA that signs X509-SVIDs and the key that signs
/// JWT-SVIDs, their rotation, and the trust bundle that publishes them.
///
/// Rotation (per kind): at half of the active key's lifetime a successor is *prepared* — created
/// and published in the bundle, but not yet signing; at five sixths it becomes *active* and the
/// old one *retired*; a retired key stays in the bundle until it expires (nothing it signed can
/// outlive it, because SVIDs are clamped to their CA's lifetime). Every change bumps the bundle's
/// sequence number and is pushed to ``bundleUpdates()`` subscribers.
public actor AuthorityManager {
    public struct Settings: Sendable {
        public var trustDomain: TrustDomain
        public var keyAlgorithm: KeyAlgorithm
        public var caTTL: Duration
        /// Signs this server's CAs when set; its roots (not our CAs) are then the bundle.
        public var upstream: CertificateAuthority?
        public var upstreamBundle: [Certificate]

        public init(trustDomain: TrustDomain, keyAlgorithm: KeyAlgorithm = .default, caTTL: Duration, upstream: CertificateAuthority? = nil, upstreamBundle: [Certificate] = []) {
            self.trustDomain = trustDomain
            self.keyAlgorithm = keyAlgorithm
            self.caTTL = caTTL
            self.upstream = upstream
            self.upstreamBundle = upstreamBundle
        }
    }

    private struct X509Slot {
        var record: AuthorityRecord
        var ca: CertificateAuthority
    }

    private struct JWTSlot {
        var record: AuthorityRecord
        var authority: JWTAuthority
    }

    private let store: any DataStore
    private let settings: Settings
    private let logger: Logger
    private var x509: [X509Slot] = []
    private var jwt: [JWTSlot] = []
    private var currentBundle: SPIFFEBundle
    private var watchers: [UUID: AsyncStream<SPIFFEBundle>.Continuation] = [:]

    public init(store: any DataStore, settings: Settings, logger: Logger) {
        self.store = store
        self.settings = settings
        self.logger = logger
        self.currentBundle = SPIFFEBundle(trustDomain: settings.trustDomain)
    }

    /// Loads the keys from the datastore, creating or rotating them as needed.
    public func start(now: Date = Date()) async throws(ServerError) {
        let records: [AuthorityRecord]
        do {
            records = try await store.authorities()
        } catch {
            throw ServerError("cannot load signing keys: \(error)")
        }
        for record in records {
            do {
                switch record.kind {
                case .x509: x509.append(X509Slot(record: record, ca: try loadCA(record)))
                case .jwt: jwt.append(JWTSlot(record: record, authority: try loadJWT(record)))
                }
            } catch {
                logger.error("ignoring unreadable signing key", metadata: ["id": "\(record.id)", "error": "\(error)"])
            }
        }
        currentBundle.sequenceNumber = nil
        try await rotate(now: now)
        if currentBundle.sequenceNumber == nil { try await publishBundle(force: true) }
    }

    /// Prepares, activates and retires keys whose time has come. Returns whether anything changed.
    @discardableResult
    public func rotate(now: Date = Date()) async throws(ServerError) -> Bool {
        var changed = false
        changed = try await rotateX509(now: now) || changed
        changed = try await rotateJWT(now: now) || changed
        if changed { try await publishBundle(force: false) }
        return changed
    }

    /// The CA that signs X509-SVIDs now.
    public var activeCA: CertificateAuthority {
        get throws(ServerError) {
            guard let slot = x509.first(where: { $0.record.state == .active }) else { throw ServerError("no active X.509 CA") }
            return slot.ca
        }
    }

    /// Every X.509 CA held (prepared, active and retired), oldest first: each publishes a CRL.
    public var x509Authorities: [CertificateAuthority] {
        x509.sorted { $0.record.notBefore < $1.record.notBefore }.map(\.ca)
    }

    /// The key that signs JWT-SVIDs now.
    public var activeJWTAuthority: JWTAuthority {
        get throws(ServerError) {
            guard let slot = jwt.first(where: { $0.record.state == .active }) else { throw ServerError("no active JWT key") }
            return slot.authority
        }
    }

    /// The trust bundle: every published CA and JWT key.
    public var bundle: SPIFFEBundle { currentBundle }

    /// The bundle now and after every change.
    public func bundleUpdates() -> AsyncStream<SPIFFEBundle> {
        let (stream, continuation) = AsyncStream<SPIFFEBundle>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let id = UUID()
        watchers[id] = continuation
        continuation.yield(currentBundle)
        continuation.onTermination = { [weak self] _ in
            Task { await self?.removeWatcher(id) }
        }
        return stream
    }

    /// The next time a rotation step is due, for the caller's timer.
    public func nextRotation(after now: Date = Date()) -> Date {
        var candidates: [Date] = []
        for record in x509.map(\.record) + jwt.map(\.record) {
            let lifetime = record.notAfter.timeIntervalSince(record.notBefore)
            switch record.state {
            case .active:
                candidates.append(record.notBefore.addingTimeInterval(lifetime / 2))
                candidates.append(record.notBefore.addingTimeInterval(lifetime * 5 / 6))
            case .retired, .prepared:
                candidates.append(record.notAfter)
            }
        }
        return candidates.filter { $0 > now }.min() ?? now.addingTimeInterval(60)
    }

    private func removeWatcher(_ id: UUID) {
        watchers[id] = nil
    }

    // MARK: X.509

    private func rotateX509(now: Date) async throws(ServerError) -> Bool {
        var changed = false
        for slot in x509 where slot.record.state == .retired && now >= slot.record.notAfter {
            try await delete(slot.record, reason: "expired")
            changed = true
        }
        x509.removeAll { $0.record.state == .retired && now >= $0.record.notAfter }

        if let index = x509.firstIndex(where: { $0.record.state == .active }), now >= x509[index].record.notAfter {
            x509[index].record.state = .retired
            try await save(x509[index].record, event: "ca.retire", reason: "expired while the server was down")
            changed = true
        }
        if !x509.contains(where: { $0.record.state == .active }) {
            if let prepared = x509.firstIndex(where: { $0.record.state == .prepared && now < $0.record.notAfter }) {
                x509[prepared].record.state = .active
                try await save(x509[prepared].record, event: "ca.activate", reason: "no active CA")
            } else {
                x509.append(try await newX509(state: .active, now: now))
            }
            changed = true
        }
        guard let active = x509.firstIndex(where: { $0.record.state == .active }) else { return changed }
        let record = x509[active].record
        let lifetime = record.notAfter.timeIntervalSince(record.notBefore)
        if now >= record.notBefore.addingTimeInterval(lifetime / 2), !x509.contains(where: { $0.record.state == .prepared }) {
            x509.append(try await newX509(state: .prepared, now: now))
            changed = true
        }
        if now >= record.notBefore.addingTimeInterval(lifetime * 5 / 6),
           let prepared = x509.firstIndex(where: { $0.record.state == .prepared }) {
            x509[active].record.state = .retired
            try await save(x509[active].record, event: "ca.retire", reason: "successor activated")
            x509[prepared].record.state = .active
            try await save(x509[prepared].record, event: "ca.activate", reason: "rotation")
            logger.notice("X.509 CA rotated", metadata: [
                "old": "\(x509[active].ca.certificate.serialNumber.hexString)",
                "new": "\(x509[prepared].ca.certificate.serialNumber.hexString)",
            ])
            changed = true
        }
        return changed
    }

    private func newX509(state: AuthorityRecord.State, now: Date) async throws(ServerError) -> X509Slot {
        let ca: CertificateAuthority
        do {
            if let upstream = settings.upstream {
                ca = try upstream.createIntermediate(
                    keyAlgorithm: settings.keyAlgorithm, ttl: settings.caTTL, now: now,
                    commonName: "\(settings.trustDomain) CA")
            } else {
                ca = try CertificateAuthority.createRoot(
                    trustDomain: settings.trustDomain, keyAlgorithm: settings.keyAlgorithm, ttl: settings.caTTL, now: now)
            }
        } catch {
            throw ServerError("cannot create X.509 CA: \(error)")
        }
        let record = AuthorityRecord(
            kind: .x509, privateKeyPEM: ca.key.pkcs8PEM, certificateDER: CertificateEncoding.der(ca.certificate),
            notBefore: ca.certificate.notValidBefore, notAfter: ca.certificate.notValidAfter, state: state, createdAt: now)
        try await save(record, event: state == .active ? "ca.create" : "ca.prepare", reason: "")
        logger.notice(state == .active ? "created X.509 CA" : "prepared next X.509 CA", metadata: [
            "serial": "\(ca.certificate.serialNumber.hexString)",
            "expires": "\(ca.certificate.notValidAfter.formatted(.iso8601))",
        ])
        return X509Slot(record: record, ca: ca)
    }

    private func loadCA(_ record: AuthorityRecord) throws -> CertificateAuthority {
        let certificate = try Certificate(derEncoded: record.certificateDER)
        let key = try SigningKey(pem: record.privateKeyPEM)
        var chain: [Certificate] = []
        if let upstream = settings.upstream { chain = [upstream.certificate] + upstream.upstreamChain }
        return try CertificateAuthority(trustDomain: settings.trustDomain, certificate: certificate, key: key, upstreamChain: chain)
    }

    // MARK: JWT

    private func rotateJWT(now: Date) async throws(ServerError) -> Bool {
        var changed = false
        for slot in jwt where slot.record.state == .retired && now >= slot.record.notAfter {
            try await delete(slot.record, reason: "expired")
            changed = true
        }
        jwt.removeAll { $0.record.state == .retired && now >= $0.record.notAfter }
        if let index = jwt.firstIndex(where: { $0.record.state == .active }), now >= jwt[index].record.notAfter {
            jwt[index].record.state = .retired
            try await save(jwt[index].record, event: "jwt_key.retire", reason: "expired while the server was down")
            changed = true
        }
        if !jwt.contains(where: { $0.record.state == .active }) {
            if let prepared = jwt.firstIndex(where: { $0.record.state == .prepared && now < $0.record.notAfter }) {
                jwt[prepared].record.state = .active
                try await save(jwt[prepared].record, event: "jwt_key.activate", reason: "no active key")
            } else {
                jwt.append(try await newJWT(state: .active, now: now))
            }
            changed = true
        }
        guard let active = jwt.firstIndex(where: { $0.record.state == .active }) else { return changed }
        let record = jwt[active].record
        let lifetime = record.notAfter.timeIntervalSince(record.notBefore)
        if now >= record.notBefore.addingTimeInterval(lifetime / 2), !jwt.contains(where: { $0.record.state == .prepared }) {
            jwt.append(try await newJWT(state: .prepared, now: now))
            changed = true
        }
        if now >= record.notBefore.addingTimeInterval(lifetime * 5 / 6),
           let prepared = jwt.firstIndex(where: { $0.record.state == .prepared }) {
            jwt[active].record.state = .retired
            try await save(jwt[active].record, event: "jwt_key.retire", reason: "successor activated")
            jwt[prepared].record.state = .active
            try await save(jwt[prepared].record, event: "jwt_key.activate", reason: "rotation")
            logger.notice("JWT signing key rotated", metadata: ["old": "\(jwt[active].record.keyID)", "new": "\(jwt[prepared].record.keyID)"])
            changed = true
        }
        return changed
    }

    private func newJWT(state: AuthorityRecord.State, now: Date) async throws(ServerError) -> JWTSlot {
        let notAfter = now.addingTimeInterval(settings.caTTL.timeInterval)
        let authority: JWTAuthority
        do {
            authority = try JWTAuthority.generate(trustDomain: settings.trustDomain, keyAlgorithm: settings.keyAlgorithm, notAfter: notAfter)
        } catch {
            throw ServerError("cannot create JWT key: \(error)")
        }
        let record = AuthorityRecord(
            kind: .jwt, privateKeyPEM: authority.key.pkcs8PEM, keyID: authority.keyID,
            notBefore: now, notAfter: notAfter, state: state, createdAt: now)
        try await save(record, event: state == .active ? "jwt_key.create" : "jwt_key.prepare", reason: "")
        logger.notice(state == .active ? "created JWT signing key" : "prepared next JWT signing key", metadata: ["kid": "\(authority.keyID)"])
        return JWTSlot(record: record, authority: authority)
    }

    private func loadJWT(_ record: AuthorityRecord) throws -> JWTAuthority {
        try JWTAuthority(trustDomain: settings.trustDomain, key: SigningKey(pem: record.privateKeyPEM), notAfter: record.notAfter, keyID: record.keyID)
    }

    // MARK: Persistence and the bundle

    private func save(_ record: AuthorityRecord, event: String, reason: String) async throws(ServerError) {
        var details = ["state": record.state.rawValue, "not_after": record.notAfter.formatted(.iso8601)]
        if !reason.isEmpty { details["reason"] = reason }
        if !record.keyID.isEmpty { details["kid"] = record.keyID }
        do {
            try await store.saveAuthority(record, audit: AuditEvent(kind: event, actor: "server", subject: record.id, details: details))
        } catch {
            throw ServerError("cannot save signing key: \(error)")
        }
    }

    private func delete(_ record: AuthorityRecord, reason: String) async throws(ServerError) {
        do {
            try await store.deleteAuthority(id: record.id, audit: AuditEvent(
                kind: record.kind == .x509 ? "ca.remove" : "jwt_key.remove", actor: "server", subject: record.id,
                details: ["reason": reason]))
        } catch {
            throw ServerError("cannot delete signing key: \(error)")
        }
    }

    private func publishBundle(force: Bool) async throws(ServerError) {
        var bundle = SPIFFEBundle(trustDomain: settings.trustDomain)
        if settings.upstream != nil {
            bundle.x509Authorities = settings.upstreamBundle
        } else {
            bundle.x509Authorities = x509.sorted { $0.record.notBefore < $1.record.notBefore }.map(\.ca.certificate)
        }
        for slot in jwt { bundle.jwtAuthorities[slot.authority.keyID] = slot.authority.publicKey }
        bundle.refreshHint = max(60, settings.caTTL.wholeSeconds / 12)
        let unchanged = bundle.x509Authorities == currentBundle.x509Authorities && bundle.jwtAuthorities == currentBundle.jwtAuthorities
        if unchanged && !force { return }
        do {
            bundle.sequenceNumber = try await store.nextBundleSequence()
        } catch {
            throw ServerError("cannot update bundle sequence: \(error)")
        }
        currentBundle = bundle
        for watcher in watchers.values { watcher.yield(bundle) }
    }
}
