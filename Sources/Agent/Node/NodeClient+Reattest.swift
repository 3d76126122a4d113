import Attestation
import Foundation
import GRPCCore
import MatryoshkaAPI
import X509

extension NodeClient {
    /// Continuous attestation over `Node.Reattest`: names the attestation type, answers the
    /// server's challenges (a TPM quote bound to `agentKey`, the key of the SVID this connection
    /// is authenticated with) and returns the server's verdict. A refused proof comes back as
    /// `PermissionDenied`: the agent is evicted then.
    func reattest(with attestor: any NodeReattestorClient, agentKey: Certificate.PublicKey) async throws -> Matryoshka_V1_ReattestResult {
        let (answers, answer) = AsyncStream<Matryoshka_V1_ReattestRequest>.makeStream()
        answer.yield(Matryoshka_V1_ReattestRequest.with { $0.type = attestor.type })
        let request = StreamingClientRequest<Matryoshka_V1_ReattestRequest> { writer in
            for await message in answers { try await writer.write(message) }
        }
        var options = CallOptions.defaults
        options.timeout = .seconds(60)
        return try await node.reattest(request: request, options: options) { response in
            defer { answer.finish() }
            for try await message in response.messages {
                switch message.step {
                case .challenge(let challenge):
                    let reply = try await attestor.respondToReattestation(Array(challenge), agentKey: agentKey)
                    answer.yield(Matryoshka_V1_ReattestRequest.with { $0.challengeResponse = Data(reply) })
                case .result(let result):
                    return result
                case nil:
                    continue
                }
            }
            throw AgentError("the server ended re-attestation without a verdict")
        }
    }
}
