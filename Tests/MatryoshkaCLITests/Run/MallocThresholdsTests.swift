import Testing

@testable import MatryoshkaCLI

@Suite("The agent's malloc thresholds")
struct MallocThresholdsTests {
    #if canImport(Glibc)
    @Test("glibc takes both thresholds")
    func glibcTakesThem() {
        #expect(MallocThresholds.fix(environment: [:]) == .fixed)
    }
    #endif

    @Test("thresholds the operator set in the environment are kept")
    func operatorSettingsAreKept() {
        #expect(MallocThresholds.fix(environment: ["MALLOC_MMAP_THRESHOLD_": "65536"]) == .keptFromEnvironment("MALLOC_MMAP_THRESHOLD_"))
        #expect(MallocThresholds.fix(environment: ["MALLOC_TRIM_THRESHOLD_": "0"]) == .keptFromEnvironment("MALLOC_TRIM_THRESHOLD_"))
        #expect(MallocThresholds.fix(environment: ["GLIBC_TUNABLES": "glibc.malloc.arena_max=2:glibc.malloc.trim_threshold=1"])
            == .keptFromEnvironment("GLIBC_TUNABLES"))
        #expect(MallocThresholds.fix(environment: ["GLIBC_TUNABLES": "glibc.malloc.mmap_threshold=1"]) == .keptFromEnvironment("GLIBC_TUNABLES"))
    }

    @Test("other tunables, and look-alike names, are not a setting")
    func otherTunablesAreNot() {
        #expect(MallocThresholds.operatorSetting(in: ["GLIBC_TUNABLES": "glibc.malloc.arena_max=2"]) == nil)
        #expect(MallocThresholds.operatorSetting(in: ["GLIBC_TUNABLES": "glibc.malloc.mmap_threshold_x=1:"]) == nil)
        #expect(MallocThresholds.operatorSetting(in: ["GLIBC_TUNABLES": ""]) == nil)
        #expect(MallocThresholds.operatorSetting(in: ["MALLOC_ARENA_MAX": "2"]) == nil)
    }
}
