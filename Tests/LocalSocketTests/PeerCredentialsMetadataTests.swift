import Testing

@testable import LocalSocket

@Suite("Credential metadata codec")
struct PeerCredentialsMetadataTests {
    @Test("credential metadata round-trips and rejects anything else")
    func credentialMetadata() {
        let credentials = CallerCredentials(pid: 4242, uid: 1000, gid: 100)
        #expect(PeerCredentialsMetadata.decode(PeerCredentialsMetadata.encode(credentials)) == credentials)
        for bad in ["", "pid=1;uid=0", "pid=1;uid=0;gid=0;x=1", "pid=0;uid=0;gid=0", "pid=1;pid=2;gid=0",
                    "pid=-1;uid=0;gid=0", "pid=1;uid=-1;gid=0", "pid=a;uid=0;gid=0"] {
            #expect(PeerCredentialsMetadata.decode(bad) == nil, "\(bad)")
        }
    }
}
