import Authority
import Benchmark
import X509

/// CSR to X509-SVID, as the server's issuer does it: parse the CSR and check its signature (proof
/// of possession), build and sign the certificate, encode it. Baseline: one raw P-256 sign+verify.
enum IssuanceBenchmarks {
    static func register() {
        Benchmark("Issue X509-SVID from CSR (Authority)") { benchmark in
            let fixtures = try SharedFixtures.shared.get()
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                let parameters = try X509SVIDParameters(spiffeID: fixtures.spiffeID, csrDER: fixtures.csrDER, ttl: .seconds(3600))
                let chain = try fixtures.ca.issue(parameters)
                guard let leaf = chain.first else { throw FixtureError("empty chain") }
                blackHole(try DERCertificate.bytes(of: leaf))
            }
        }
    }
}
