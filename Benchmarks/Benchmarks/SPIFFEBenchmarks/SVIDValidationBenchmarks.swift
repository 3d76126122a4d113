import Benchmark
import SPIFFE
import X509

/// X509-SVID validation (parse the DER, then the SPIFFE rules and RFC 5280 path building to the
/// bundle) and JWT-SVID validation (parse, signature, time and audience checks).
/// Baselines: raw parse + raw P-256 verify, and raw P-256 verify.
enum SVIDValidationBenchmarks {
    static func register() {
        Benchmark("X509-SVID validate (DER leaf, P-256 root bundle)") { benchmark in
            let fixtures = try SharedFixtures.shared.get()
            let verifier = X509SVIDVerifier(bundles: fixtures.x509Bundle)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                let leaf = try Certificate(derEncoded: fixtures.svidDER)
                blackHole(try await verifier.verify([leaf]))
            }
        }
        Benchmark("X509-SVID validate (parsed leaf)") { benchmark in
            let fixtures = try SharedFixtures.shared.get()
            let verifier = X509SVIDVerifier(bundles: fixtures.x509Bundle)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                blackHole(try await verifier.verify(fixtures.svidChain))
            }
        }
        Benchmark("JWT-SVID validate (ES256)") { benchmark in
            let fixtures = try SharedFixtures.shared.get()
            let verifier = JWTSVIDVerifier(bundles: fixtures.jwtBundle)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                blackHole(try await verifier.verify(fixtures.jwtToken, audience: Fixtures.audience))
            }
        }
    }
}
