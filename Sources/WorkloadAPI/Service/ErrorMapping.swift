internal import GRPCCore
internal import Logging

/// Turns whatever the provider threw into the status the caller sees.
enum ErrorMapping {
    /// ``WorkloadAPIError`` and `RPCError` keep their code and message; cancellation becomes
    /// `Cancelled`; anything else becomes `Internal` with a generic message (its details are
    /// logged, not sent: they may describe other workloads).
    static func rpcError(for error: any Error, method: String, caller: CallerCredentials, logger: Logger) -> RPCError {
        switch error {
        case let error as RPCError:
            return error
        case let error as WorkloadAPIError:
            if case .internalError = error {
                logger.error("identity provider failed", metadata: ["method": "\(method)", "caller": "\(caller)", "error": "\(error)"])
            }
            return RPCError(error)
        case is CancellationError:
            return RPCError(code: .cancelled, message: "the call was cancelled")
        default:
            logger.error("identity provider failed", metadata: ["method": "\(method)", "caller": "\(caller)", "error": "\(error)"])
            return RPCError(code: .internalError, message: "internal error in the Workload API agent")
        }
    }
}
