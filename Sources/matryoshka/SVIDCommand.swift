import ArgumentParser
import MatryoshkaCLI

struct SVIDCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "svid",
        abstract: "Work with X509-SVIDs.",
        subcommands: [Fetch.self, Verify.self]
    )

    struct Fetch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "fetch",
            abstract: "Fetch this process's X509-SVIDs from the agent's Workload API.",
            discussion: """
                Prints each SPIFFE ID and expiry (the first is the default). With --write DIR, writes the \
                default SVID as DIR/svid.pem (chain), DIR/svid_key.pem (mode 0600) and DIR/bundle.pem.
                """)

        @OptionGroup var socket: WorkloadSocketOption
        @Option(name: .long, help: ArgumentHelp("Write svid.pem, svid_key.pem and bundle.pem here.", valueName: "DIR")) var write: String?
        @OptionGroup var output: JSONFlag

        func run() async throws {
            await report(json: output.json, { () async throws(CLIError) in
                try await WorkloadOperations.fetchX509(socket: socket.socket, writeDirectory: write)
            }, text: \.text)
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "verify",
            abstract: "Verify an X509-SVID offline against a trust bundle, per the X509-SVID specification.",
            discussion: """
                Checks the leaf (exactly one URI SAN holding a valid SPIFFE ID, cA=false, keyUsage \
                digitalSignature without keyCertSign/cRLSign), every signing certificate (cA=true, \
                keyCertSign), validity periods and the path to an authority in the bundle. Prints the \
                SPIFFE ID and expiry and exits 0, or prints why not and exits 1.

                The bundle may be PEM or DER certificates, a JWKS or a SPIFFE bundle. It is taken to be \
                the bundle of the SVID's trust domain unless --trust-domain says otherwise.

                With --crl, the SVID (and any intermediate whose issuer's CRL is given) must not be \
                revoked: "certificate … was revoked at …". The CRL of the leaf's issuer must be among them.
                """
        )

        @Option(name: .long, help: ArgumentHelp("Trust bundle file (PEM, DER or SPIFFE bundle JSON).", valueName: "FILE"))
        var bundle: String

        @Option(name: .long, help: "Require the SVID to be in this trust domain.")
        var trustDomain: String?

        @Option(name: .long, help: ArgumentHelp(
            "Also refuse the SVID if a CRL in this file (DER or PEM, e.g. from the server's /crl) revokes it or an intermediate (repeatable).",
            valueName: "FILE"))
        var crl: [String] = []

        @Flag(name: .long, help: "Print the result as JSON.")
        var json = false

        @Argument(help: ArgumentHelp("The SVID: leaf certificate first, then intermediates (PEM or DER; - for stdin).", valueName: "CERT.pem"))
        var certificate: String

        func run() async throws {
            await report(json: json, { () async throws(CLIError) in
                try await OfflineVerification.verifyX509SVID(certificatePath: certificate, bundlePath: bundle, trustDomain: trustDomain, crlPaths: crl)
            }, text: \.text)
        }
    }
}
