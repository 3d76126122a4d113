import Foundation
import GRDB
import SPIFFE

/// A row of `issued_svids` (its ancestors are rows of `issued_svid_ancestors`, see
/// ``SQLiteAncestorRows``).
struct SQLiteIssuedSVIDRow: Sendable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "issued_svids"

    enum Columns {
        static let serialNumber = Column("serial_number")
        static let spiffeID = Column("spiffe_id")
        static let expiresAt = Column("expires_at")
        static let revokedAt = Column("revoked_at")
        static let issuedAt = Column("issued_at")
    }

    var serialNumber: String
    var kind: String
    var spiffeID: String
    var entryID: String?
    var requestedBy: String?
    var issuedAt: Int64
    var expiresAt: Int64
    var revokedAt: Int64?
    var publicKeyHash: String?
    var issuerKeyID: String?
    var revocationReason: String?
    var revokedBy: String?

    init(_ svid: IssuedSVIDRecord) {
        serialNumber = svid.serialNumber
        kind = svid.kind.rawValue
        spiffeID = svid.spiffeID.description
        entryID = svid.entryID
        requestedBy = svid.requestedBy?.description
        issuedAt = StoredTime.milliseconds(svid.issuedAt)
        expiresAt = StoredTime.milliseconds(svid.expiresAt)
        revokedAt = svid.revokedAt.map(StoredTime.milliseconds)
        publicKeyHash = svid.publicKeyHash
        issuerKeyID = svid.issuerKeyID
        revocationReason = svid.revocationReason
        revokedBy = svid.revokedBy
    }

    init(row: Row) throws {
        serialNumber = try row.decode(forColumn: "serial_number")
        kind = try row.decode(forColumn: "kind")
        spiffeID = try row.decode(forColumn: "spiffe_id")
        entryID = try row.decode(forColumn: "entry_id")
        requestedBy = try row.decode(forColumn: "requested_by")
        issuedAt = try row.decode(forColumn: "issued_at")
        expiresAt = try row.decode(forColumn: "expires_at")
        revokedAt = try row.decode(forColumn: "revoked_at")
        publicKeyHash = try row.decode(forColumn: "public_key_hash")
        issuerKeyID = try row.decode(forColumn: "issuer_key_id")
        revocationReason = try row.decode(forColumn: "revocation_reason")
        revokedBy = try row.decode(forColumn: "revoked_by")
    }

    func encode(to container: inout PersistenceContainer) {
        container["serial_number"] = serialNumber
        container["kind"] = kind
        container["spiffe_id"] = spiffeID
        container["entry_id"] = entryID
        container["requested_by"] = requestedBy
        container["issued_at"] = issuedAt
        container["expires_at"] = expiresAt
        container["revoked_at"] = revokedAt
        container["public_key_hash"] = publicKeyHash
        container["issuer_key_id"] = issuerKeyID
        container["revocation_reason"] = revocationReason
        container["revoked_by"] = revokedBy
    }

    /// The record, with `ancestors` as read from `issued_svid_ancestors`.
    func model(ancestors: [IssuedSVIDRecord.Ancestor] = []) throws(DataStoreError) -> IssuedSVIDRecord {
        let record = "issued SVID \(serialNumber)"
        return IssuedSVIDRecord(
            serialNumber: serialNumber,
            kind: try StoredValues.enumeration(IssuedSVIDRecord.Kind.self, kind, record, column: "kind"),
            spiffeID: try StoredValues.spiffeID(spiffeID, record, column: "spiffe_id"),
            entryID: entryID,
            requestedBy: try StoredValues.optionalSPIFFEID(requestedBy, record, column: "requested_by"),
            issuedAt: StoredTime.date(issuedAt),
            expiresAt: StoredTime.date(expiresAt),
            revokedAt: revokedAt.map(StoredTime.date),
            publicKeyHash: publicKeyHash,
            ancestors: ancestors,
            issuerKeyID: issuerKeyID,
            revocationReason: revocationReason,
            revokedBy: revokedBy)
    }
}
