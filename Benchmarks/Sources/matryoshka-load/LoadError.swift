/// Why a load run failed. Every wait is bounded; a timeout names what was awaited.
enum LoadError: Error, CustomStringConvertible {
    case timeout(String, seconds: Double)
    case processExited(name: String, status: String, tail: String)
    case cannotStart(String)
    case commandFailed(command: String, output: String)
    case unexpected(String)

    var description: String {
        switch self {
        case .timeout(let what, let seconds): return "timed out after \(seconds)s waiting for \(what)"
        case .processExited(let name, let status, let tail): return "\(name) exited (\(status)) before it was ready:\n\(tail)"
        case .cannotStart(let reason): return "cannot start: \(reason)"
        case .commandFailed(let command, let output): return "command failed: \(command)\n\(output)"
        case .unexpected(let reason): return reason
        }
    }
}
