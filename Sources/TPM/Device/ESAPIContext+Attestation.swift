import CTSS2

extension ESAPIContext {
    /// TPM2_ActivateCredential: the AK (password session, ADMIN role) is the object the
    /// credential is bound to, the EK (EK policy session) decrypts the seed.
    func activateCredential(_ key: TPMAttestationKey, challenge: CredentialChallenge) throws(TPMDeviceError) -> [UInt8] {
        let attestationKey = try attestationKeyHandle(key)
        let endorsementKey = try endorsementKey(key.endorsementKey).handle
        let esys = try context()
        var credentialBlob = try Marshalling.unmarshal(
            challenge.credentialBlob, as: TPM2B_ID_OBJECT(), "Tss2_MU_TPM2B_ID_OBJECT_Unmarshal", tss.Tss2_MU_TPM2B_ID_OBJECT_Unmarshal)
        var secret = try Marshalling.unmarshal(
            challenge.encryptedSecret, as: TPM2B_ENCRYPTED_SECRET(), "Tss2_MU_TPM2B_ENCRYPTED_SECRET_Unmarshal",
            tss.Tss2_MU_TPM2B_ENCRYPTED_SECRET_Unmarshal)
        var certInfo: UnsafeMutablePointer<TPM2B_DIGEST>?
        defer { esysFree(certInfo) }
        try withEndorsementPolicySession { session throws(TPMDeviceError) in
            try TPMDeviceError.check(
                tss.Esys_ActivateCredential(
                    esys, attestationKey, endorsementKey, ESYSHandle.password, session, ESYSHandle.none,
                    &credentialBlob, &secret, &certInfo),
                "Esys_ActivateCredential")
        }
        guard let certInfo else { throw .unexpectedResponse(command: "Esys_ActivateCredential", reason: "no credential returned") }
        return Marshalling.bytes(size: certInfo.pointee.size, buffer: certInfo.pointee.buffer)
    }

    /// TPM2_Quote over SHA-256 PCRs `pcrs`, signed with the AK's own scheme.
    func quote(_ key: TPMAttestationKey, pcrs: [Int], qualifyingData: [UInt8]) throws(TPMDeviceError) -> (attest: [UInt8], signature: [UInt8]) {
        let signingKey = try attestationKeyHandle(key)
        let esys = try context()
        var data = try Marshalling.unmarshal(
            Marshalling.sized(qualifyingData), as: TPM2B_DATA(), "Tss2_MU_TPM2B_DATA_Unmarshal", tss.Tss2_MU_TPM2B_DATA_Unmarshal)
        var scheme = TPMT_SIG_SCHEME()
        scheme.scheme = TPMAlgorithm.null.rawValue
        var selection = try pcrSelection(pcrs)
        var quoted: UnsafeMutablePointer<TPM2B_ATTEST>?
        var signature: UnsafeMutablePointer<TPMT_SIGNATURE>?
        defer {
            esysFree(quoted)
            esysFree(signature)
        }
        try TPMDeviceError.check(
            tss.Esys_Quote(esys, signingKey, ESYSHandle.password, ESYSHandle.none, ESYSHandle.none, &data, &scheme, &selection, &quoted, &signature),
            "Esys_Quote")
        guard let quoted, let signature else { throw .unexpectedResponse(command: "Esys_Quote", reason: "no attestation or signature returned") }
        let attest = Marshalling.bytes(size: quoted.pointee.size, buffer: quoted.pointee.attestationData)
        let signatureBytes = try Marshalling.marshal(signature.pointee, "Tss2_MU_TPMT_SIGNATURE_Marshal", tss.Tss2_MU_TPMT_SIGNATURE_Marshal)
        return (attest, signatureBytes)
    }

