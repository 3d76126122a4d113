import Foundation
import Logging
import MatryoshkaAPI
import WorkloadAPI

/// Starts the exec'd command pointed at its private Workload API, admits it (and its
/// descendants) there, forwards SIGINT/SIGTERM/SIGHUP to it, and returns its exit status.
enum ChildProcess {
    static func run(
        executable: String, arguments: [String], environment: [String: String], socket: WorkloadAPIAddress,
        guardian: ChildGuard<ExecChild>, serving child: ExecChild, logger: Logger
    ) async throws -> Int32 {
        var childEnvironment = environment
        childEnvironment[WorkloadAPIAddress.environmentVariable] = "unix://" + socket.path
        let process = try SpawnedProcess(executable: executable, arguments: arguments, environment: childEnvironment)
        await guardian.admit(process.pid, serving: child)
        logger.info("started child", metadata: ["pid": "\(process.pid)", "command": "\(arguments.joined(separator: " "))"])
        return await process.wait()
    }
}

/// The only process (tree) the private socket serves, and what it serves it.
actor ChildGuard<Served: Sendable> {
    enum Admission: Sendable {
        case admitted(Served)
        case refused(String)
    }

    private var admitted: (pid: Int32, child: Served)?
    private let admissions = ChangeSignal()

    func admit(_ pid: Int32, serving child: Served) {
        admitted = (pid, child)
        admissions.signal()
    }

    /// What `pid` is served if it is the child or one of its descendants, else why it is refused.
    /// A caller that arrives before the child is admitted (the child can connect between its spawn
    /// and `admit`) waits for the admission, up to `patience`, then is refused.
    func admission(of pid: Int32, patience: Duration = .seconds(2)) async -> Admission {
        if admitted == nil {
            let admissions = admissions.stream()
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await _ in admissions { return }
                }
                group.addTask { try? await Task.sleep(for: patience) }
                await group.next()
                group.cancelAll()
            }
        }
        guard let admitted else { return .refused("the child has not started yet") }
        if CallerPolicy.descendantsOf(admitted.pid).refusal(for: CallerCredentials(pid: pid, uid: 0, gid: 0)) != nil {
            return .refused("process \(pid) is not the exec'd child (pid \(admitted.pid)) or its descendant")
        }
        return .admitted(admitted.child)
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
