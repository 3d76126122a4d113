import Attestation
import Foundation
import SPIFFE
import X509

/// Server side of join-token node attestation: the token must exist, be unexpired and unused;
/// redeeming it is atomic, so a token admits exactly one node.
struct JoinTokenAttestor: NodeAttestor {
    let store: any DataStore

    var type: String { JoinTokenAttestorClient.type }

    func attest(
        payload: [UInt8], agentKey: Certificate.PublicKey, trustDomain: TrustDomain, challenger: any NodeChallenger
    ) async throws(NodeAttestationError) -> NodeAttestationResult {
        let token = String(decoding: payload, as: UTF8.self)
        guard !token.isEmpty, token.utf8.count <= 256 else { throw NodeAttestationError("join token is missing or malformed") }
        let record: JoinTokenRecord
        do {
            record = try await store.redeemJoinToken(
                hash: SHA256Hex.digest(Array(token.utf8)), now: Date(),
                audit: AuditEvent(kind: "join_token.redeem", actor: "node", subject: SHA256Hex.digest(Array(token.utf8)).prefix(16).description))
        } catch {
            switch error {
            case .notFound: throw NodeAttestationError("join token is not valid")
            case .tokenUsed: throw NodeAttestationError("join token was already used")
            case .tokenExpired(let at): throw NodeAttestationError("join token expired at \(at.formatted(.iso8601))")
            default: throw NodeAttestationError("cannot check join token: \(error)")
            }
        }
        guard record.agentID.trustDomain == trustDomain else { throw NodeAttestationError("join token is for another trust domain") }
        let tokenID = record.agentID.segments.last.map(String.init) ?? ""
        // Built from a fixed type and a value from a valid SPIFFE ID path segment: cannot fail.
        let selectors = (try? Selector(type: "join_token", value: tokenID)).map { [$0] } ?? []
        return NodeAttestationResult(agentID: record.agentID, selectors: selectors, aliases: record.alias.map { [$0] } ?? [], canReattest: false)
    }
}
