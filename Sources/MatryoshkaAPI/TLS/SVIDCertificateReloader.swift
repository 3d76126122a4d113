import NIOCertificateReloading
import NIOSSL
import SPIFFE
import Synchronization
import X509

/// Supplies the current TLS identity (an SVID chain and its key) to NIO's TLS handshakes, so a
/// rotated SVID is used by the next connection without restarting the server or client.
public final class SVIDCertificateReloader: CertificateReloader, Sendable {
    private let current: Mutex<NIOSSLContextConfigurationOverride>

    public init() {
        current = Mutex(NIOSSLContextConfigurationOverride())
    }

    /// Makes `chain` (leaf first) and `key` the identity presented from now on.
    public func update(chain: [Certificate], key: Certificate.PrivateKey) throws {
        var override = NIOSSLContextConfigurationOverride()
        override.certificateChain = try chain.map {
            .certificate(try NIOSSLCertificate(bytes: CertificateEncoding.der($0), format: .der))
        }
        override.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: PrivateKeyEncoding.pkcs8DER(key), format: .der))
        current.withLock { $0 = override }
    }

    public var sslContextConfigurationOverride: NIOSSLContextConfigurationOverride {
        current.withLock { $0 }
    }

    /// Whether an identity has been set.
    public var isPrimed: Bool {
        current.withLock { $0.certificateChain != nil && $0.privateKey != nil }
    }
}
