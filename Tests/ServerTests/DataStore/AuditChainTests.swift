import Foundation
import Testing

@testable import Server

@Suite("Audit chain")
struct AuditChainTests {
    let event = AuditEvent(
        kind: "entry.create", actor: "uid:1000", subject: "e1",
        details: ["b": "2", "a": "x\"y\n\u{01}é/"],
        time: Date(timeIntervalSince1970: 1_800_000_000.123_4))

    /// Computed independently (Python: `json.dumps(event, sort_keys=True, separators=(",", ":"),
    /// ensure_ascii=False)`, then SHA-256 of the framed input).
    @Test func hashMatchesTheDocumentedFormat() {
        #expect(
            AuditChain.canonicalJSON(of: event)
                == #"{"actor":"uid:1000","details":{"a":"x\"y\n\u0001é/","b":"2"},"kind":"entry.create","subject":"e1","time":1800000000123}"#)
        #expect(
            AuditChain.hash(sequence: 1, event: event, previousHash: AuditChain.genesisHash)
                == "b21fc0ff9be7c012af2cbd00bbed6fd79eb74edd90ff2e95beef15b17d260d51")
    }

    func chain(_ count: Int) -> [AuditRecord] {
        var records: [AuditRecord] = []
        for index in 0..<count {
            var event = self.event
            event.subject = "subject-\(index)"
            records.append(AuditChain.record(for: event, after: records.last))
        }
        return records
    }

    @Test func anIntactChainVerifiesWholeAndByPages() {
        let records = chain(10)
        #expect(records.map(\.sequence) == Array(1...10))
        #expect(records.first?.previousHash == AuditChain.genesisHash)
        #expect(AuditChain.verify(records) == nil)
        #expect(AuditChain.verify(records[..<4]) == nil)
        #expect(AuditChain.verify(records[4...], after: records[3]) == nil)
        #expect(AuditChain.verify([AuditRecord]()) == nil)
    }

    @Test func recordTimesAreTakenToTheMillisecond() {
        let record = AuditChain.record(for: event, after: nil)
        #expect(record.event.time == Date(timeIntervalSince1970: 1_800_000_000.123))
        #expect(record.hash == AuditChain.hash(sequence: 1, event: event, previousHash: AuditChain.genesisHash))
    }

    @Test func eachKindOfTamperingNamesTheFirstBadRecord() {
        let records = chain(6)

        var edited = records
        edited[2].event.subject = "someone else"
        #expect(AuditChain.verify(edited) == AuditChainBreak(sequence: 3, reason: .hashMismatch))

        var editedDetails = records
        editedDetails[4].event.details["a"] = "changed"
        #expect(AuditChain.verify(editedDetails)?.sequence == 5)

        var deleted = records
        deleted.remove(at: 2)
        #expect(AuditChain.verify(deleted) == AuditChainBreak(sequence: 4, reason: .unexpectedSequence(expected: 3)))

        // Deleted and renumbered so the sequence is continuous: the link is broken.
        var renumbered = deleted
        for index in 2..<renumbered.count { renumbered[index].sequence -= 1 }
        #expect(AuditChain.verify(renumbered) == AuditChainBreak(sequence: 3, reason: .previousHashMismatch))

        var reordered = records
        reordered.swapAt(1, 2)
        #expect(AuditChain.verify(reordered) == AuditChainBreak(sequence: 3, reason: .unexpectedSequence(expected: 2)))

        var inserted = records
        inserted.insert(AuditChain.record(for: event, sequence: 3, previousHash: records[1].hash), at: 2)
        #expect(AuditChain.verify(inserted)?.sequence == 3)

        // A forged first record that does not start from the genesis hash.
        var forgedStart = records
        forgedStart[0] = AuditChain.record(for: event, sequence: 1, previousHash: String(repeating: "1", count: 64))
        #expect(AuditChain.verify(forgedStart) == AuditChainBreak(sequence: 1, reason: .previousHashMismatch))

        var rehashed = records
        rehashed[5].hash = String(repeating: "f", count: 64)
        #expect(AuditChain.verify(rehashed) == AuditChainBreak(sequence: 6, reason: .hashMismatch))
    }

    @Test func breaksDescribeThemselves() {
        #expect(AuditChainBreak(sequence: 4, reason: .unexpectedSequence(expected: 3)).description.contains("audit record 4"))
        #expect(AuditChainBreak(sequence: 7, reason: .hashMismatch).description.contains("edited"))
    }
}

@Suite("Canonical JSON and its reader")
struct CanonicalJSONTests {
    @Test func escapesMinimallyAndSortsKeysByUTF16() {
        #expect(CanonicalJSON.strings(["a\"b", "c\\d", "\u{08}\u{0C}\n\r\t\u{1F}", "/é\u{7F}😀"]).text
            == #"["a\"b","c\\d","\b\f\n\r\t\u001f","/é\#u{7F}😀"]"#)
        // U+FF61 sorts after U+1F600 by code point, before it by UTF-16 code unit (RFC 8785).
        #expect(CanonicalJSON.object(["\u{FF61}": .integer(1), "😀": .integer(-2), "a": .array([])]).text
            == #"{"a":[],"😀":-2,"｡":1}"#)
    }

    @Test func jsonTextInsideAStringIsEscapedRunByRun() {
        // An audit record's lineage_layers detail is JSON text: escapes every few characters,
        // at both ends, next to each other and beside multi-byte characters.
        let inner = CanonicalJSON.array([.object(["spiffe_id": .string("spiffe://é.org/a"), "selectors": .strings(["unix:uid:0", "x\\y"])])]).text
        let values = [inner, "\"", "\"\"", "\\\n", "a\"", "\"a", "😀\"😀", "\u{01}é\u{1F}", "\r\n"]
        for value in values {
            var written = ""
            CanonicalJSON.writeString(value, into: &written)
            #expect(JSONStrings.array("[\(written)]") == [value], "\(value)")
        }
        var written = ""
        CanonicalJSON.writeString("\r\n", into: &written)
        #expect(written == #""\r\n""#)
        let details = ["lineage_layers": inner, "b": "2", "😀": "\t"]
        #expect(CanonicalJSON.objectOfStrings(details) == CanonicalJSON.object(details.mapValues(CanonicalJSON.string)).text)
        #expect(JSONStrings.object(CanonicalJSON.objectOfStrings(details)) == details)
    }

    @Test func readerAcceptsWhatTheWriterWritesAndOtherValidJSON() {
        let strings = ["", "plain", "a\"b", "c\\d", "\u{08}\u{0C}\n\r\t\u{1F}", "/é😀", "unix:path:/usr/bin/env"]
        #expect(JSONStrings.array(CanonicalJSON.strings(strings).text) == strings)
        #expect(JSONStrings.array(" [ \"a\" , \"\\u00e9\\ud83d\\ude00\\/\" ] ") == ["a", "é😀/"])
        #expect(JSONStrings.array("[]") == [])
        #expect(JSONStrings.object(#"{"k":"v","x":"\n"}"#) == ["k": "v", "x": "\n"])
        #expect(JSONStrings.object("{}") == [:])
    }

    @Test func readerRefusesEverythingElse() {
        for text in ["", "[", "[\"a\"", "[\"a\",]", "[1]", "[\"a\"]x", "{\"a\":1}", "[\"\\x\"]", "[\"\\ud83d\"]",
            "[\"tab\there\"]", "null", "{\"a\":\"1\",\"a\":\"2\"}", "[\"a\" \"b\"]"]
        {
            #expect(JSONStrings.array(text) == nil && JSONStrings.object(text) == nil, "\(text)")
        }
    }
}
