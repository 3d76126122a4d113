import Attestation
import Foundation
import SPIFFE

/// Conversions between model values and their stored column form. Reading back throws
/// ``DataStoreError/corrupt(_:)`` naming the record and column, never traps: a row edited by hand
/// must not take the server down.
enum StoredValues {
    // MARK: SPIFFE IDs

    static func spiffeID(_ text: String, _ record: @autoclosure () -> String, column: String) throws(DataStoreError) -> SPIFFEID {
        do {
            return try SPIFFEID(text)
        } catch {
            throw .corrupt("\(record()): \(column) '\(text)' is not a SPIFFE ID: \(error)")
        }
    }

    static func optionalSPIFFEID(_ text: String?, _ record: @autoclosure () -> String, column: String) throws(DataStoreError) -> SPIFFEID? {
        guard let text else { return nil }
        return try spiffeID(text, record(), column: column)
    }

    // MARK: Lists

    /// Canonical JSON text of selectors: sorted, without duplicates, so equal sets store equal text.
    static func selectorsText(_ selectors: [Selector]) -> String {
        CanonicalJSON.strings(canonicalSelectors(selectors).map(\.description)).text
    }

    /// Selectors sorted and without duplicates, as stored.
    static func canonicalSelectors(_ selectors: [Selector]) -> [Selector] {
        Array(Set(selectors)).sorted()
    }

    /// The stored selectors, sorted and without duplicates (as stored, unless edited by hand).
    static func selectors(_ text: String, _ record: @autoclosure () -> String, column: String) throws(DataStoreError) -> [Selector] {
        let strings = try self.strings(text, record(), column: column)
        var selectors: [Selector] = []
        selectors.reserveCapacity(strings.count)
        for string in strings {
            do {
                selectors.append(try Selector(string))
            } catch {
                throw .corrupt("\(record()): \(column) holds an invalid selector '\(string)': \(error)")
            }
        }
        // A selector's description is the text it was parsed from, and selectors order by
        // description: strictly ascending strings mean sorted and unique, the stored form.
        let canonical = zip(strings, strings.dropFirst()).allSatisfy { $0 < $1 }
        return canonical ? selectors : canonicalSelectors(selectors)
    }

    static func stringsText(_ strings: [String]) -> String {
        CanonicalJSON.strings(strings).text
    }

    static func strings(_ text: String, _ record: @autoclosure () -> String, column: String) throws(DataStoreError) -> [String] {
        guard let strings = JSONStrings.array(text) else {
            throw .corrupt("\(record()): \(column) is not a JSON array of strings")
        }
        return strings
    }

    static func dictionaryText(_ dictionary: [String: String]) -> String {
        CanonicalJSON.objectOfStrings(dictionary)
    }

    static func dictionary(_ text: String, _ record: @autoclosure () -> String, column: String) throws(DataStoreError) -> [String: String] {
        guard let dictionary = JSONStrings.object(text) else {
            throw .corrupt("\(record()): \(column) is not a JSON object of strings")
        }
        return dictionary
    }

    // MARK: Enumerations

    static func enumeration<Value: RawRepresentable<String>>(
        _ type: Value.Type, _ text: String, _ record: @autoclosure () -> String, column: String
    ) throws(DataStoreError) -> Value {
        guard let value = Value(rawValue: text) else {
            throw .corrupt("\(record()): \(column) '\(text)' is not a known value")
        }
        return value
    }
}
