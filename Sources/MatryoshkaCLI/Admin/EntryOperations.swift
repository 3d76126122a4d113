import Attestation
import Foundation
import GRPCCore
import MatryoshkaAPI
import SPIFFE

/// `matryoshka entry create|list|show|delete`.
public enum EntryOperations {
    /// What `entry create` was asked, before validation.
    public struct CreateRequest: Sendable {
        public var spiffeID: String
        /// Nil with `node`: the server is the parent.
        public var parentID: String?
        public var selectors: [String]
        public var x509TTL: String?
        public var jwtTTL: String?
        public var dnsNames: [String]
        public var audiences: [String]
        public var nested: Bool
        /// A node entry: names the group of nodes whose node selectors include `selectors`.
        public var node: Bool

        public init(spiffeID: String, parentID: String?, selectors: [String], x509TTL: String? = nil, jwtTTL: String? = nil,
                    dnsNames: [String] = [], audiences: [String] = [], nested: Bool = false, node: Bool = false) {
            self.node = node
            self.spiffeID = spiffeID
            self.parentID = parentID
            self.selectors = selectors
            self.x509TTL = x509TTL
            self.jwtTTL = jwtTTL
            self.dnsNames = dnsNames
            self.audiences = audiences
            self.nested = nested
        }

        /// Checks every field locally, so mistakes are reported before anything is sent.
        func entry() throws(CLIError) -> RegistrationEntry {
            let template: (spiffeID: SPIFFEID, isWildcard: Bool)
            do {
                template = try RegistrationEntry.parseTemplate(spiffeID)
            } catch {
                throw CLIError("--spiffe-id '\(spiffeID)': \(error) (a final /* segment is allowed for wildcard entries)")
            }
            let parent: SPIFFEID
            switch (parentID, node) {
            case (let text?, false):
                parent = try Self.id(text, flag: "--parent-id")
            case (nil, true):
                guard !template.isWildcard, !nested, dnsNames.isEmpty, audiences.isEmpty, x509TTL == nil, jwtTTL == nil else {
                    throw CLIError("--node names a group of nodes and is never issued: it takes no wildcard, --nested, --dns, --audience or TTL")
                }
                parent = WellKnownIDs.server(in: template.spiffeID.trustDomain)
            case (_?, true):
                throw CLIError("--node and --parent-id exclude each other (a node entry's parent is the server)")
            case (nil, false):
                throw CLIError("--parent-id is required (or --node for a node entry)")
            }
            guard !selectors.isEmpty else { throw CLIError("at least one --selector is required (e.g. --selector unix:uid:1000)") }
            var parsed: [Selector] = []
            for text in selectors {
                do {
                    parsed.append(try Selector(text))
                } catch {
                    throw CLIError("--selector: \(error)")
                }
            }
            return RegistrationEntry(
                id: "", spiffeID: template.spiffeID, isWildcard: template.isWildcard, parentID: parent, selectors: parsed,
                x509TTL: try Self.ttl(x509TTL, flag: "--x509-ttl"), jwtTTL: try Self.ttl(jwtTTL, flag: "--jwt-ttl"),
                dnsNames: dnsNames, audiences: audiences, nested: nested)
        }

        static func id(_ text: String, flag: String) throws(CLIError) -> SPIFFEID {
            do {
                return try SPIFFEID(text)
            } catch {
                throw CLIError("\(flag) '\(text)': \(error)")
            }
        }

        static func ttl(_ text: String?, flag: String) throws(CLIError) -> Int {
            guard let text else { return 0 }
            do {
                let duration = try DurationText.parse(text)
                guard duration > .zero else { throw CLIError("\(flag) must be positive") }
                guard duration.wholeSeconds <= Int64(Int32.max) else { throw CLIError("\(flag) is too long") }
                return Int(duration.wholeSeconds)
            } catch let error as CLIError {
                throw error
            } catch {
                throw CLIError("\(flag): \(error)")
            }
        }
    }

