import Foundation
import Testing

@testable import Attestation

/// `/proc` read from the bytes: the fields workload attestation relies on (parent pid, start
/// time, supplementary groups), including the lines a hostile command name can make.
@Suite("procfs parsing")
struct ProcFSTests {
    static func stat(comm: String, ppid: String = "41", start: String = "98765") -> [UInt8] {
        // pid (comm) state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt
        // utime stime cutime cstime priority nice num_threads itrealvalue starttime vsize …
        let fields = ["S", ppid, "42", "42", "0", "-1", "4194560", "100", "0", "0", "0", "1", "2", "0", "0", "20", "0", "1", "0", start, "1234", "56"]
        return Array("4242 (\(comm)) \(fields.joined(separator: " "))\n".utf8)
    }

    @Test func parentAndStartTimeAreReadAfterTheLastParenthesis() throws {
        let plain = try #require(ProcFS.parseStat(Self.stat(comm: "bash")))
        #expect(plain == ProcFS.Stat(parentPID: 41, startTime: 98765))
        // A command name with spaces and parentheses cannot shift the fields.
        let hostile = try #require(ProcFS.parseStat(Self.stat(comm: "a) S 1 2 3 (b")))
        #expect(hostile == ProcFS.Stat(parentPID: 41, startTime: 98765))
        // Start time as the last field, with no newline after it.
        var truncated = Self.stat(comm: "x")
        truncated = Array(String(decoding: truncated, as: UTF8.self).split(separator: " ").prefix(22).joined(separator: " ").utf8)
        #expect(ProcFS.parseStat(truncated)?.startTime == 98765)
    }

    @Test func malformedStatIsRefused() {
        #expect(ProcFS.parseStat([]) == nil)
        #expect(ProcFS.parseStat(Array("4242 bash S 1 2".utf8)) == nil)
        #expect(ProcFS.parseStat(Array("4242 (bash) S 1 2 3".utf8)) == nil)
        #expect(ProcFS.parseStat(Self.stat(comm: "x", ppid: "-5")) == nil)
        #expect(ProcFS.parseStat(Self.stat(comm: "x", start: "12a")) == nil)
        #expect(ProcFS.parseStat(Self.stat(comm: "x", start: "99999999999999999999999")) == nil)
    }

    @Test func groupsAreReadFromTheirLine() {
        let status = "Name:\tbash\nUmask:\t0022\nGid:\t100\t100\t100\t100\nGroups:\t4 24 27 1000 \nNSpid:\t4242\n"
        #expect(ProcFS.parseGroups(Array(status.utf8)) == [4, 24, 27, 1000])
        #expect(ProcFS.parseGroups(Array("Name:\tx\nGroups:\t\n".utf8)) == [])
        #expect(ProcFS.parseGroups(Array("Name:\tx\n".utf8)) == [])
        #expect(ProcFS.parseGroups(Array("Groups:\t7".utf8)) == [7])
        // A name cannot pose as the Groups line: only a line that starts with it counts.
        #expect(ProcFS.parseGroups(Array("Name:\tGroups: 0\nGroups:\t5\n".utf8)) == [5])
    }

    @Test func thisProcessAgreesWithTheKernel() throws {
        let pid = getpid()
        let stat = try #require(ProcFS.stat(of: pid))
        #expect(stat.parentPID == getppid())
        let text = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        let fields = text[text.index(after: try #require(text.lastIndex(of: ")")))...].split(separator: " ")
        #expect(stat.startTime == UInt64(fields[19]))
        let expected = Set(try #require(ProcFS.supplementaryGroups(of: pid)))
        var groups = [gid_t](repeating: 0, count: 256)
        let count = getgroups(Int32(groups.count), &groups)
        #expect(expected == Set(groups.prefix(Int(max(count, 0))).map { UInt32($0) }))
        #expect(ProcFS.stat(of: -1) == nil && ProcFS.supplementaryGroups(of: -1) == nil)
        #expect(ProcFS.read("/nonexistent/file") == nil)
    }
}
