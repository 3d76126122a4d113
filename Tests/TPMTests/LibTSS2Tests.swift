import TestSupport
import Testing
@testable import TPM

/// Loading libtss2 at run time: what a machine without it (or with the wrong library) gets.
@Suite("libtss2 loading")
struct LibTSS2Tests {
    @Test func aMissingLibraryIsADescriptiveError() throws {
        var libraries = LibTSS2.defaultLibraries
        libraries.mu = "libtss2-mu-not-installed.so.0"
        guard case .failure(let error) = LibTSS2.load(libraries) else {
            Issue.record("loaded a library that does not exist")
            return
        }
        guard case .libraryUnavailable(let reason) = error else {
            Issue.record("unexpected error \(error)")
            return
        }
        #expect(reason.contains("libtss2-mu-not-installed.so.0"))
        #expect(error.description.contains("libtss2 could not be loaded"))
        #expect(error.description.contains("apt-get install"))
    }

    @Test func aLibraryWithoutTheFunctionsIsADescriptiveError() throws {
        var libraries = LibTSS2.defaultLibraries
        libraries.rc = "libc.so.6"
        guard case .failure(.libraryUnavailable(let reason)) = LibTSS2.load(libraries) else {
            Issue.record("loaded libc as libtss2-rc")
            return
        }
        #expect(reason == "libc.so.6 has no function Tss2_RC_Decode")
    }

    @Test(.enabled(if: SoftwareTPM.isAvailable)) func theInstalledLibrariesLoad() throws {
        let tss = try LibTSS2.shared()
        let decoded = tss.api.Tss2_RC_Decode(0x0000_0101).map { String(cString: $0) }
        #expect(decoded?.contains("failure") == true)
    }
}
