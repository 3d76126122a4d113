import Benchmark
import SPIFFE

/// SPIFFE ID parsing and validation (baseline: Foundation's URL parsing, which checks less).
enum SPIFFEIDBenchmarks {
    static func register() {
        Benchmark("SPIFFE ID parse") { benchmark in
            let string = Fixtures.spiffeIDString
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                blackHole(try SPIFFEID(string))
            }
        }
    }
}
