import Attestation
import Authority
import Foundation
import GRPCCore
import Logging
import MatryoshkaAPI
import SPIFFE
import WorkloadAPI
import X509

/// `matryoshka exec`: runs a command as an ephemeral child identity of the calling layer.
///
/// The session takes the caller's own SVID from its Workload API, authenticates to the server
/// with it (the caller's entry must be `nested`), obtains an X509-SVID for the child — an entry
/// registered with the caller as parent, typically a wildcard `…/task/*` — with a lineage link the
/// caller's key signs, serves it on a private socket to the child process only, and revokes it
/// when the child exits.
public struct ExecSession: Sendable {
    public struct Options: Sendable {
        /// The child's SPIFFE ID.
        public var spiffeID: SPIFFEID
        /// The child's lifetime; nil means the entry's TTL. Never more than the caller has left.
        public var ttl: Duration?
        /// The caller's Workload API.
        public var parentSocket: WorkloadAPIAddress
        /// Which of the caller's identities vouches for the child; nil means the closest ancestor
        /// of the child's ID among them, else the default.
        public var parentID: String?
        public var serverHost: String
        public var serverPort: Int
        public var command: [String]
        public var environment: [String: String]

        public init(spiffeID: SPIFFEID, ttl: Duration?, parentSocket: WorkloadAPIAddress, parentID: String? = nil, serverHost: String, serverPort: Int,
                    command: [String], environment: [String: String]) {
            self.parentID = parentID
            self.spiffeID = spiffeID
            self.ttl = ttl
            self.parentSocket = parentSocket
            self.serverHost = serverHost
            self.serverPort = serverPort
            self.command = command
            self.environment = environment
        }
    }

    let options: Options
    let logger: Logger

    public init(options: Options, logger: Logger) {
        self.options = options
        self.logger = logger
    }

