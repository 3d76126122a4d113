import ArgumentParser
import MatryoshkaCLI

struct QuickstartCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quickstart",
        abstract: "Run a server and an agent in one process, with an identity for you, and show what to try.",
        discussion: """
            Uses embedded SQLite in --data-dir (default ~/.matryoshka/quickstart); running it again reuses \
            that directory. Stops on Ctrl-C.
            """)

    @Option(name: .long, help: ArgumentHelp("Data directory.", valueName: "DIR")) var dataDir: String?
    @Option(name: .long, help: "Trust domain.") var trustDomain: String = "example.org"
    @Flag(name: .long, help: "Start, check that this process gets its identity, and exit.") var once = false
    @OptionGroup var log: LogOptions

    func run() async throws {
        var options = Quickstart.Options()
        options.dataDirectory = dataDir
        options.trustDomain = trustDomain
        options.once = once
        let logger = log.bootstrap(label: "matryoshka.quickstart")
        await perform { () async throws(CLIError) in
            try await Quickstart.run(options, logger: logger)
        }
    }
}