    /// TPM2_PCR_Read of SHA-256 PCRs, repeated until every requested PCR was returned (a TPM
    /// returns at most 8 digests per call).
    func readPCRs(_ indices: [Int]) throws(TPMDeviceError) -> [Int: [UInt8]] {
        let esys = try context()
        var remaining = Set(indices)
        var values: [Int: [UInt8]] = [:]
        while !remaining.isEmpty {
            var selection = try pcrSelection(Array(remaining))
            var selectionOut: UnsafeMutablePointer<TPML_PCR_SELECTION>?
            var digests: UnsafeMutablePointer<TPML_DIGEST>?
            defer {
                esysFree(selectionOut)
                esysFree(digests)
            }
            try TPMDeviceError.check(
                tss.Esys_PCR_Read(esys, ESYSHandle.none, ESYSHandle.none, ESYSHandle.none, &selection, nil, &selectionOut, &digests),
                "Esys_PCR_Read")
            guard let selectionOut, let digests else { throw .unexpectedResponse(command: "Esys_PCR_Read", reason: "no values returned") }
            let selectionBytes = try Marshalling.marshal(selectionOut.pointee, "Tss2_MU_TPML_PCR_SELECTION_Marshal", tss.Tss2_MU_TPML_PCR_SELECTION_Marshal)
            let digestBytes = try Marshalling.marshal(digests.pointee, "Tss2_MU_TPML_DIGEST_Marshal", tss.Tss2_MU_TPML_DIGEST_Marshal)
            let read: [Int]
            let list: [[UInt8]]
            do {
                var reader = TPMReader(selectionBytes, structure: "TPML_PCR_SELECTION")
                read = try PCRSelection.parseList(&reader, field: "pcrSelectionOut").filter { $0.hash == .sha256 }.flatMap(\.indices)
                var digestReader = TPMReader(digestBytes, structure: "TPML_DIGEST")
                let count = try digestReader.uint32("count")
                var items: [[UInt8]] = []
                for item in 0..<min(Int(count), 8) {
                    items.append(try digestReader.sized("digests[\(item)]", maximum: 64))
                }
                list = items
            } catch {
                throw .unexpectedResponse(command: "Esys_PCR_Read", reason: error.description)
            }
            guard !read.isEmpty, read.count == list.count, read.allSatisfy(remaining.contains) else {
                throw .unexpectedResponse(
                    command: "Esys_PCR_Read",
                    reason: "asked for SHA-256 PCRs \(remaining.sorted()), got \(read) with \(list.count) value(s); is the SHA-256 bank active?")
            }
            for (index, value) in zip(read, list) {
                values[index] = value
                remaining.remove(index)
            }
        }
        return values
    }

    /// TPM2_GetRandom, repeated until `count` bytes were returned.
    func randomBytes(_ count: Int) throws(TPMDeviceError) -> [UInt8] {
        let esys = try context()
        var result: [UInt8] = []
        while result.count < count {
            var random: UnsafeMutablePointer<TPM2B_DIGEST>?
            defer { esysFree(random) }
            try TPMDeviceError.check(
                tss.Esys_GetRandom(esys, ESYSHandle.none, ESYSHandle.none, ESYSHandle.none, UInt16(min(32, count - result.count)), &random),
                "Esys_GetRandom")
            guard let random, random.pointee.size > 0 else {
                throw .unexpectedResponse(command: "Esys_GetRandom", reason: "no bytes returned")
            }
            result += Marshalling.bytes(size: random.pointee.size, buffer: random.pointee.buffer)
        }
        return Array(result.prefix(count))
    }

    /// A libtss2 `TPML_PCR_SELECTION` of SHA-256 PCRs.
    private func pcrSelection(_ indices: [Int]) throws(TPMDeviceError) -> TPML_PCR_SELECTION {
        let bytes = PCRSelection.marshalList([PCRSelection(hash: .sha256, indices: indices)])
        return try Marshalling.unmarshal(bytes, as: TPML_PCR_SELECTION(), "Tss2_MU_TPML_PCR_SELECTION_Unmarshal", tss.Tss2_MU_TPML_PCR_SELECTION_Unmarshal)
    }
}
