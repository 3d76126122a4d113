/// A small strict JSON reader for the only shapes the datastore stores: an array of strings and an
/// object of strings. Much faster than `JSONDecoder` for the hundreds of thousands of short lists
/// read when all entries load, and it accepts any valid JSON of those shapes, canonical or not.
enum JSONStrings {
    /// The strings of a JSON array of strings, or nil if `text` is anything else.
    static func array(_ text: String) -> [String]? {
        var text = text
        return text.withUTF8 { bytes in
            var reader = Reader(bytes: bytes)
            return reader.document { (reader: inout Reader) throws(Malformed) in try reader.array() }
        }
    }

    /// The members of a JSON object whose values are all strings, or nil if `text` is anything
    /// else (including an object with a repeated key).
    static func object(_ text: String) -> [String: String]? {
        var text = text
        return text.withUTF8 { bytes in
            var reader = Reader(bytes: bytes)
            return reader.document { (reader: inout Reader) throws(Malformed) in try reader.object() }
        }
    }

    private struct Malformed: Error {}

    private struct Reader {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0

        init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

        mutating func document<T>(_ body: (inout Reader) throws(Malformed) -> T) -> T? {
            do {
                skipSpace()
                let value = try body(&self)
                skipSpace()
                return index == bytes.count ? value : nil
            } catch {
                return nil
            }
        }

        mutating func array() throws(Malformed) -> [String] {
            try expect(UInt8(ascii: "["))
            var values: [String] = []
            skipSpace()
            if peek() == UInt8(ascii: "]") {
                index += 1
                return values
            }
            while true {
                skipSpace()
                values.append(try string())
                skipSpace()
                let byte = try next()
                if byte == UInt8(ascii: "]") { return values }
                guard byte == UInt8(ascii: ",") else { throw Malformed() }
            }
        }

        mutating func object() throws(Malformed) -> [String: String] {
            try expect(UInt8(ascii: "{"))
            var members: [String: String] = [:]
            skipSpace()
            if peek() == UInt8(ascii: "}") {
                index += 1
                return members
            }
            while true {
                skipSpace()
                let key = try string()
                skipSpace()
                try expect(UInt8(ascii: ":"))
                skipSpace()
                let value = try string()
                guard members.updateValue(value, forKey: key) == nil else { throw Malformed() }
                skipSpace()
                let byte = try next()
                if byte == UInt8(ascii: "}") { return members }
                guard byte == UInt8(ascii: ",") else { throw Malformed() }
            }
        }

        mutating func string() throws(Malformed) -> String {
            try expect(UInt8(ascii: "\""))
            let start = index
            // Fast path: no escapes.
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    let value = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
                    index += 1
                    return value
                }
                if byte == UInt8(ascii: "\\") { break }
                if byte < 0x20 { throw Malformed() }
                index += 1
            }
            var scalars = String.UnicodeScalarView()
            scalars.append(contentsOf: String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self).unicodeScalars)
            var raw: [UInt8] = []
            while true {
                let byte = try next()
                switch byte {
                case UInt8(ascii: "\""):
                    flush(&raw, into: &scalars)
                    return String(scalars)
                case UInt8(ascii: "\\"):
                    flush(&raw, into: &scalars)
                    scalars.append(try escape())
                case 0..<0x20:
                    throw Malformed()
                default:
                    raw.append(byte)
                }
            }
        }

        private func flush(_ raw: inout [UInt8], into scalars: inout String.UnicodeScalarView) {
            guard !raw.isEmpty else { return }
            scalars.append(contentsOf: String(decoding: raw, as: UTF8.self).unicodeScalars)
            raw.removeAll(keepingCapacity: true)
        }

        private mutating func escape() throws(Malformed) -> Unicode.Scalar {
            switch try next() {
            case UInt8(ascii: "\""): return "\""
            case UInt8(ascii: "\\"): return "\\"
            case UInt8(ascii: "/"): return "/"
            case UInt8(ascii: "b"): return "\u{08}"
            case UInt8(ascii: "f"): return "\u{0C}"
            case UInt8(ascii: "n"): return "\n"
            case UInt8(ascii: "r"): return "\r"
            case UInt8(ascii: "t"): return "\t"
            case UInt8(ascii: "u"):
                let unit = try hex4()
                switch unit {
                case 0xD800..<0xDC00:
                    guard try next() == UInt8(ascii: "\\"), try next() == UInt8(ascii: "u") else { throw Malformed() }
                    let low = try hex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw Malformed() }
                    let value = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                    guard let scalar = Unicode.Scalar(value) else { throw Malformed() }
                    return scalar
                case 0xDC00..<0xE000:
                    throw Malformed()
                default:
                    guard let scalar = Unicode.Scalar(unit) else { throw Malformed() }
                    return scalar
                }
            default:
                throw Malformed()
            }
        }

        private mutating func hex4() throws(Malformed) -> UInt32 {
            var value: UInt32 = 0
            for _ in 0..<4 {
                let byte = try next()
                let digit: UInt8
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
                default: throw Malformed()
                }
                value = value << 4 | UInt32(digit)
            }
            return value
        }

        private func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

        private mutating func next() throws(Malformed) -> UInt8 {
            guard index < bytes.count else { throw Malformed() }
            defer { index += 1 }
            return bytes[index]
        }

        private mutating func expect(_ byte: UInt8) throws(Malformed) {
            guard try next() == byte else { throw Malformed() }
        }

        mutating func skipSpace() {
            while index < bytes.count {
                switch bytes[index] {
                case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"): index += 1
                default: return
                }
            }
        }
    }
}
