import CTSS2

extension ESAPIContext {
    /// The EK of `algorithm`, created with TPM2_CreatePrimary in the endorsement hierarchy from the
    /// TCG default template (``KeyTemplates/endorsementKey(_:)``) unless already loaded.
    ///
    /// Assumes the endorsement hierarchy password is empty, as it is unless an owner set one.
    func endorsementKey(_ algorithm: TPMKeyAlgorithm) throws(TPMDeviceError) -> (handle: ESYS_TR, publicArea: TPMPublicArea) {
        if let key = loadedEndorsementKey, key.algorithm == algorithm {
            return (key.handle, key.publicArea)
        }
        flushAttestationKey()
        flushEndorsementKey()
        let esys = try context()
        var sensitive = TPM2B_SENSITIVE_CREATE()
        var template = KeyTemplates.endorsementKey(algorithm)
        var outsideInfo = TPM2B_DATA()
        var creationPCR = TPML_PCR_SELECTION()
        var handle: ESYS_TR = ESYSHandle.none
        var outPublic: UnsafeMutablePointer<TPM2B_PUBLIC>?
        try TPMDeviceError.check(
            tss.Esys_CreatePrimary(
                esys, ESYSHandle.endorsement, ESYSHandle.password, ESYSHandle.none, ESYSHandle.none,
                &sensitive, &template, &outsideInfo, &creationPCR, &handle, &outPublic, nil, nil, nil),
            "Esys_CreatePrimary(TPM_RH_ENDORSEMENT, EK \(algorithm.rawValue))")
        defer { esysFree(outPublic) }
        do {
            let area = try publicArea(outPublic, from: "Esys_CreatePrimary")
            loadedEndorsementKey = (algorithm, handle, area)
            return (handle, area)
        } catch {
            flush(handle)
            throw error
        }
    }

    /// Creates an AK under the EK with TPM2_Create (EK authorised by the EK policy) and loads it.
    func createAttestationKey(_ algorithm: TPMKeyAlgorithm, parent: TPMKeyAlgorithm) throws(TPMDeviceError) -> TPMAttestationKey {
        // TPM2_Create needs a free object slot of its own.
        flushAttestationKey()
        let endorsementKey = try endorsementKey(parent).handle
        let esys = try context()
        var sensitive = TPM2B_SENSITIVE_CREATE()
        var template = KeyTemplates.attestationKey(algorithm)
        var outsideInfo = TPM2B_DATA()
        var creationPCR = TPML_PCR_SELECTION()
        var outPrivate: UnsafeMutablePointer<TPM2B_PRIVATE>?
        var outPublic: UnsafeMutablePointer<TPM2B_PUBLIC>?
        defer {
            esysFree(outPrivate)
            esysFree(outPublic)
        }
        try withEndorsementPolicySession { session throws(TPMDeviceError) in
            try TPMDeviceError.check(
                tss.Esys_Create(
                    esys, endorsementKey, session, ESYSHandle.none, ESYSHandle.none,
                    &sensitive, &template, &outsideInfo, &creationPCR, &outPrivate, &outPublic, nil, nil, nil),
                "Esys_Create(AK \(algorithm.rawValue) under EK)")
        }
        let area = try publicArea(outPublic, from: "Esys_Create")
        guard let outPrivate else { throw .unexpectedResponse(command: "Esys_Create", reason: "no private area returned") }
        let privateBlob = try Marshalling.marshal(outPrivate.pointee, "Tss2_MU_TPM2B_PRIVATE_Marshal", tss.Tss2_MU_TPM2B_PRIVATE_Marshal)
        let key = TPMAttestationKey(publicArea: area, privateBlob: privateBlob, endorsementKey: parent)
        _ = try attestationKeyHandle(key)
        return key
    }

    /// The handle of `key`, loading it under its EK with TPM2_Load unless already loaded. Checks
    /// that the TPM's name for the loaded object equals ``TPMPublicArea/name``.
    func attestationKeyHandle(_ key: TPMAttestationKey) throws(TPMDeviceError) -> ESYS_TR {
        if let loaded = loadedAttestationKey, loaded.name == key.name {
            return loaded.handle
        }
        flushAttestationKey()
        let endorsementKey = try endorsementKey(key.endorsementKey).handle
        let esys = try context()
        var inPrivate = try Marshalling.unmarshal(
            key.privateBlob, as: TPM2B_PRIVATE(), "Tss2_MU_TPM2B_PRIVATE_Unmarshal", tss.Tss2_MU_TPM2B_PRIVATE_Unmarshal)
        var inPublic = try Marshalling.unmarshal(
            Marshalling.sized(key.publicArea.marshalled), as: TPM2B_PUBLIC(), "Tss2_MU_TPM2B_PUBLIC_Unmarshal", tss.Tss2_MU_TPM2B_PUBLIC_Unmarshal)
        var handle: ESYS_TR = ESYSHandle.none
        try withEndorsementPolicySession { session throws(TPMDeviceError) in
            try TPMDeviceError.check(
                tss.Esys_Load(esys, endorsementKey, session, ESYSHandle.none, ESYSHandle.none, &inPrivate, &inPublic, &handle),
                "Esys_Load(AK under EK)")
        }
        var name: UnsafeMutablePointer<TPM2B_NAME>?
        defer { esysFree(name) }
        let rc = tss.Esys_TR_GetName(esys, handle, &name)
        guard rc == 0, let name else {
            flush(handle)
            throw TPMDeviceError.failure("Esys_TR_GetName", rc)
        }
        guard Marshalling.bytes(size: name.pointee.size, buffer: name.pointee.name) == key.name else {
            flush(handle)
            throw .unexpectedResponse(command: "Esys_Load", reason: "the TPM's name for the AK differs from the name of its public area")
        }
        loadedAttestationKey = (key.name, handle)
        return handle
    }
}
