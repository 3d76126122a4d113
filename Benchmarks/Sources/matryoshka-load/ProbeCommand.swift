import ArgumentParser
import Foundation
import Lineage
import WorkloadAPI
import X509

/// The sub-task of the exec scenario: prints when it started, fetches its X509-SVID from
/// SPIFFE_ENDPOINT_SOCKET, checks the lineage depth, and prints when it held it.
struct ProbeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe", abstract: "Internal: the exec scenario's sub-task.", shouldDisplay: false)

    @Flag(help: "Only print the start time.") var noFetch = false
    @Option(help: "Fail unless the SVID's lineage has this many links.") var expectDepth: Int?

    func run() async throws {
        let started = MonotonicClock.nanoseconds()
        print("started=\(started)")
        guard !noFetch else { return }
        let set = try await WorkloadAPIClient.withClient { client in try await client.fetchX509Context() }
        let holding = MonotonicClock.nanoseconds()
        guard let svid = set.svids.first, let leafDER = svid.certificateChain.first else {
            throw LoadError.unexpected("no X509-SVID served")
        }
        if let expectDepth {
            let depth = try LineageExtension.lineage(of: try Certificate(derEncoded: leafDER))?.depth ?? 0
            guard depth == expectDepth else { throw LoadError.unexpected("lineage depth \(depth), expected \(expectDepth)") }
        }
        print("holding=\(holding)")
        print("spiffe_id \(svid.spiffeID)")
    }
}
