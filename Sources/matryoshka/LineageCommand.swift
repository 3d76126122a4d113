import ArgumentParser
import MatryoshkaCLI

struct LineageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lineage",
        abstract: "Show or verify an SVID's chain of custody (its lineage).",
        discussion: """
            Every SVID carries its lineage: one link per layer, outermost first, each signed by the \
            layer around it. X509-SVIDs carry it in a non-critical extension, JWT-SVIDs in the \
            'lineage' claim (with an RFC 8693 'act' claim naming the ancestors).

            CREDENTIAL is the path of an X509-SVID (PEM or DER, leaf first), a JWT-SVID itself, - to \
            read either from stdin, or @FILE.
            """,
        subcommands: [Show.self, Verify.self]
    )

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show",
            abstract: "Print an SVID's lineage as a tree, outermost layer first (not verified).",
            discussion: "Each line: the layer's SPIFFE ID, how its parent attested it, the selectors that matched, its validity.")

        @OptionGroup var output: JSONFlag
        @Argument(help: ArgumentHelp("The SVID: certificate file, token, - or @FILE.", valueName: "CREDENTIAL"))
        var credential: String

        func run() async throws {
            await report(json: output.json, { () async throws(CLIError) in
                try LineageOperations.show(credential)
            }, text: \.text)
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "verify",
            abstract: "Verify an SVID and every hop of its lineage offline against a trust bundle.",
            discussion: """
                First verifies the SVID itself, as 'svid verify' or 'jwt verify' do. Then checks every \
                link: the first is signed by a CA of the bundle; each next one commits to the hash of the \
                one before and is signed by that layer's key; none outlives its parent or predates it; \
                the last is the SVID's own SPIFFE ID (and key, for an X509-SVID). Prints "lineage \
                verified: N hops" and exits 0, or names the failing hop and exits 1.

                The bundle must hold the CA certificates (PEM, DER or a SPIFFE bundle); for a JWT-SVID \
                a SPIFFE bundle, which also holds the JWT keys.
                """
        )

        @Option(name: .long, help: ArgumentHelp("Trust bundle file (PEM, DER or SPIFFE bundle JSON).", valueName: "FILE"))
        var bundle: String

        @Option(name: .long, help: "The audience a JWT-SVID must be for (required for JWT-SVIDs).")
        var audience: String?

        @OptionGroup var output: JSONFlag

        @Argument(help: ArgumentHelp("The SVID: certificate file, token, - or @FILE.", valueName: "CREDENTIAL"))
        var credential: String

        func run() async throws {
            await report(json: output.json, { () async throws(CLIError) in
                try await LineageOperations.verify(credential, bundlePath: bundle, audience: audience)
            }, text: \.text)
        }
    }
}
