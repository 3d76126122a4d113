/// The result of `ValidateJWTSVID`: the token's SPIFFE ID and its claims.
public struct ValidatedJWT: Sendable, Hashable {
    /// The SPIFFE ID in the token's `sub` claim.
    public var spiffeID: String
    /// The token's payload claims, keyed by claim name.
    public var claims: [String: ClaimValue]

    /// Creates a validation result.
    public init(spiffeID: String, claims: [String: ClaimValue]) {
        self.spiffeID = spiffeID
        self.claims = claims
    }

    /// A JSON value, as carried in a JWT claim (and, on the wire, in a `google.protobuf.Value`).
    ///
    /// Numbers are `Double`s because that is what the wire format carries; integers up to 2^53
    /// (every realistic `exp`, `iat`, `nbf`) are exact.
    public indirect enum ClaimValue: Sendable, Hashable {
        /// JSON `null`.
        case null
        /// `true` or `false`.
        case bool(Bool)
        /// A number.
        case number(Double)
        /// A string.
        case string(String)
        /// An array.
        case array([ClaimValue])
        /// An object.
        case object([String: ClaimValue])
    }
}
