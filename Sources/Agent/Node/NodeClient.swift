import Attestation
import Authority
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import MatryoshkaAPI
import SPIFFE
import Synchronization
import X509

/// The agent's side of the server's node API, over TLS: the agent presents `identity` (its SVID,
/// or a bootstrap certificate while attesting) and requires the server to present the server
/// SPIFFE ID under the current bundle.
struct NodeClient: Sendable {
    let node: Matryoshka_V1_Node.Client<HTTP2ClientTransport.Posix>

    /// Deadline of unary calls.
    static let callTimeout: Duration = .seconds(15)

    /// Runs `body` with a client connected to the server; the connection closes when it returns.
    static func withConnection<Result: Sendable>(
        host: String, port: Int, serverID: SPIFFEID,
        identity: SVIDCertificateReloader,
        bundle: @escaping @Sendable () async -> any X509BundleSource,
        diagnostics: TLSDiagnostics,
        body: @Sendable (NodeClient) async throws -> Result
    ) async throws -> Result {
        let security = try HTTP2ClientTransport.Posix.TransportSecurity.mTLS(certificateReloader: identity) { tls in
            tls.serverCertificateVerification = .noHostnameVerification
            // Only the trust domain's bundle vouches for the server (the callback below); the
            // system's web PKI roots are never consulted, so they are not loaded (~2.5 ms per
            // connection of a new process, such as `exec`).
            tls.trustRoots = .certificates([])
            tls.customVerificationCallback = SPIFFEPeerVerification.callback(
                expecting: .id(serverID), bundle: bundle, onFailure: { diagnostics.record($0) })
        }
        let transport = try HTTP2ClientTransport.Posix(target: ServerTarget.make(host: host, port: port), transportSecurity: security)
        return try await withGRPCClient(transport: transport) { client in
            try await body(NodeClient(node: Matryoshka_V1_Node.Client(wrapping: client)))
        }
    }

    /// Node attestation: sends the attestor's payload and CSR, answers challenges, and returns
    /// the agent's SVID chain and the bundle.
    func attest(with attestor: any NodeAttestorClient, key: SigningKey) async throws -> (SPIFFEID, [Certificate], SPIFFEBundle) {
        let csr = try CertificateRequests.csr(for: key)
        let payload = try await attestor.payload(agentKey: key.publicKey)
        let (answers, answer) = AsyncStream<Matryoshka_V1_AttestRequest>.makeStream()
        answer.yield(Matryoshka_V1_AttestRequest.with {
            $0.parameters = Matryoshka_V1_AttestationParameters.with {
                $0.type = attestor.type
                $0.payload = Data(payload)
                $0.csr = Data(csr)
            }
        })
        let request = StreamingClientRequest<Matryoshka_V1_AttestRequest> { writer in
            for await message in answers { try await writer.write(message) }
        }
        let identity = try await node.attest(request: request) { response in
            defer { answer.finish() }
            for try await message in response.messages {
                switch message.step {
                case .challenge(let challenge):
                    let reply = try await attestor.respond(to: Array(challenge))
                    answer.yield(Matryoshka_V1_AttestRequest.with { $0.challengeResponse = Data(reply) })
                case .identity(let identity):
                    return identity
                case nil:
                    continue
                }
            }
            throw AgentError("the server ended attestation without an answer")
        }
        let id: SPIFFEID
        do {
            id = try SPIFFEID(identity.spiffeID)
        } catch {
            throw AgentError("server sent an invalid agent ID: \(error)")
        }
        return (id, try Self.chain(identity.svidChain), try SPIFFEBundle(wire: identity.bundle))
    }

    /// A fresh agent SVID for a new key.
    func renew(key: SigningKey) async throws -> [Certificate] {
        let csr = try CertificateRequests.csr(for: key)
        let response = try await node.renewAgent(Matryoshka_V1_RenewAgentRequest.with { $0.csr = Data(csr) }, options: Self.options)
        return try Self.chain(response.svidChain)
    }

    /// What the server says after one sync update: the entries this layer serves, the bundle and
    /// the revocations, and which of them changed with it (all of them in a stream's first update).
    struct SyncState: Sendable {
        var entries: [RegistrationEntry]
        var bundle: SPIFFEBundle
        var revocations: RevocationList
        var entriesChanged = true
        var revocationsChanged = true
    }

