import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A throw-away swtpm (TPM 2.0 simulator) on a free loopback port, for tests.
///
/// `swtpm socket --tpmstate dir=TMP --tpm2 --server type=tcp,port=P --ctrl type=tcp,port=P+1
/// --flags not-need-init,startup-clear`, optionally after
/// `swtpm_setup --tpm2 --tpmstate TMP --create-ek-cert --create-platform-cert`, which persists RSA
/// and ECC EKs (0x81010001, 0x81010016) and writes their certificates to NV 0x01c00002 and
/// 0x01c00016, signed by the local CA under /var/lib/swtpm-localca (created on first use).
///
/// swtpm_setup reads /etc/swtpm_setup.conf and writes /var/lib/swtpm-localca, so it needs root
/// (as here) or, for another user, per-user config files (`swtpm_setup --create-config-files`
/// writes ~/.config/swtpm_setup.conf and a local CA configuration that can be passed with
/// `--config`). The state directory is new and empty, so `--overwrite` is not needed.
///
/// Use ``with(provisioned:_:)``: it always stops swtpm and deletes the state directory.
public final class SoftwareTPM: Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// The root and issuing CA of `swtpm_setup --create-ek-cert`.
    public static let localCAFiles = [
        "/var/lib/swtpm-localca/swtpm-localca-rootca-cert.pem",
        "/var/lib/swtpm-localca/issuercert.pem",
    ]

    /// Whether swtpm and swtpm_setup are installed.
    public static var isAvailable: Bool {
        FileManager.default.isExecutableFile(atPath: "/usr/bin/swtpm")
            && FileManager.default.isExecutableFile(atPath: "/usr/bin/swtpm_setup")
    }

    /// Whether tpm2-tools are installed.
    public static var toolsAvailable: Bool {
        FileManager.default.isExecutableFile(atPath: "/usr/bin/tpm2_pcrextend")
    }

    public let directory: URL
    public let port: Int
    private let process: Process

    /// The TCTI configuration for `TPMDevice` and tpm2-tools' `-T`.
    public var tcti: String { "swtpm:host=127.0.0.1,port=\(port)" }

    private init(directory: URL, port: Int, process: Process) {
        self.directory = directory
        self.port = port
        self.process = process
    }

    /// Starts a swtpm, runs `body`, then stops it and deletes its state, whatever `body` did.
    public static func with<T>(provisioned: Bool = false, _ body: (SoftwareTPM) async throws -> T) async throws -> T {
        // Starting (swtpm_setup takes seconds) and stopping wait synchronously: off the pool.
        let tpm = try await offCooperativePool { try start(provisioned: provisioned) }
        do {
            let result = try await body(tpm)
            try? await offCooperativePool { tpm.stop() }
            return result
        } catch {
            try? await offCooperativePool { tpm.stop() }
            throw error
        }
    }

    /// Starts swtpm and waits (at most 10 s) until it accepts connections.
    public static func start(provisioned: Bool) throws -> SoftwareTPM {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("swtpm-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        do {
            if provisioned {
                _ = try run(
                    "/usr/bin/swtpm_setup",
                    ["--tpm2", "--tpmstate", directory.path, "--create-ek-cert", "--create-platform-cert"],
                    in: directory, timeout: 60)
            }
            var lastError = "no attempt"
            for _ in 0..<5 {
                let port = try freePortPair()
                let process = Process()
                process.executableURL = URL(fileURLWithPath: "/usr/bin/swtpm")
                process.arguments = [
                    "socket", "--tpmstate", "dir=\(directory.path)", "--tpm2",
                    "--server", "type=tcp,port=\(port),bindaddr=127.0.0.1",
                    "--ctrl", "type=tcp,port=\(port + 1),bindaddr=127.0.0.1",
                    "--flags", "not-need-init,startup-clear",
                ]
                let log = directory.appendingPathComponent("swtpm-\(port).log")
                _ = FileManager.default.createFile(atPath: log.path, contents: nil)
                let handle = try FileHandle(forWritingTo: log)
                process.standardOutput = handle
                process.standardError = handle
                try process.run()
                let deadline = Date().addingTimeInterval(10)
                while process.isRunning, Date() < deadline {
                    if canConnect(port: port) {
                        return SoftwareTPM(directory: directory, port: port, process: process)
                    }
                    Thread.sleep(forTimeInterval: 0.05)
                }
                terminate(process)
                lastError = (try? String(contentsOf: log, encoding: .utf8)) ?? "swtpm did not start"
            }
            throw Failure(description: "swtpm did not start: \(lastError)")
        } catch {
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
    }

    /// Stops swtpm (SIGTERM, then SIGKILL after 5 s) and deletes the state directory.
    public func stop() {
        Self.terminate(process)
        try? FileManager.default.removeItem(at: directory)
    }

    /// Runs a tpm2-tools command against this swtpm (`-T` added), at most 30 s. The `TPMDevice`
    /// must be closed first: swtpm serves one connection at a time.
    @discardableResult
    public func tool(_ name: String, _ arguments: [String]) async throws -> String {
        let result = try await ExternalCommand.run("/usr/bin/\(name)", ["-T", tcti] + arguments, in: directory, timeout: .seconds(30))
        guard result.succeeded else { throw Failure(description: "\(result)") }
        return result.stdout
    }

    /// Runs a program, waits at most `timeout` seconds, returns its standard output; throws with
    /// its output on a non-zero exit or a timeout.
    @discardableResult
    public static func run(_ executable: String, _ arguments: [String], in directory: URL, timeout: TimeInterval) throws -> String {
        let output = directory.appendingPathComponent("out-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: output) }
        let handle = try FileHandle(forWritingTo: output)
        defer { try? handle.close() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline {
            Thread.sleep(forTimeInterval: 0.02)
        }
        let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        if process.isRunning {
            terminate(process)
            throw Failure(description: "\(executable) timed out after \(timeout) s: \(text)")
        }
        guard process.terminationStatus == 0 else {
            throw Failure(description: "\(executable) \(arguments.joined(separator: " ")) exited \(process.terminationStatus): \(text)")
        }
        return text
    }

    private static func terminate(_ process: Process) {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning, Date() < deadline {
            Thread.sleep(forTimeInterval: 0.02)
        }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    /// A port P with P and P+1 free on 127.0.0.1 (checked by binding both).
    private static func freePortPair() throws -> Int {
        for _ in 0..<50 {
            guard let port = bindLoopback(port: 0), port < 65535 else { continue }
            if bindLoopback(port: port + 1) != nil {
                return port
            }
        }
        throw Failure(description: "no free pair of loopback ports")
    }

    /// Binds a TCP socket to 127.0.0.1:`port`, closes it, returns the bound port or nil.
    private static func bindLoopback(port: Int) -> Int? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var address = loopback(port: port)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { return nil }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { return nil }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    private static func canConnect(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = loopback(port: port)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    private static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }
}
