import GRPCCore
import Testing

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