    /// Receives the server's state for this layer (entries, bundle, revocations and CRLs), now and
    /// on every change, pushed by the server, until the stream ends or fails (it fails with
    /// `PermissionDenied` once this layer is revoked, after the update that says so). Updates after
    /// the first carry only what changed (``SyncStreamReader``); `handle` gets the whole state.
    func syncUpdates(_ handle: @escaping @Sendable (_ state: SyncState, _ isFirst: Bool) async throws -> Void) async throws {
        try await node.sync(request: ClientRequest(message: Matryoshka_V1_SyncRequest.with { $0.acceptsDeltas = true })) { response in
            var reader = SyncStreamReader()
            var isFirst = true
            for try await update in response.messages {
                try await handle(try reader.read(update), isFirst)
                isFirst = false
            }
        }
    }

    /// X509-SVIDs for entries, from CSRs. Results are per entry: a refusal of one does not fail the others.
    /// One X509-SVID request: the entry, the concrete ID for wildcard entries, the CSR and the
    /// lineage link this layer signed for the child.
    struct X509Request: Sendable {
        var entryID: String
        var spiffeID: String = ""
        var csr: [UInt8]
        var lineageLink: [UInt8]
    }

    func mintX509SVIDs(_ requests: [X509Request]) async throws -> [String: Result<[Certificate], AgentError>] {
        let response = try await node.mintX509SVIDs(Matryoshka_V1_MintX509SVIDsRequest.with {
            $0.requests = requests.map { request in
                Matryoshka_V1_X509SVIDRequest.with {
                    $0.entryID = request.entryID
                    $0.spiffeID = request.spiffeID
                    $0.csr = Data(request.csr)
                    $0.lineageLink = Data(request.lineageLink)
                }
            }
        }, options: Self.options)
        var results: [String: Result<[Certificate], AgentError>] = [:]
        for result in response.results {
            if !result.error.isEmpty {
                results[result.entryID] = .failure(AgentError(result.error))
            } else {
                do {
                    results[result.entryID] = .success(try Self.chain(result.svidChain))
                } catch {
                    results[result.entryID] = .failure(AgentError("\(error)"))
                }
            }
        }
        return results
    }

    /// A JWT-SVID for an entry.
    func mintJWTSVID(entryID: String, spiffeID: String, audience: [String], lineageLink: [UInt8]) async throws -> (token: String, expiresAt: Date) {
        let response = try await node.mintJWTSVID(Matryoshka_V1_MintJWTSVIDRequest.with {
            $0.entryID = entryID
            $0.spiffeID = spiffeID
            $0.audience = audience
            $0.lineageLink = Data(lineageLink)
        }, options: Self.options)
        return (response.token, Date(timeIntervalSince1970: TimeInterval(response.expiresAt)))
    }

    /// Revokes credentials this layer vouched for (by serial number or JWT token ID).
    func revoke(_ serialNumbers: [String], reason: String) async throws -> Int {
        let response = try await node.revoke(Matryoshka_V1_RevokeRequest.with {
            $0.serialNumbers = serialNumbers
            $0.reason = reason
        }, options: Self.options)
        return Int(response.revoked)
    }

    /// Delivers workload attestation decisions to the server's audit log.
    func reportWorkloadAttestations(_ request: Matryoshka_V1_ReportWorkloadAttestationsRequest) async throws {
        _ = try await node.reportWorkloadAttestations(request, options: Self.options)
    }

    static var options: CallOptions {
        var options = CallOptions.defaults
        options.timeout = callTimeout
        return options
    }

    static func chain(_ ders: [Data]) throws -> [Certificate] {
        guard !ders.isEmpty else { throw AgentError("server sent an empty certificate chain") }
        do {
            return try ders.map { try Certificate(derEncoded: Array($0)) }
        } catch {
            throw AgentError("server sent an invalid certificate: \(error)")
        }
    }
}

/// Remembers why the last TLS handshake with the server failed, so the agent can say it.
final class TLSDiagnostics: Sendable {
    private let lastFailure = Mutex<String?>(nil)

    /// The last refusal, if any.
    var failure: String? { lastFailure.withLock { $0 } }

    func record(_ reason: String) { lastFailure.withLock { $0 = reason } }

    func clear() { lastFailure.withLock { $0 = nil } }
}
