/// A message from the wire that does not make a valid domain value.
public struct WireConversionError: Error, Hashable, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
