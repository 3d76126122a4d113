#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
#elseif canImport(Darwin)
internal import Darwin
#endif

extension CallerCredentials {
    /// The name of the caller's user in the password database (`getpwuid_r`), or `nil` when the
    /// uid has no entry or the database cannot be read.
    ///
    /// The lookup may block on a network directory service (NSS); call it where that is fine, such
    /// as an audit record of an admin change, not on an event loop.
    public var userName: String? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var capacity = max(Int(sysconf(Int32(_SC_GETPW_R_SIZE_MAX))), 1024)
        while capacity <= 1 << 20 {
            var buffer = [CChar](repeating: 0, count: capacity)
            // `pw_name` points into `buffer`: read it before the buffer goes away.
            let (status, name) = buffer.withUnsafeMutableBufferPointer { bytes -> (Int32, String?) in
                guard let base = bytes.baseAddress else { return (ERANGE, nil) }
                let status = getpwuid_r(uid_t(uid), &entry, base, bytes.count, &result)
                guard status == 0, result != nil, let name = entry.pw_name else { return (status, nil) }
                return (status, String(cString: name))
            }
            if status == ERANGE {
                capacity *= 2
                continue
            }
            guard let name, !name.isEmpty else { return nil }
            return name
        }
        return nil
    }
}
