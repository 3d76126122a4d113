import Authority
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import MatryoshkaAPI
import Synchronization
import Testing
import X509

@testable import Agent

/// Which failures of a call to the server the agent makes again on its next connection: those
/// the closing of the old one caused, nothing else.
@Suite("Server link: calls cut short by a reconnection")
struct ServerLinkTests {
    @Test func onlyFailuresOfAClosingConnectionAreRetried() {
        #expect(ServerLink.isCutShort(RPCError(code: .unavailable, message: "Stream unexpectedly closed.")))
        #expect(ServerLink.isCutShort(RuntimeError(code: .clientIsStopped, message: "Client has been stopped.")))
        #expect(!ServerLink.isCutShort(RPCError(code: .permissionDenied, message: "revoked")))
        #expect(!ServerLink.isCutShort(RPCError(code: .invalidArgument, message: "bad audience")))
        #expect(!ServerLink.isCutShort(RuntimeError(code: .transportError, message: "no route")))
        #expect(!ServerLink.isCutShort(CancellationError()))
    }
}

/// A call cut short is made again on the next connection, however the old one ended, if one comes
/// in time; otherwise the workload is told.
@Suite("Server link: retrying on the next connection")
struct ServerLinkRetryTests {
    /// A layer identity with a self-signed certificate, told apart by its serial number.
    static func identity() throws -> LayerIdentity {
        let key = try SigningKey(generating: .ecP256)
        let name = try DistinguishedName { CommonName("layer") }
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(bytes: Array(UUID().uuidString.utf8.prefix(16))), publicKey: key.publicKey, notValidBefore: Date(), notValidAfter: Date() + 600,
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256, extensions: Certificate.Extensions(),
            issuerPrivateKey: key.certificatePrivateKey)
        return LayerIdentity(chain: [certificate], key: key.certificatePrivateKey)
    }

    /// A client that is never run: the calls below never reach it.
    static func client() throws -> NodeClient {
        let transport = try HTTP2ClientTransport.Posix(target: .ipv4(address: "127.0.0.1", port: 1), transportSecurity: .plaintext)
        return NodeClient(node: Matryoshka_V1_Node.Client(wrapping: GRPCClient(transport: transport)))
    }

    @Test("a call cut short by a connection the link did not know had ended runs again on the next one")
    func retriedOnTheNextConnection() async throws {
        let link = ServerLink(cutShortWait: .seconds(120))
        let first = try Self.identity(), second = try Self.identity()
        await link.connected(try Self.client(), as: first)
        let calls = Mutex<[Certificate.SerialNumber]>([])
        let replacement = try Self.client()
        let served = try await link.withConnection(unreachable: "test") { _, identity in
            let attempt = calls.withLock { $0.append(identity.chain[0].serialNumber); return $0.count }
            guard attempt == 1 else { return identity.chain[0].serialNumber }
            // The connection fails under the call; the agent connects again a moment later.
            Task {
                await link.disconnected()
                try await Task.sleep(for: .milliseconds(100))
                await link.connected(replacement, as: second)
            }
            throw RPCError(code: .unavailable, message: "Stream unexpectedly closed.")
        }
        #expect(served == second.chain[0].serialNumber)
        #expect(calls.withLock { $0 } == [first.chain[0].serialNumber, second.chain[0].serialNumber])
    }

    @Test("without a new connection in time, the workload gets the error; other errors are never retried")
    func notRetriedWithoutANewConnection() async throws {
        let link = ServerLink(cutShortWait: .milliseconds(200))
        await link.connected(try Self.client(), as: try Self.identity())
        let calls = Mutex(0)
        await #expect(throws: RPCError.self) {
            try await link.withConnection(unreachable: "test") { _, _ -> Int in
                calls.withLock { $0 += 1 }
                throw RPCError(code: .unavailable, message: "Stream unexpectedly closed.")
            }
        }
        #expect(calls.withLock { $0 } == 1)
        await #expect(throws: RPCError.self) {
            try await link.withConnection(unreachable: "test") { _, _ -> Int in
                calls.withLock { $0 += 1 }
                throw RPCError(code: .permissionDenied, message: "revoked")
            }
        }
        #expect(calls.withLock { $0 } == 2)
        // Known to be disconnected, not on purpose: fails at once, without calling.
        await link.disconnected()
        await #expect(throws: AgentError.self) {
            try await link.withConnection(unreachable: "test") { _, _ -> Int in
                calls.withLock { $0 += 1 }
                return 0
            }
        }
        #expect(calls.withLock { $0 } == 2)
    }
}
