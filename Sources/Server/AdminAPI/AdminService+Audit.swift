import Foundation
import GRPCCore
import MatryoshkaAPI
import X509

extension AdminService {
    /// Records per response message of `ListAuditRecords`.
    static let auditPageSize = 500

    /// The audit log, filtered (see ``AuditQuery``), oldest first, in pages.
    func listAuditRecords(
        request: Matryoshka_V1_ListAuditRecordsRequest, response: RPCWriter<Matryoshka_V1_ListAuditRecordsResponse>, context: ServerContext
    ) async throws {
        let log = try auditLog()
        let spiffeID = try request.spiffeID.isEmpty ? nil : Self.parseID(request.spiffeID, field: "--spiffe-id").description
        let query = AuditQuery(spiffeID: spiffeID, subtree: request.subtree, since: request.sinceMs > 0 ? StoredTime.date(request.sinceMs) : nil)
        do {
            // First pass: which identities and credentials the query concerns (subtree members
            // are only known from their issuance records).
            var scope = AuditQuery.Scope()
            if spiffeID != nil {
                var all: [AuditRecord] = []
                try await Self.forEachPage(log) { all += $0 }
                scope = query.scope(of: all)
            }
            try await Self.forEachPage(log) { page in
                let matching = page.filter { query.matches($0, in: scope) }
                if !matching.isEmpty {
                    try await response.write(Matryoshka_V1_ListAuditRecordsResponse.with { $0.records = matching.map(\.wire) })
                }
            }
        } catch let error as DataStoreError {
            throw error.rpcError
        }
    }

    /// Checks the chain and the signed heads against the server's CA certificates.
    func verifyAudit(request: Matryoshka_V1_VerifyAuditRequest, context: ServerContext) async throws -> Matryoshka_V1_VerifyAuditResponse {
        let log = try auditLog()
        do {
            let verifier = AuditVerifier(trustedCertificates: try await trustedAuditSigners())
            return try await verifier.verify(log).wire
        } catch {
            throw error.rpcError
        }
    }

    /// Every X.509 CA certificate the server holds (prepared, active, retired) and those of its bundle.
    func trustedAuditSigners() async throws(DataStoreError) -> [Certificate] {
        var certificates = try await store.authorities().filter { $0.kind == .x509 }.compactMap { try? Certificate(derEncoded: $0.certificateDER) }
        certificates += await authorities.bundle.x509Authorities
        return certificates
    }

    private func auditLog() throws(RPCError) -> any AuditLogStore {
        guard let log = store as? any AuditLogStore else {
            throw RPCError(code: .unimplemented, message: "this datastore does not support audit queries")
        }
        return log
    }

    private static func forEachPage(_ log: any AuditLogStore, _ body: ([AuditRecord]) async throws -> Void) async throws {
        var next: Int64 = 1
        while true {
            let page = try await log.auditRecords(from: next, limit: auditPageSize)
            guard let last = page.last else { return }
            try await body(page)
            next = last.sequence + 1
        }
    }
}
