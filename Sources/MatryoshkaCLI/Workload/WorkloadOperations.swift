import Foundation
import SPIFFE
import WorkloadAPI
import X509

/// `matryoshka svid fetch`, `jwt fetch` and `jwt validate`: a workload asking its agent.
public enum WorkloadOperations {
    /// Fetches the caller's X509-SVIDs; with `writeDirectory`, writes the default one as
    /// `svid.pem` (chain), `svid_key.pem` (mode 0600) and `bundle.pem`.
    public static func fetchX509(socket: String?, writeDirectory: String?) async throws(CLIError) -> X509FetchReport {
        let set: X509SVIDSet = try await withClient(socket) { client in try await client.fetchX509Context() }
        guard let first = set.svids.first else { throw CLIError("the agent returned no X509-SVID") }
        var report = X509FetchReport(svids: [])
        for material in set.svids {
            let chain = try certificates(material.certificateChain, what: "SVID")
            report.svids.append(.init(spiffeID: material.spiffeID, expiresAt: chain[0].notValidAfter, hint: material.hint))
        }
        if let writeDirectory {
            let chain = try certificates(first.certificateChain, what: "SVID")
            let bundle = try certificates(first.bundle, what: "bundle")
            let keyPEM: String
            do {
                keyPEM = try PrivateKeyEncoding.pkcs8PEM(try Certificate.PrivateKey(derBytes: first.privateKey))
            } catch {
                throw CLIError("the agent returned an unreadable private key: \(error)")
            }
            try OutputFiles.prepareDirectory(writeDirectory)
            let svidPath = (writeDirectory as NSString).appendingPathComponent("svid.pem")
            let keyPath = (writeDirectory as NSString).appendingPathComponent("svid_key.pem")
            let bundlePath = (writeDirectory as NSString).appendingPathComponent("bundle.pem")
            try OutputFiles.write(CertificateEncoding.pem(chain), to: svidPath, mode: 0o644)
            try OutputFiles.write(keyPEM, to: keyPath, mode: 0o600)
            try OutputFiles.write(CertificateEncoding.pem(bundle), to: bundlePath, mode: 0o644)
            report.written = [svidPath, keyPath, bundlePath]
        }
        return report
    }

    /// Fetches a JWT-SVID for `audience` (the default identity, or `spiffeID`).
    public static func fetchJWT(socket: String?, audience: [String], spiffeID: String?) async throws(CLIError) -> JWTFetchReport {
        guard !audience.isEmpty, !audience.contains(where: \.isEmpty) else { throw CLIError("--audience is required and must not be empty") }
        if let spiffeID { _ = try EntryOperations.CreateRequest.id(spiffeID, flag: "--spiffe-id") }
        let svids: [JWTSVIDMaterial] = try await withClient(socket) { client in
            try await client.fetchJWTSVIDs(audience: audience, spiffeID: spiffeID)
        }
        guard let first = svids.first else { throw CLIError("the agent returned no JWT-SVID") }
        let parsed: JWTSVID
        do {
            parsed = try JWTSVID(parsing: first.token)
        } catch {
            throw CLIError("the agent returned a malformed JWT-SVID: \(error)")
        }
        return JWTFetchReport(token: first.token, spiffeID: first.spiffeID, expiresAt: parsed.expiry, audience: parsed.audience)
    }

    /// Asks the agent to validate a JWT-SVID for `audience`.
    public static func validateJWT(socket: String?, token: String, audience: String) async throws(CLIError) -> JWTValidationReport {
        guard !audience.isEmpty else { throw CLIError("--audience is required") }
        let validated: ValidatedJWT = try await withClient(socket) { client in
            try await client.validateJWTSVID(token, audience: audience)
        }
        return JWTValidationReport(spiffeID: validated.spiffeID, claims: validated.claims)
    }

    static func withClient<Result: Sendable>(
        _ socket: String?, _ body: @Sendable (WorkloadAPIClient) async throws -> Result
    ) async throws(CLIError) -> Result {
        do {
            let address = try WorkloadAPIAddress.resolve(socket)
            return try await WorkloadAPIClient.withClient(address: address) { client in try await body(client) }
        } catch let error as WorkloadAPIAddressError {
            throw CLIError("\(error) (use --socket or set SPIFFE_ENDPOINT_SOCKET)")
        } catch {
            throw CLIError("\(error)")
        }
    }

    static func certificates(_ ders: [[UInt8]], what: String) throws(CLIError) -> [Certificate] {
        do {
            let certificates = try ders.map { try Certificate(derEncoded: $0) }
            guard !certificates.isEmpty else { throw CLIError("the agent returned an empty \(what)") }
            return certificates
        } catch let error as CLIError {
            throw error
        } catch {
            throw CLIError("the agent returned an unreadable \(what) certificate: \(error)")
        }
    }
}

/// What `svid fetch` prints.
public struct X509FetchReport: Codable, Sendable, Equatable {
    public struct SVID: Codable, Sendable, Equatable {
        public var spiffeID: String
        public var expiresAt: Date
        public var hint: String

        enum CodingKeys: String, CodingKey { case spiffeID = "spiffe_id", expiresAt = "expires_at", hint }
    }

    public var svids: [SVID]
    public var written: [String] = []

    public var text: String {
        var lines: [String] = []
        for (index, svid) in svids.enumerated() {
            lines.append("\(svid.spiffeID)\(index == 0 && svids.count > 1 ? "  (default)" : "")")
            lines.append("  expires: \(ReportFormat.date(svid.expiresAt)) (\(ReportFormat.relative(svid.expiresAt)))")
        }
        if !written.isEmpty { lines.append("wrote: \(written.joined(separator: ", "))") }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// What `jwt fetch` prints: the token alone, or JSON.
public struct JWTFetchReport: Codable, Sendable, Equatable {
    public var token: String
    public var spiffeID: String
    public var expiresAt: Date
    public var audience: [String]

    enum CodingKeys: String, CodingKey { case token, spiffeID = "spiffe_id", expiresAt = "expires_at", audience }

    public var text: String { token + "\n" }
}

/// What `jwt validate` prints.
public struct JWTValidationReport: Sendable, Equatable, Encodable {
    public var spiffeID: String
    public var claims: [String: ValidatedJWT.ClaimValue]

    enum CodingKeys: String, CodingKey { case spiffeID = "spiffe_id", claims }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(spiffeID, forKey: .spiffeID)
        try container.encode(claims.mapValues(Self.json), forKey: .claims)
    }

    static func json(_ value: ValidatedJWT.ClaimValue) -> JSONValue {
        switch value {
        case .null: return .null
        case .bool(let bool): return .bool(bool)
        case .number(let number): return number.rounded() == number && abs(number) < 1e15 ? .integer(Int64(number)) : .double(number)
        case .string(let string): return .string(string)
        case .array(let array): return .array(array.map(json))
        case .object(let object): return .object(object.mapValues(json))
        }
    }

    public var text: String {
        var lines = [spiffeID, "claims:"]
        for name in claims.keys.sorted() { lines.append("  \(name): \(Self.json(claims[name]!).description)") }
        return lines.joined(separator: "\n") + "\n"
    }
}
