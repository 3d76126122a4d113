import CTSS2

/// libtss2, loaded with `dlopen` the first time a TPM is opened.
///
/// Matryoshka does not link libtss2: a server, an agent without a TPM, `exec` and the CLI never
/// map it, nor the libcrypto it depends on (1.9 MiB resident and two more libraries relocated at
/// every process start), and the binary runs where libtss2 is not installed. The libraries are
/// opened once and stay loaded; the TCTI module a configuration names (`swtpm`, `device`, …) is
/// loaded by libtss2's own TCTI loader, as before.
struct LibTSS2: @unchecked Sendable {
    /// The libtss2 functions Matryoshka calls (`CTSS2.h` lists them).
    ///
    /// `@unchecked`: the pointers are set once by the loader and point into libraries that are
    /// never unloaded.
    let api: MatryoshkaTSS2

    /// The sonames of libtss2 3.x and 4.x.
    static let defaultLibraries = Libraries(
        esys: "libtss2-esys.so.0", tctildr: "libtss2-tctildr.so.0", mu: "libtss2-mu.so.0", rc: "libtss2-rc.so.0")

    /// The four libraries, by soname or path.
    struct Libraries: Sendable {
        var esys: String
        var tctildr: String
        var mu: String
        var rc: String
    }

    private static let loaded = load(defaultLibraries)

    /// The loaded libraries, loading them on first use.
    ///
    /// - Throws: ``TPMDeviceError/libraryUnavailable(_:)`` when they cannot be loaded (every call
    ///   throws the same error: a failed load is not retried).
    static func shared() throws(TPMDeviceError) -> LibTSS2 {
        try loaded.get()
    }

    /// The libraries if ``shared()`` has loaded them, for decoding a response code.
    static var ifLoaded: LibTSS2? {
        try? loaded.get()
    }

    /// Opens `libraries` and resolves every function.
    static func load(_ libraries: Libraries) -> Result<LibTSS2, TPMDeviceError> {
        var error = [CChar](repeating: 0, count: 512)
        let api = error.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress.flatMap { matryoshka_tss2_load(libraries.esys, libraries.tctildr, libraries.mu, libraries.rc, $0, buffer.count) }
        }
        guard let api else {
            let reason = error.withUnsafeBufferPointer { buffer in buffer.baseAddress.map { String(cString: $0) } ?? "" }
            return .failure(.libraryUnavailable(reason))
        }
        return .success(LibTSS2(api: api.pointee))
    }
}
