import Testing
@testable import WorkloadAPI

@Suite("Internals: DER sequences")
struct InternalTests {
    @Test("back-to-back DER values split and concatenate losslessly")
    func derRoundTrip() throws {
        let short: [UInt8] = [0x30, 0x03, 0x02, 0x01, 0x05]
        let long: [UInt8] = [0x30, 0x82, 0x01, 0x00] + Array(repeating: 0xAB, count: 256)
        let joined = DERSequence.concatenate([short, long, short])
        #expect(try DERSequence.split(joined) == [short, long, short])
        #expect(try DERSequence.split([UInt8]()) == [])
    }

    @Test("truncated or indefinite-length DER is rejected")
    func derErrors() {
        #expect(throws: DERSequenceError.truncated(offset: 0)) { try DERSequence.split([0x30, 0x05, 0x01]) }
        #expect(throws: DERSequenceError.invalidLength(offset: 0)) { try DERSequence.split([0x30, 0x80, 0x00, 0x00]) }
        #expect(throws: DERSequenceError.truncated(offset: 5)) { try DERSequence.split([0x30, 0x03, 0x02, 0x01, 0x05, 0x30]) }
    }
}
