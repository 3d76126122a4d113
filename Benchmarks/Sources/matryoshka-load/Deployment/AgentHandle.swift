/// An agent process started by a ``Deployment``.
struct AgentHandle: Sendable {
    let name: String
    let process: ChildProcess
    /// The Workload API socket (absolute path).
    let socket: String
    /// Its SPIFFE ID, from the "agent ready" line.
    let agentID: String

    var socketURI: String { "unix://" + socket }
}
