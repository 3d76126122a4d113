import SPIFFE

/// SPIFFE IDs with a fixed meaning in a Matryoshka trust domain.
public enum WellKnownIDs {
    /// The server's own identity, which agents require the server to present.
    public static func server(in trustDomain: TrustDomain) -> SPIFFEID {
        // A fixed, valid path: construction cannot fail.
        (try? SPIFFEID(trustDomain: trustDomain, path: "/matryoshka/server")) ?? trustDomain.id
    }
}
