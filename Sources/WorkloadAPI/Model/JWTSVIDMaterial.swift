/// One JWT-SVID as served by `FetchJWTSVID` (the `JWTSVID` message).
public struct JWTSVIDMaterial: Sendable, Hashable {
    /// The SPIFFE ID in the token's `sub` claim.
    public var spiffeID: String
    /// The token in JWS compact serialization.
    public var token: String
    /// An operator-chosen hint telling the workload what this SVID is for; empty when unset.
    public var hint: String

    /// Creates the material for one JWT-SVID.
    public init(spiffeID: String, token: String, hint: String = "") {
        self.spiffeID = spiffeID
        self.token = token
        self.hint = hint
    }
}
