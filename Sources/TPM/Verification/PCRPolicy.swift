/// The SHA-256 PCR values a node must report, by PCR index.
///
/// ``check(_:)`` compares verified PCR values (from ``QuoteVerifier``) with the policy; a PCR the
/// policy names but the quote does not cover is refused, PCRs the policy does not name are ignored.
public struct PCRPolicy: Hashable, Sendable {
    /// The expected SHA-256 bank value of each PCR, 32 bytes each.
    public let expected: [Int: [UInt8]]

    /// The PCR indices the policy constrains, ascending: quote at least these.
    public var indices: [Int] {
        expected.keys.sorted()
    }

    /// Creates a policy from lowercase or uppercase hexadecimal SHA-256 values.
    ///
    /// - Throws: ``PCRPolicyError/invalidIndex(_:)`` for an index outside 0...23 (the PCRs a PC
    ///   client TPM has), ``PCRPolicyError/invalidExpectedValue(index:value:)`` for a value that is
    ///   not 64 hexadecimal digits.
    public init(expected: [Int: String]) throws(PCRPolicyError) {
        var values: [Int: [UInt8]] = [:]
        for (index, hex) in expected {
            guard let value = decodeHex(hex), value.count == 32 else {
                throw .invalidExpectedValue(index: index, value: hex)
            }
            values[index] = value
        }
        try self.init(expectedValues: values)
    }

    /// Creates a policy from raw 32-byte SHA-256 values.
    ///
    /// - Throws: ``PCRPolicyError`` for an index outside 0...23 or a value that is not 32 bytes.
    public init(expectedValues: [Int: [UInt8]]) throws(PCRPolicyError) {
        for (index, value) in expectedValues {
            guard (0...23).contains(index) else { throw .invalidIndex(index) }
            guard value.count == 32 else { throw .invalidExpectedValue(index: index, value: value.hexString) }
        }
        self.expected = expectedValues
    }

    /// Checks verified SHA-256 PCR values against the policy, lowest index first.
    ///
    /// - Throws: ``PCRPolicyError/notQuoted(index:)`` if a constrained PCR is missing,
    ///   ``PCRPolicyError/mismatch(index:expected:got:)`` naming the first PCR that differs.
    public func check(_ values: [Int: [UInt8]]) throws(PCRPolicyError) {
        for index in indices {
            guard let value = values[index] else { throw .notQuoted(index: index) }
            let expectedValue = expected[index] ?? []
            guard value == expectedValue else {
                throw .mismatch(index: index, expected: expectedValue.hexString, got: value.hexString)
            }
        }
    }
}

/// A PCR policy could not be built, or PCR values do not satisfy it.
public enum PCRPolicyError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A policy names a PCR outside 0...23.
    case invalidIndex(Int)
    /// A policy value is not a SHA-256 digest.
    case invalidExpectedValue(index: Int, value: String)
    /// The quote does not cover a PCR the policy constrains.
    case notQuoted(index: Int)
    /// A PCR holds another value than the policy expects (both as lowercase hex).
    case mismatch(index: Int, expected: String, got: String)

    /// A one-line explanation naming the PCR.
    public var description: String {
        switch self {
        case .invalidIndex(let index): return "PCR policy: index \(index) is outside 0...23"
        case .invalidExpectedValue(let index, let value): return "PCR policy: PCR \(index): '\(value)' is not a SHA-256 value (64 hex digits)"
        case .notQuoted(let index): return "PCR policy: PCR \(index) is constrained by the policy but was not quoted"
        case .mismatch(let index, let expected, let got): return "PCR policy: PCR \(index) mismatch: expected sha256:\(expected), got sha256:\(got)"
        }
    }
}
