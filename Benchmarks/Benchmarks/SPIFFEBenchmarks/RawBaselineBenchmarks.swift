import Benchmark
import Crypto
import Foundation
import X509

/// The raw operations the identity code is built on: ECDSA P-256 sign and verify (swift-crypto)
/// and certificate parsing (swift-certificates). Every other figure is read as a multiple of these.
enum RawBaselineBenchmarks {
    static func register() {
        Benchmark("Raw: ECDSA P-256 sign") { benchmark in
            let fixtures = try SharedFixtures.shared.get()
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                blackHole(try fixtures.rawKey.signature(for: fixtures.rawMessage))
            }
        }
        Benchmark("Raw: ECDSA P-256 verify") { benchmark in
            let fixtures = try SharedFixtures.shared.get()
            let publicKey = fixtures.rawKey.publicKey
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                blackHole(publicKey.isValidSignature(fixtures.rawSignature, for: fixtures.rawMessage))
            }
        }
        Benchmark("Raw: ECDSA P-256 sign+verify") { benchmark in
            let fixtures = try SharedFixtures.shared.get()
            let publicKey = fixtures.rawKey.publicKey
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                let signature = try fixtures.rawKey.signature(for: fixtures.rawMessage)
                blackHole(publicKey.isValidSignature(signature, for: fixtures.rawMessage))
            }
        }
        Benchmark("Raw: certificate parse (Certificate(derEncoded:))") { benchmark in
            let fixtures = try SharedFixtures.shared.get()
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                blackHole(try Certificate(derEncoded: fixtures.svidDER))
            }
        }
        Benchmark("Raw: URL parse (URLComponents)") { benchmark in
            let string = Fixtures.spiffeIDString
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                blackHole(URLComponents(string: string))
            }
        }
    }
}
