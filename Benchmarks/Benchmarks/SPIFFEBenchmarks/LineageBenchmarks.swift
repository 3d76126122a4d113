import Benchmark
import Lineage
import SPIFFE
import X509

/// Lineage verification as a relying party does it: read the lineage extension out of an
/// X509-SVID and verify every hop (hash chain, signature by the layer before, lifetimes) and the
/// subject. Baseline: `depth` raw P-256 verifies (one signature per link).
enum LineageBenchmarks {
    static func register() {
        for depth in Fixtures.lineageDepths {
            Benchmark("Lineage verify depth \(depth) (from SVID)") { benchmark in
                let fixtures = try SharedFixtures.shared.get()
                guard let svid = fixtures.lineageSVIDs[depth], let subject = fixtures.lineageSubjects[depth] else {
                    throw FixtureError("no lineage fixture of depth \(depth)")
                }
                let verifier = fixtures.lineageVerifier
                benchmark.startMeasurement()
                for _ in benchmark.scaledIterations {
                    guard let lineage = try LineageExtension.lineage(of: svid) else { throw FixtureError("no lineage extension") }
                    try verifier.verify(lineage, subject: subject, subjectKey: svid.publicKey)
                }
            }
        }
    }
}
