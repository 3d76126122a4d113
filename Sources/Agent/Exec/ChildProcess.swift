import Foundation
import Logging
import MatryoshkaAPI
import SPIFFE
import WorkloadAPI

/// Starts the exec'd command with a private Workload API that serves its identity to it (and
/// its descendants) only, forwards SIGINT/SIGTERM to it, and returns its exit status.
enum ChildProcess {
    static func run(
        executable: String, arguments: [String], environment: [String: String], svid: CachedSVID, entry: RegistrationEntry,
        parent: LayerIdentity, bundle: SPIFFEBundle, client: NodeClient, logger: Logger
    ) async throws -> Int32 {
        let directory = try PrivateDirectory.make()
        defer { PrivateDirectory.remove(directory) }
        let socketPath = directory + "/workload.sock"
        let guardian = ChildGuard()
        let watch = ExecRevocationWatch(svid: svid)
        let provider = ExecWorkloadProvider(
            svid: svid, entry: entry, parent: parent, bundle: bundle, client: client, guardian: guardian, watch: watch, logger: logger)
        let server = WorkloadAPIServer(
            configuration: WorkloadAPIServer.Configuration(address: try WorkloadAPIAddress(path: socketPath), socketMode: 0o600, logger: logger),
            provider: provider)
        return try await withThrowingTaskGroup(of: Int32?.self) { group in
            group.addTask {
                try await server.run()
                return nil
            }
            _ = try await server.waitUntilListening()
            var childEnvironment = environment
            childEnvironment[WorkloadAPIAddress.environmentVariable] = "unix://" + socketPath
            let child = try SpawnedProcess(executable: executable, arguments: arguments, environment: childEnvironment)
            await guardian.admit(child.pid)
            logger.info("started child", metadata: ["pid": "\(child.pid)", "command": "\(arguments.joined(separator: " "))"])
            group.addTask { await child.wait() }
            group.addTask {
                // Revocations are pushed on the sync stream: stop serving the child's SVID at once.
                do {
                    try await client.syncUpdates { state, _ in
                        if state.revocationsChanged { await watch.update(state.revocations) }
                        if let reason = await watch.revokedReason {
                            logger.warning("the child's SVID was revoked; no longer serving it", metadata: ["reason": "\(reason)"])
                        }
                    }
                } catch is CancellationError {
                } catch {
                    logger.info("the server ended the revocation stream", metadata: ["reason": "\(error)"])
                }
                return nil
            }
            var status: Int32 = 1
            while let result = try await group.next() {
                if let result {
                    status = result
                    break
                }
            }
            group.cancelAll()
            return status
        }
    }
}

/// The only process (tree) the private socket serves.
actor ChildGuard {
    private var childPID: Int32?

    func admit(_ pid: Int32) { childPID = pid }

    /// Nil if `pid` is the child or one of its descendants, else why it is refused.
    func refusal(for pid: Int32) -> String? {
        guard let childPID else { return "the child has not started yet" }
        return CallerPolicy.descendantsOf(childPID).refusal(for: CallerCredentials(pid: pid, uid: 0, gid: 0))
            .map { _ in "process \(pid) is not the exec'd child (pid \(childPID)) or its descendant" }
    }
}

/// A directory only this user can enter, for the private socket.
enum PrivateDirectory {
    static func make() throws -> String {
        let base = ProcessInfo.processInfo.environment["XDG_RUNTIME_DIR"].flatMap { FileManager.default.isWritableFile(atPath: $0) ? $0 : nil } ?? "/tmp"
        var template = Array("\(base)/matryoshka-exec-XXXXXX".utf8CString)
        let directory: String? = template.withUnsafeMutableBufferPointer { buffer in
            guard let start = buffer.baseAddress, mkdtemp(start) != nil else { return nil }
            return String(cString: start)
        }
        guard let directory else {
            throw AgentError("cannot create a private directory in \(base): \(String(cString: strerror(errno)))")
        }
        chmod(directory, 0o700)
        return directory
    }

    static func remove(_ directory: String) {
        try? FileManager.default.removeItem(atPath: directory)
    }
}
