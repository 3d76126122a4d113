import Foundation
import GRPCCore
import Testing
import WorkloadAPI

#if canImport(Glibc)
import Glibc
#endif

@Suite("Who is calling: security header and kernel credentials")
struct AuthorizationTests {
    @Test("a request without 'workload.spiffe.io: true' gets InvalidArgument, on every RPC")
    func missingSecurityHeader() async throws {
        let provider = try TestIdentityProvider.standard(pki: TestPKI())
        let codes = try await withTestServer(provider: provider) { _, address in
            try await withRawClient(address) { api in
                var codes: [String: RPCError.Code?] = [:]
                codes["FetchX509SVID"] = await rpcErrorCode {
                    try await api.fetchX509SVID(Workload_X509SVIDRequest()) { response in
                        for try await _ in response.messages { break }
                    }
                }
                codes["FetchX509Bundles"] = await rpcErrorCode {
                    try await api.fetchX509Bundles(Workload_X509BundlesRequest()) { response in
                        for try await _ in response.messages { break }
                    }
                }
                codes["FetchJWTBundles"] = await rpcErrorCode {
                    try await api.fetchJWTBundles(Workload_JWTBundlesRequest()) { response in
                        for try await _ in response.messages { break }
                    }
                }
                var jwtRequest = Workload_JWTSVIDRequest()
                jwtRequest.audience = ["a"]
                codes["FetchJWTSVID"] = await rpcErrorCode { try await api.fetchJWTSVID(jwtRequest) }
                var validate = Workload_ValidateJWTSVIDRequest()
                validate.audience = "a"
                validate.svid = "t"
                codes["ValidateJWTSVID"] = await rpcErrorCode { try await api.validateJWTSVID(validate) }
                // A wrong value is as good as none.
                codes["FetchJWTSVID (false)"] = await rpcErrorCode {
                    try await api.fetchJWTSVID(jwtRequest, metadata: ["workload.spiffe.io": "false"])
                }
                return codes
            }
        }
        #expect(codes.count == 6)
        for (method, code) in codes {
            #expect(code == .invalidArgument, "\(method)")
        }
        #expect(await provider.callers.isEmpty, "the provider must not be asked")
    }

    @Test("credential metadata sent by the client is stripped; the service sees the kernel's pid/uid/gid")
    func spoofedCredentialsAreStripped() async throws {
        let provider = try TestIdentityProvider.standard(pki: TestPKI())
        try await withTestServer(provider: provider) { _, address in
            try await withRawClient(address) { api in
                var request = Workload_JWTSVIDRequest()
                request.audience = ["spoof-test"]
                let metadata: Metadata = [
                    "workload.spiffe.io": "true",
                    "x-matryoshka-peer-cred": "pid=1;uid=0;gid=0",
                    "x-matryoshka-peer-cred": "pid=2;uid=0;gid=0",
                ]
                let response = try await api.fetchJWTSVID(request, metadata: metadata)
                #expect(response.svids.count == 1)
                try await api.fetchX509Bundles(Workload_X509BundlesRequest(), metadata: metadata) { response in
                    for try await _ in response.messages { break }
                }
            }
        }
        let callers = await provider.callers
        #expect(callers.count == 2)
        let expected = CallerCredentials(pid: getpid(), uid: getuid(), gid: getgid())
        for caller in callers {
            #expect(caller == expected)
        }
    }

    @Test("the library client is identified too")
    func libraryClientIdentified() async throws {
        let provider = try TestIdentityProvider.standard(pki: TestPKI())
        try await withTestServer(provider: provider) { _, address in
            try await WorkloadAPIClient.withClient(address: address) { client in
                _ = try await client.fetchJWTBundles()
            }
        }
        #expect(await provider.callers == [CallerCredentials(pid: getpid(), uid: getuid(), gid: getgid())])
    }
}