    /// Runs the command and returns its exit status (128 + signal number if it was killed).
    public func run() async throws -> Int32 {
        guard let executable = SpawnedProcess.resolve(options.command.first ?? "", path: options.environment["PATH"]) else {
            throw AgentError("command not found: \(options.command.first ?? "")")
        }
        // The command's digest (for its `unix:sha256` selector) is read while the caller's SVID is
        // fetched and the server connected: a large command costs its hash only once, in parallel.
        let selectorsTask = Task { try await Self.prospectiveSelectors(executable: executable) }
        defer { selectorsTask.cancel() }
        let directory = try PrivateDirectory.make()
        defer { PrivateDirectory.remove(directory) }
        let socket = try WorkloadAPIAddress(path: directory + "/workload.sock")
        let guardian = ChildGuard<ExecChild>()
        let watch = ExecRevocationWatch()
        // The child's private Workload API starts listening while its SVID is obtained; it serves
        // nothing until the child is admitted.
        let server = WorkloadAPIServer(
            configuration: WorkloadAPIServer.Configuration(address: socket, socketMode: 0o600, logger: logger),
            provider: ExecWorkloadProvider(guardian: guardian, watch: watch, logger: logger))
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            defer { group.cancelAll() }
            return try await issueAndRun(
                executable: executable, selectors: selectorsTask, socket: socket, server: server, guardian: guardian, watch: watch)
        }
    }

    /// Obtains the child's SVID with the caller's, runs the command with it, and revokes it when
    /// the command exits.
    private func issueAndRun(
        executable: String, selectors selectorsTask: Task<Set<Selector>, any Error>, socket: WorkloadAPIAddress,
        server: WorkloadAPIServer, guardian: ChildGuard<ExecChild>, watch: ExecRevocationWatch
    ) async throws -> Int32 {
        let parentSet: X509SVIDSet
        do {
            parentSet = try await WorkloadAPIClient.withClient(address: options.parentSocket) { client in try await client.fetchX509Context() }
        } catch {
            throw AgentError("cannot obtain the caller's own SVID from \(options.parentSocket.path): \(error)")
        }
        let (parent, bundle) = try ParentIdentitySource.convert(
            parentSet, trustDomain: options.spiffeID.trustDomain, spiffeID: options.parentID ?? Self.closestAncestor(of: options.spiffeID, in: parentSet))
        let parentID = try X509SVID.spiffeID(of: parent.chain[0])
        if let ttl = options.ttl, Date().addingTimeInterval(ttl.timeInterval) > parent.expiresAt.addingTimeInterval(1) {
            throw AgentError("--ttl \(DurationText.format(ttl)) exceeds the caller's remaining lifetime (\(parentID) expires at \(parent.expiresAt.formatted(.iso8601))); a child never outlives its parent")
        }
        let reloader = SVIDCertificateReloader()
        try reloader.update(chain: parent.chain, key: parent.key)
        let diagnostics = TLSDiagnostics()
        let serverID = WellKnownIDs.server(in: options.spiffeID.trustDomain)

        return try await NodeClient.withConnection(
            host: options.serverHost, port: options.serverPort, serverID: serverID, identity: reloader,
            bundle: { bundle }, diagnostics: diagnostics
        ) { client in
            // One sync stream: its first update names the entry that grants the child, the rest
            // push revocations, so a revoked child SVID stops being served at once.
            let (firstEntries, found) = AsyncThrowingStream<[RegistrationEntry], any Error>.makeStream()
            let sync = Task { await Self.follow(client: client, watch: watch, firstEntries: found, logger: logger) }
            defer { sync.cancel() }
            // The key and CSR are made while the server answers.
            let key = try SigningKey(generating: .ecP256)
            let csr = try CertificateRequests.csr(for: key)
            let entry = try await Self.entry(granting: options.spiffeID, parentID: parentID, from: firstEntries)
            let childSelectors = try await selectorsTask.value
            let missing = Set(entry.selectors).subtracting(childSelectors)
            guard missing.isEmpty else {
                throw AgentError("the command would not have the selectors of entry \(entry.template): missing \(missing.map(\.description).sorted().joined(separator: " "))")
            }
            let ttl = options.ttl.map { Int($0.wholeSeconds) } ?? entry.x509TTL
            let link = try parent.childLink(
                for: entry, spiffeID: options.spiffeID, publicKey: key.publicKey, ttlSeconds: ttl, attestor: "exec",
                extraSelectors: ["exec:parent_pid:\(getpid())", "exec:path:\(executable)"])
            // The private socket must be serving before anything is issued: a child SVID minted for
            // a socket that never listens would stay valid, unrevoked, until its TTL.
            do {
                _ = try await server.waitUntilListening()
            } catch {
                throw AgentError("cannot serve the child's Workload API on \(socket.path): \(error)")
            }
            let results = try await client.mintX509SVIDs([NodeClient.X509Request(
                entryID: entry.id, spiffeID: entry.isWildcard ? options.spiffeID.description : "", csr: csr, lineageLink: link)])
            guard case .success(let chain)? = results[entry.id] else {
                if case .failure(let error)? = results[entry.id] { throw AgentError("the server refused \(options.spiffeID): \(error.message)") }
                throw AgentError("the server returned no SVID for \(options.spiffeID)")
            }
            let svid = CachedSVID(entryID: entry.id, spiffeID: options.spiffeID, chain: chain, key: key)
            logger.info("child identity issued", metadata: [
                "spiffe_id": "\(options.spiffeID)", "serial": "\(chain[0].serialNumber.hexString)",
                "expires": "\(chain[0].notValidAfter.formatted(.iso8601))", "parent": "\(parentID)",
            ])
            if let reason = await watch.watch(svid) {
                logger.warning("the child's SVID is revoked already; it will not be served", metadata: ["reason": "\(reason)"])
            }
            let status = try await ChildProcess.run(
                executable: executable, arguments: options.command, environment: options.environment, socket: socket, guardian: guardian,
                serving: ExecChild(svid: svid, entry: entry, parent: parent, bundle: bundle, client: client), logger: logger)
            // The child is gone: stop following revocations before revoking its SVID, whose own
            // revocation would otherwise come back on the stream as a warning.
            sync.cancel()
            do {
                let revoked = try await client.revoke([chain[0].serialNumber.hexString], reason: "exec child exited with status \(status)")
                logger.info("child identity revoked", metadata: ["spiffe_id": "\(options.spiffeID)", "revoked": "\(revoked)"])
            } catch {
                logger.warning("could not revoke the child identity; it expires at \(chain[0].notValidAfter.formatted(.iso8601))", metadata: ["error": "\(error)"])
            }
            return status
        }
    }

    /// Follows the session's sync stream: hands its first update's entries to `firstEntries`
    /// and gives every update's revocations to `watch`, until the stream ends or is cancelled.
    static func follow(
        client: NodeClient, watch: ExecRevocationWatch, firstEntries: AsyncThrowingStream<[RegistrationEntry], any Error>.Continuation, logger: Logger
    ) async {
        do {
            try await client.syncUpdates { state, isFirst in
                if state.revocationsChanged, let reason = await watch.update(state.revocations) {
                    logger.warning("the child's SVID was revoked; no longer serving it", metadata: ["reason": "\(reason)"])
                }
                if isFirst {
                    firstEntries.yield(state.entries)
                    firstEntries.finish()
                }
            }
            firstEntries.finish()
        } catch is CancellationError {
            firstEntries.finish()
        } catch {
            firstEntries.finish(throwing: error)
            logger.info("the server ended the sync stream; revocations are no longer followed", metadata: ["reason": "\(error)"])
        }
    }

    /// The entry under `parentID` that grants `id`, from the first update of the sync stream.
    static func entry(
        granting id: SPIFFEID, parentID: SPIFFEID, from updates: AsyncThrowingStream<[RegistrationEntry], any Error>
    ) async throws -> RegistrationEntry {
        do {
            for try await list in updates {
                if let entry = list.first(where: { $0.grants(id) }) { return entry }
                let prefix = id.path.split(separator: "/").dropLast().map { "/" + $0 }.joined()
                throw AgentError("no entry with parent \(parentID) grants \(id) (register one, e.g. \(id.trustDomain.id)\(prefix)/* with --parent-id \(parentID))")
            }
        } catch let error as AgentError {
            throw error
        } catch let error as RPCError {
            throw AgentError("the server refused \(parentID): \(error.message)")
        }
        throw AgentError("the server sent no entries")
    }

    /// Among the caller's identities, the one whose ID is the nearest path ancestor of `child`.
    static func closestAncestor(of child: SPIFFEID, in set: X509SVIDSet) -> String? {
        set.svids.compactMap { try? SPIFFEID($0.spiffeID) }
            .filter { child.isDescendant(of: $0) }
            .max { $0.path.count < $1.path.count }?.description
    }

    /// The selectors the child will have: this process's user and groups (inherited) and the
    /// command's path and digest.
    static func prospectiveSelectors(executable: String) async throws -> Set<Selector> {
        // This process's own executable is not hashed (its digest is replaced by the command's below).
        var selectors = Set(try await UnixWorkloadAttestor(maximumHashedSize: 0).attest(PeerProcess(pid: getpid(), uid: getuid(), gid: getgid())))
        selectors = selectors.filter { !$0.value.hasPrefix("path:") && !$0.value.hasPrefix("sha256:") }
        if let path = try? Selector(type: "unix", value: "path:\(executable)") { selectors.insert(path) }
        if let digest = UnixWorkloadAttestor.sha256(ofFile: executable), let selector = try? Selector(type: "unix", value: "sha256:\(digest)") {
            selectors.insert(selector)
        }
        return selectors
    }
}
