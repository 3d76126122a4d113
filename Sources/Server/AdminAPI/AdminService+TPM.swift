import Attestation
import Foundation
import GRPCCore
import SPIFFE

extension AdminService {
    /// Enrols a TPM (creates or replaces its enrolment). A node marked untrusted after a failed
    /// continuous attestation becomes trusted again: the operator accepts its new state (it still
    /// has to attest again).
    func allowTPM(request: Matryoshka_V1_AllowTPMRequest, context: ServerContext) async throws -> Matryoshka_V1_TPMEnrolment {
        let store = try tpmStore()
        var labels: [Selector] = []
        do {
            for label in request.enrolment.labels { labels.append(try TPMEnrolment.parseLabel(label)) }
        } catch {
            throw RPCError(code: .invalidArgument, message: error.message)
        }
        let enrolment = TPMEnrolment(
            ekHash: request.enrolment.ekHash,
            pcrPolicy: Dictionary(request.enrolment.pcrPolicy.map { (Int($0.key), $0.value) }, uniquingKeysWith: { $1 }),
            labels: labels)
        do {
            try enrolment.validate()
        } catch {
            throw RPCError(code: .invalidArgument, message: error.message)
        }
        let actor = try caller(context)
        let agentID = try tpmAgentID(enrolment.ekHash)
        do {
            try await store.saveTPMEnrolment(enrolment, audit: AuditEvent(
                kind: "tpm.allow", actor: actor, subject: agentID.description,
                details: ["ek_hash": enrolment.ekHash, "labels": enrolment.labels.map(\.description).joined(separator: " "),
                          "pcrs": enrolment.pcrPolicy.keys.sorted().map(String.init).joined(separator: ",")]))
            if var agent = try await self.store.agent(id: agentID), let reason = agent.untrustedReason {
                agent.untrustedReason = nil
                try await self.store.saveAgent(agent, audit: AuditEvent(
                    kind: "agent.trusted", actor: actor, subject: agentID.description, details: ["was_untrusted": reason]))
            }
        } catch {
            throw error.rpcError
        }
        logger.notice("TPM enrolled", metadata: ["ek_hash": "\(enrolment.ekHash)", "by": "\(actor)"])
        return enrolment.wire(agentID: agentID)
    }

    func listTPMEnrolments(request: Matryoshka_V1_ListTPMEnrolmentsRequest, context: ServerContext) async throws -> Matryoshka_V1_ListTPMEnrolmentsResponse {
        let store = try tpmStore()
        do {
            let enrolments = try await store.listTPMEnrolments()
            var wire: [Matryoshka_V1_TPMEnrolment] = []
            for enrolment in enrolments { wire.append(enrolment.wire(agentID: try tpmAgentID(enrolment.ekHash))) }
            return Matryoshka_V1_ListTPMEnrolmentsResponse.with { $0.enrolments = wire }
        } catch let error as DataStoreError {
            throw error.rpcError
        }
    }

    func removeTPM(request: Matryoshka_V1_RemoveTPMRequest, context: ServerContext) async throws -> Matryoshka_V1_RemoveTPMResponse {
        let store = try tpmStore()
        let actor = try caller(context)
        do {
            try await store.deleteTPMEnrolment(ekHash: request.ekHash, audit: AuditEvent(kind: "tpm.remove", actor: actor, subject: request.ekHash.lowercased()))
        } catch {
            if case .notFound = error { throw RPCError(code: .notFound, message: "no TPM enrolment for EK hash '\(request.ekHash)'") }
            throw error.rpcError
        }
        logger.notice("TPM enrolment removed", metadata: ["ek_hash": "\(request.ekHash)", "by": "\(actor)"])
        return Matryoshka_V1_RemoveTPMResponse()
    }

    func getAgent(request: Matryoshka_V1_GetAgentRequest, context: ServerContext) async throws -> Matryoshka_V1_Agent {
        let id = try Self.parseID(request.spiffeID, field: "agent ID")
        do {
            guard let agent = try await store.agent(id: id) else {
                throw RPCError(code: .notFound, message: "no agent \(id) (list agents with `matryoshka agent list`)")
            }
            return await wire(agent)
        } catch let error as DataStoreError {
            throw error.rpcError
        }
    }

    private func tpmStore() throws(RPCError) -> any TPMEnrolmentStore {
        guard let store = store as? any TPMEnrolmentStore else {
            throw RPCError(code: .unimplemented, message: "this datastore does not keep TPM enrolments; list them under tpm.nodes in the server config")
        }
        return store
    }

    private func tpmAgentID(_ ekHash: String) throws(RPCError) -> SPIFFEID {
        do {
            return try SPIFFEID(trustDomain: trustDomain, segments: ["agent", "tpm", ekHash])
        } catch {
            throw RPCError(code: .invalidArgument, message: "EK hash '\(ekHash)': \(error)")
        }
    }
}

extension TPMEnrolment {
    func wire(agentID: SPIFFEID) -> Matryoshka_V1_TPMEnrolment {
        Matryoshka_V1_TPMEnrolment.with {
            $0.ekHash = ekHash
            $0.pcrPolicy = Dictionary(uniqueKeysWithValues: pcrPolicy.map { (Int32($0.key), $0.value) })
            $0.labels = labels.map(\.description)
            $0.createdAt = Int64(createdAt.timeIntervalSince1970)
            $0.agentSpiffeID = agentID.description
        }
    }
}
