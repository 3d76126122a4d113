import Authority
import Foundation
import SPIFFE
import X509

extension Revocation {
    /// A signal after every change of the published revocations (a revocation, an expiry, a new
    /// CA, a re-signed CRL). Read ``snapshot`` for the new state.
    public func changes() -> AsyncStream<Void> { changeSignal.stream() }

    /// Re-signs the CRLs from the current state and tells every watcher.
    func publish(now: Date) async {
        await resignCRLs(now: now)
        changeSignal.signal()
    }

    /// Signs one CRL per X.509 CA, each listing the revoked X509-SVIDs that CA signed (and those
    /// whose CA is unknown), with one new CRL number, and makes them the published snapshot.
    /// Signings never overlap, so CRL numbers are published in increasing order.
    func resignCRLs(now: Date) async {
        await acquireSigning()
        defer { releaseSigning() }
        let number: UInt64
        do {
            number = try await store.nextCRLNumber()
        } catch {
            logger.error("cannot sign CRLs: no CRL number", metadata: ["error": "\(error)"])
            return
        }
        let authorities = await self.authorities.x509Authorities
        let activeKeyID = (try? await self.authorities.activeCA)?.keyIdentifier
        let validity = await crlValidity()
        // Read after the last suspension point: the newest state is what gets signed.
        let listing = self.listing
        var lists: [CertificateRevocationList] = []
        var active: CertificateRevocationList?
        let thisUpdate = now.addingTimeInterval(-CertificateAuthority.backdate)
        for ca in authorities {
            let keyID = SHA256Hex.hex(ca.keyIdentifier)
            let entries = listing.crlEntries(issuerKeyID: keyID)
            do {
                let crl = try ca.signCRL(
                    entries: entries, thisUpdate: thisUpdate, nextUpdate: now.addingTimeInterval(validity.timeInterval), crlNumber: number)
                lists.append(crl)
                if ca.keyIdentifier == activeKeyID { active = crl }
            } catch {
                logger.error("cannot sign a CRL", metadata: ["ca": "\(ca.certificate.subject)", "error": "\(error)"])
            }
        }
        snapshot = RevocationSnapshot(listing: listing, crls: lists, activeCRL: active, signedAt: now)
        logger.debug("CRLs signed", metadata: ["crl_number": "\(number)", "crls": "\(lists.count)", "revoked": "\(listing.items.count)"])
    }

    /// The lifetime of a CRL: the setting, else the bundle's refresh hint (at least a minute).
    func crlValidity() async -> Duration {
        if let validity = settings.crlValidity { return validity }
        return .seconds(max(60, await authorities.bundle.refreshHint ?? 3600))
    }

    static func entry(_ credential: RevokedCredential) -> CertificateRevocationList.Entry? {
        guard let bytes = hexBytes(credential.serialNumber) else { return nil }
        return CertificateRevocationList.Entry(serialNumber: Certificate.SerialNumber(bytes: bytes), revocationDate: credential.revokedAt)
    }

    static func hexBytes(_ hex: String) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard !digits.isEmpty, digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        var index = 0
        while index < digits.count {
            guard let high = hexValue(digits[index]), let low = hexValue(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    private static func hexValue(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return digit - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    private func acquireSigning() async {
        while signing {
            await withCheckedContinuation { signingWaiters.append($0) }
        }
        signing = true
    }

    private func releaseSigning() {
        signing = false
        if !signingWaiters.isEmpty { signingWaiters.removeFirst().resume() }
    }
}
