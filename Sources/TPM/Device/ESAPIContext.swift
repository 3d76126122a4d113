import CTSS2

/// ESAPI handles for the TPM's permanent entities and the password session.
enum ESYSHandle {
    static let none: ESYS_TR = 0xFFF
    static let password: ESYS_TR = 0x0FF
    static let owner: ESYS_TR = 0x101
    static let endorsement: ESYS_TR = 0x10B
}

/// One ESAPI context over one TCTI connection, and the transient objects loaded through it.
///
/// Not thread-safe (neither is `ESYS_CONTEXT`): ``TPMDevice`` only touches it from its serial
/// queue. There is no resource manager in front of swtpm (and a hardware TPM holds only about
/// three transient objects), so at most one EK and one AK are loaded at a time; everything
/// loaded is flushed on ``close()`` and when the context is released.
final class ESAPIContext {
    /// The libtss2 functions.
    let tss: MatryoshkaTSS2
    private var esys: OpaquePointer?
    private var tcti: OpaquePointer?
    /// The loaded EK, created with TPM2_CreatePrimary.
    var loadedEndorsementKey: (algorithm: TPMKeyAlgorithm, handle: ESYS_TR, publicArea: TPMPublicArea)?
    /// The loaded AK, identified by its name.
    var loadedAttestationKey: (name: [UInt8], handle: ESYS_TR)?

    /// Opens a TCTI with `Tss2_TctiLdr_Initialize` (e.g. `swtpm:host=127.0.0.1,port=2321`,
    /// `device:/dev/tpmrm0`, `mssim:host=…,port=…`) and an ESAPI context on it with `Esys_Initialize`,
    /// loading libtss2 first if this is the process's first TPM.
    init(tcti configuration: String) throws(TPMDeviceError) {
        let tss = try LibTSS2.shared().api
        self.tss = tss
        var tcti: OpaquePointer?
        try TPMDeviceError.check(tss.Tss2_TctiLdr_Initialize(configuration, &tcti), "Tss2_TctiLdr_Initialize(\(configuration))")
        var esys: OpaquePointer?
        let rc = tss.Esys_Initialize(&esys, tcti, nil)
        guard rc == 0 else {
            tss.Tss2_TctiLdr_Finalize(&tcti)
            throw TPMDeviceError.failure("Esys_Initialize", rc)
        }
        self.tcti = tcti
        self.esys = esys
    }

    deinit {
        close()
    }

    /// The ESAPI context, or ``TPMDeviceError/closed``.
    func context() throws(TPMDeviceError) -> OpaquePointer {
        guard let esys else { throw .closed }
        return esys
    }

    /// Flushes the loaded objects, then finalises ESAPI and the TCTI. Idempotent.
    func close() {
        flushAttestationKey()
        flushEndorsementKey()
        if esys != nil {
            tss.Esys_Finalize(&esys)
        }
        if tcti != nil {
            tss.Tss2_TctiLdr_Finalize(&tcti)
        }
    }

    /// Frees memory ESAPI allocated for an output parameter.
    func esysFree<T>(_ pointer: UnsafeMutablePointer<T>?) {
        if let pointer {
            tss.Esys_Free(UnsafeMutableRawPointer(pointer))
        }
    }

    /// Flushes a transient object or session; failures are ignored (used on clean-up paths).
    func flush(_ handle: ESYS_TR) {
        guard let esys, handle != ESYSHandle.none else { return }
        _ = tss.Esys_FlushContext(esys, handle)
    }

    func flushAttestationKey() {
        if let key = loadedAttestationKey {
            flush(key.handle)
            loadedAttestationKey = nil
        }
    }

    func flushEndorsementKey() {
        if let key = loadedEndorsementKey {
            flush(key.handle)
            loadedEndorsementKey = nil
        }
    }

    /// Runs `body` with a policy session that satisfied the TCG EK policy,
    /// PolicySecret(TPM_RH_ENDORSEMENT) with the (empty) endorsement hierarchy password, and
    /// flushes the session afterwards whatever happened.
    func withEndorsementPolicySession<T>(_ body: (ESYS_TR) throws(TPMDeviceError) -> T) throws(TPMDeviceError) -> T {
        let esys = try context()
        var symmetric = TPMT_SYM_DEF()
        symmetric.algorithm = TPMAlgorithm.null.rawValue
        var session: ESYS_TR = ESYSHandle.none
        try TPMDeviceError.check(
            tss.Esys_StartAuthSession(
                esys, ESYSHandle.none, ESYSHandle.none, ESYSHandle.none, ESYSHandle.none, ESYSHandle.none,
                nil, TPM2_SE(0x01), &symmetric, TPMAlgorithm.sha256.rawValue, &session),
            "Esys_StartAuthSession(policy)")
        defer { flush(session) }
        let continueSession = TPMA_SESSION(0x01)
        try TPMDeviceError.check(tss.Esys_TRSess_SetAttributes(esys, session, continueSession, continueSession), "Esys_TRSess_SetAttributes")
        try TPMDeviceError.check(
            tss.Esys_PolicySecret(
                esys, ESYSHandle.endorsement, session, ESYSHandle.password, ESYSHandle.none, ESYSHandle.none,
                nil, nil, nil, 0, nil, nil),
            "Esys_PolicySecret(TPM_RH_ENDORSEMENT)")
        return try body(session)
    }

    /// Decodes the `TPMT_PUBLIC` inside an ESAPI `TPM2B_PUBLIC` output.
    func publicArea(_ pointer: UnsafeMutablePointer<TPM2B_PUBLIC>?, from command: String) throws(TPMDeviceError) -> TPMPublicArea {
        guard let pointer else { throw .unexpectedResponse(command: command, reason: "no public area returned") }
        let bytes = try Marshalling.marshal(pointer.pointee.publicArea, "Tss2_MU_TPMT_PUBLIC_Marshal", tss.Tss2_MU_TPMT_PUBLIC_Marshal)
        do {
            return try TPMPublicArea(marshalled: bytes)
        } catch {
            throw .unexpectedResponse(command: command, reason: error.description)
        }
    }
}
