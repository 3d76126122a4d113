import CMalloc

/// The agent's malloc thresholds, fixed at 128 KiB.
///
/// glibc starts with allocations of 128 KiB and more mapped on their own (returned to the system
/// when freed) and the heap trimmed once 128 KiB at its top are free, but it raises both
/// thresholds to the largest mapped block freed so far (trim to twice that). An agent's largest
/// transient buffers are its Workload API responses: one for 1 000 SVIDs is ~1.7 MB, serialized
/// into a 2 MiB buffer. After the first is freed, every later one comes from the heap and stays
/// resident once freed, ~1 MiB of an agent's memory for no gain (BENCHMARKS.md, *Agent RSS*). With
/// the thresholds fixed, such a buffer is mapped for the response and returned after it: a few
/// page faults per large response; small ones are unaffected.
///
/// Thresholds the operator set through `GLIBC_TUNABLES` or `MALLOC_*_THRESHOLD_` are kept.
enum MallocThresholds {
    static let bytes = 128 * 1024

    enum Outcome: Equatable, Sendable {
        /// Both thresholds are now ``MallocThresholds/bytes``.
        case fixed
        /// The environment sets one of them; nothing was changed.
        case keptFromEnvironment(String)
        /// The C library is not glibc, or refused the values; nothing was changed.
        case unsupported
    }

    /// Fixes both thresholds, unless `environment` sets either of them.
    static func fix(environment: [String: String]) -> Outcome {
        if let setting = operatorSetting(in: environment) { return .keptFromEnvironment(setting) }
        return matryoshka_malloc_fix_thresholds(bytes) == 1 ? .fixed : .unsupported
    }

    /// The environment variable that sets a threshold, if one does.
    static func operatorSetting(in environment: [String: String]) -> String? {
        for name in ["MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"] where environment[name] != nil {
            return name
        }
        if let tunables = environment["GLIBC_TUNABLES"] {
            let names = tunables.split(separator: ":").compactMap { $0.split(separator: "=", maxSplits: 1).first }
            if names.contains(where: { $0 == "glibc.malloc.mmap_threshold" || $0 == "glibc.malloc.trim_threshold" }) {
                return "GLIBC_TUNABLES"
            }
        }
        return nil
    }
}
