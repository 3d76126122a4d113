import Testing
import WorkloadAPI

@Suite("Workload API addresses")
struct AddressTests {
    @Test("unix:// URIs and plain paths", arguments: [
        ("unix:///run/agent.sock", "/run/agent.sock"),
        ("unix:/run/agent.sock", "/run/agent.sock"),
        ("/run/agent.sock", "/run/agent.sock"),
        ("agent.sock", "agent.sock"),
        ("./sockets/agent.sock", "./sockets/agent.sock"),
    ])
    func parses(input: String, path: String) throws {
        #expect(try WorkloadAPIAddress(input).path == path)
    }

    @Test("rejected addresses name the problem", arguments: [
        ("", "empty"),
        ("unix://", "authority"),
        ("unix://host/run/agent.sock", "authority"),
        ("unix:relative.sock", "absolute"),
        ("tcp://127.0.0.1:8081", "unsupported scheme 'tcp'"),
        ("unix:///run/agent.sock?x=1", "query"),
        ("unix:///" + String(repeating: "a", count: 200), "longer than"),
    ])
    func rejects(input: String, reason: String) {
        #expect {
            _ = try WorkloadAPIAddress(input)
        } throws: { error in
            guard case .invalid(_, let why) = error as? WorkloadAPIAddressError else { return false }
            return why.contains(reason)
        }
    }

    @Test("SPIFFE_ENDPOINT_SOCKET is read when no address is given")
    func environment() throws {
        let env = ["SPIFFE_ENDPOINT_SOCKET": "unix:///tmp/agent.sock"]
        #expect(try WorkloadAPIAddress.fromEnvironment(env).path == "/tmp/agent.sock")
        #expect(try WorkloadAPIAddress.resolve(nil, environment: env).path == "/tmp/agent.sock")
        #expect(try WorkloadAPIAddress.resolve("/other.sock", environment: env).path == "/other.sock")
        #expect(throws: WorkloadAPIAddressError.notConfigured) { try WorkloadAPIAddress.fromEnvironment([:]) }
        #expect(throws: WorkloadAPIAddressError.notConfigured) { try WorkloadAPIAddress.resolve("", environment: ["SPIFFE_ENDPOINT_SOCKET": ""]) }
        #expect(WorkloadAPIAddressError.notConfigured.description.contains("SPIFFE_ENDPOINT_SOCKET"))
    }

    @Test("uri renders absolute paths as unix:// URIs")
    func uri() throws {
        #expect(try WorkloadAPIAddress("/run/a.sock").uri == "unix:///run/a.sock")
        #expect(try WorkloadAPIAddress("a.sock").uri == "a.sock")
    }
}
