import ArgumentParser
import MatryoshkaCLI

struct JWTCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jwt",
        abstract: "Work with JWT-SVIDs.",
        subcommands: [Fetch.self, Validate.self, Verify.self]
    )

    struct Fetch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "fetch",
            abstract: "Fetch a JWT-SVID for an audience from the agent's Workload API.",
            discussion: "Prints the token alone (--json for its SPIFFE ID and expiry).")

        @Option(name: .long, help: ArgumentHelp("The audience (repeatable).", valueName: "AUDIENCE")) var audience: [String] = []
        @Option(name: .long, help: "Which of this process's SPIFFE IDs (default: its default identity).") var spiffeID: String?
        @OptionGroup var socket: WorkloadSocketOption
        @OptionGroup var output: JSONFlag

        func validate() throws {
            guard !audience.isEmpty else { throw ValidationError("--audience is required") }
        }

        func run() async throws {
            await report(json: output.json, { () async throws(CLIError) in
                try await WorkloadOperations.fetchJWT(socket: socket.socket, audience: audience, spiffeID: spiffeID)
            }, text: \.text)
        }
    }

    struct Validate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "validate",
            abstract: "Ask the agent to validate a JWT-SVID for an audience.",
            discussion: "TOKEN is the token itself, - for stdin, or @FILE.")

        @Option(name: .long, help: "The audience the token must be for.") var audience: String
        @OptionGroup var socket: WorkloadSocketOption
        @OptionGroup var output: JSONFlag
        @Argument(help: ArgumentHelp("The JWT-SVID, - for stdin, or @FILE.", valueName: "TOKEN")) var token: String

        func run() async throws {
            await report(json: output.json, { () async throws(CLIError) in
                try await WorkloadOperations.validateJWT(socket: socket.socket, token: try InputFile.token(token), audience: audience)
            }, text: \.text)
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "verify",
            abstract: "Verify a JWT-SVID offline against a trust bundle, per the JWT-SVID specification.",
            discussion: """
                Checks the header (alg one of RS/ES/PS 256/384/512, typ absent or JWT/JOSE, a kid found \
                in the bundle), the signature, sub (a SPIFFE ID), aud (must contain --audience) and exp. \
                Prints the SPIFFE ID, expiry and claims and exits 0, or prints why not and exits 1.

                TOKEN is the token itself, - to read it from stdin, or @FILE to read it from a file \
                (keeping it out of the process list).
                """
        )

        @Option(name: .long, help: ArgumentHelp("Trust bundle file (JWKS or SPIFFE bundle JSON).", valueName: "FILE"))
        var bundle: String

        @Option(name: .long, help: "The audience the token must be for.")
        var audience: String

        @Option(name: .long, help: "Require the token's subject to be in this trust domain.")
        var trustDomain: String?

        @Option(name: .long, help: "Clock skew tolerated on exp and nbf, in seconds.")
        var leeway: Int = 10

        @Flag(name: .long, help: "Print the result as JSON.")
        var json = false

        @Argument(help: ArgumentHelp("The JWT-SVID, - for stdin, or @FILE.", valueName: "TOKEN"))
        var token: String

        func validate() throws {
            guard leeway >= 0 else { throw ValidationError("--leeway must not be negative") }
        }

        func run() async throws {
            await report(json: json, { () async throws(CLIError) in
                let token = try InputFile.token(token)
                return try await OfflineVerification.verifyJWTSVID(
                    token: token, bundlePath: bundle, audience: audience, trustDomain: trustDomain, leeway: .seconds(leeway))
            }, text: \.text)
        }
    }
}