    public static func create(_ request: CreateRequest, socketPath: String) async throws(CLIError) -> EntryReport {
        let entry = try request.entry()
        return try await AdminClient.with(socketPath: socketPath) { client throws(CLIError) in
            let created = try await client.call {
                try await client.admin.createEntry(Matryoshka_V1_CreateEntryRequest.with { $0.entry = entry.wire }, options: AdminClient.options)
            }
            return try EntryReport(wire: created)
        }
    }

    public static func list(spiffeID: String?, parentID: String?, socketPath: String) async throws(CLIError) -> [EntryReport] {
        if let spiffeID { _ = try CreateRequest.id(spiffeID, flag: "--spiffe-id") }
        if let parentID { _ = try CreateRequest.id(parentID, flag: "--parent-id") }
        return try await AdminClient.with(socketPath: socketPath) { client throws(CLIError) in
            let response = try await client.call {
                try await client.admin.listEntries(Matryoshka_V1_ListEntriesRequest.with {
                    $0.spiffeID = spiffeID ?? ""
                    $0.parentID = parentID ?? ""
                }, options: AdminClient.options)
            }
            var reports: [EntryReport] = []
            for entry in response.entries { reports.append(try EntryReport(wire: entry)) }
            return reports
        }
    }

    public static func show(id: String, socketPath: String) async throws(CLIError) -> EntryReport {
        try await AdminClient.with(socketPath: socketPath) { client throws(CLIError) in
            let entry = try await client.call {
                try await client.admin.getEntry(Matryoshka_V1_GetEntryRequest.with { $0.id = id }, options: AdminClient.options)
            }
            return try EntryReport(wire: entry)
        }
    }

    public static func delete(id: String, socketPath: String) async throws(CLIError) {
        try await AdminClient.with(socketPath: socketPath) { client throws(CLIError) in
            _ = try await client.call {
                try await client.admin.deleteEntry(Matryoshka_V1_DeleteEntryRequest.with { $0.id = id }, options: AdminClient.options)
            }
        }
    }
}

/// An entry as commands print it.
public struct EntryReport: Codable, Sendable, Equatable {
    public var id: String
    public var spiffeID: String
    public var parentID: String
    public var selectors: [String]
    public var x509SVIDTTL: Int
    public var jwtSVIDTTL: Int
    public var dnsNames: [String]
    public var audiences: [String]
    public var nested: Bool
    public var createdAt: Date

    enum CodingKeys: String, CodingKey {
        case id, spiffeID = "spiffe_id", parentID = "parent_id", selectors, x509SVIDTTL = "x509_svid_ttl", jwtSVIDTTL = "jwt_svid_ttl"
        case dnsNames = "dns_names", audiences, nested, createdAt = "created_at"
    }

    init(wire: Matryoshka_V1_Entry) throws(CLIError) {
        let entry: RegistrationEntry
        do {
            entry = try RegistrationEntry(wire: wire)
        } catch {
            throw CLIError("server sent an invalid entry: \(error)")
        }
        id = entry.id
        spiffeID = entry.template
        parentID = entry.parentID.description
        selectors = entry.selectors.map(\.description)
        x509SVIDTTL = entry.x509TTL
        jwtSVIDTTL = entry.jwtTTL
        dnsNames = entry.dnsNames
        audiences = entry.audiences
        nested = entry.nested
        createdAt = entry.createdAt
    }

    public var text: String {
        var lines = [
            "Entry ID:   \(id)",
            "SPIFFE ID:  \(spiffeID)",
            "Parent ID:  \(parentID)",
        ]
        lines += selectors.map { "Selector:   \($0)" }
        lines.append("X509 TTL:   \(x509SVIDTTL == 0 ? "default" : DurationText.format(.seconds(x509SVIDTTL)))")
        lines.append("JWT TTL:    \(jwtSVIDTTL == 0 ? "default" : DurationText.format(.seconds(jwtSVIDTTL)))")
        lines += dnsNames.map { "DNS name:   \($0)" }
        lines += audiences.map { "Audience:   \($0)" }
        if nested { lines.append("Nested:     yes (may act as an agent for its children)") }
        if selectors.isEmpty { lines.append("Node alias: the agent \(parentID) is also known as \(spiffeID)") }
        return lines.joined(separator: "\n") + "\n"
    }
}
