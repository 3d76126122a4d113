import Authority
import Foundation
import SPIFFE
import X509

/// The agent's identity on disk, so a restart keeps it: the agent SVID chain, its private key
/// (mode 0600) and the latest trust bundle. Writes are atomic (temporary file, fsync, rename).
public struct AgentStateStore: Sendable {
    public let directory: String

    public init(directory: String) { self.directory = directory }

    var svidPath: String { path("agent-svid.pem") }
    var keyPath: String { path("agent-key.pem") }
    var bundlePath: String { path("bundle.json") }

    /// What was saved, if anything.
    public struct State: Sendable {
        public var chain: [Certificate]
        public var key: SigningKey
        public var bundle: SPIFFEBundle
    }

    /// Creates the directory (mode 0700) if needed.
    public func prepare() throws(AgentError) {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw AgentError("cannot create data directory \(directory): \(error.localizedDescription)")
        }
    }

    /// The saved identity; nil when there is none. A partial or unreadable state is an error,
    /// not silently discarded.
    public func load(trustDomain: TrustDomain) throws(AgentError) -> State? {
        let files = [svidPath, keyPath, bundlePath]
        let present = files.filter { FileManager.default.fileExists(atPath: $0) }
        if present.isEmpty { return nil }
        guard present.count == files.count else {
            throw AgentError("incomplete agent state in \(directory) (have \(present.map { ($0 as NSString).lastPathComponent }.joined(separator: ", "))); remove the directory to attest again")
        }
        do {
            let chain = try CertificateEncoding.certificates(from: Array(try Data(contentsOf: URL(fileURLWithPath: svidPath))))
            let key = try SigningKey(pem: String(contentsOfFile: keyPath, encoding: .utf8))
            let bundle = try SPIFFEBundle(trustDomain: trustDomain, json: Array(try Data(contentsOf: URL(fileURLWithPath: bundlePath))))
            guard key.publicKey == chain[0].publicKey else { throw AgentError("agent key does not match agent SVID") }
            return State(chain: chain, key: key, bundle: bundle)
        } catch let error as AgentError {
            throw error
        } catch {
            throw AgentError("cannot read agent state in \(directory): \(error)")
        }
    }

    /// The trust domain of the saved agent SVID, if there is one: a restart needs neither
    /// `--trust-bundle` nor `--trust-domain`.
    public func savedTrustDomain() -> TrustDomain? {
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: svidPath)),
              let leaf = try? CertificateEncoding.certificates(from: Array(data)).first,
              let id = try? X509SVID.spiffeID(of: leaf)
        else { return nil }
        return id.trustDomain
    }

    public func saveIdentity(chain: [Certificate], key: SigningKey) throws(AgentError) {
        try write(Data(key.pkcs8PEM.utf8), to: keyPath)
        try write(Data(CertificateEncoding.pem(chain).utf8), to: svidPath)
    }

    public func saveBundle(_ bundle: SPIFFEBundle) throws(AgentError) {
        do {
            try write(try bundle.json(), to: bundlePath)
        } catch let error as AgentError {
            throw error
        } catch {
            throw AgentError("cannot encode bundle: \(error)")
        }
    }

    private func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }

    private func write(_ data: Data, to path: String) throws(AgentError) {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { throw AgentError("cannot write \(temporary): \(String(cString: strerror(errno)))") }
        let written = data.withUnsafeBytes { buffer in
            buffer.baseAddress.map { Foundation.write(fd, $0, buffer.count) } ?? 0
        }
        let synced = fsync(fd)
        close(fd)
        guard written == data.count, synced == 0 else {
            unlink(temporary)
            throw AgentError("cannot write \(path): \(String(cString: strerror(errno)))")
        }
        guard rename(temporary, path) == 0 else {
            throw AgentError("cannot replace \(path): \(String(cString: strerror(errno)))")
        }
    }
}
