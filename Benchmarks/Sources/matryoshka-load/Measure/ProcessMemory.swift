import Foundation

/// A process's resident memory, from /proc/PID/status.
enum ProcessMemory {
    /// VmRSS in MiB.
    static func residentMiB(pid: Int32) throws -> Double {
        try field("VmRSS", pid: pid) / 1024
    }

    /// VmHWM (peak resident) in MiB.
    static func peakResidentMiB(pid: Int32) throws -> Double {
        try field("VmHWM", pid: pid) / 1024
    }

    /// Anonymous (heap, stacks) and file-backed (the mapped executable and libraries) resident
    /// memory in MiB: what VmRSS is made of.
    static func residentSplitMiB(pid: Int32) throws -> (anonymous: Double, file: Double) {
        (try field("RssAnon", pid: pid) / 1024, try field("RssFile", pid: pid) / 1024)
    }

    private static func field(_ name: String, pid: Int32) throws -> Double {
        let path = "/proc/\(pid)/status"
        guard let data = FileManager.default.contents(atPath: path) else { throw LoadError.unexpected("cannot read \(path)") }
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") where line.hasPrefix(name + ":") {
            let digits = line.dropFirst(name.count + 1).filter(\.isNumber)
            if let kilobytes = Double(String(digits)) { return kilobytes }
        }
        throw LoadError.unexpected("no \(name) in \(path)")
    }
}
