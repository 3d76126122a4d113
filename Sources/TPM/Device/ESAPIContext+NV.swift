import CTSS2

extension ESAPIContext {
    /// The contents of NV index `index`, or `nil` if the index is not defined.
    ///
    /// The index's existence is checked with TPM2_GetCapability(TPM_CAP_HANDLES) first, so a
    /// missing EK certificate is not an error (and makes ESAPI log nothing). The data is read with
    /// TPM2_NV_Read in chunks of `TPM_PT_NV_BUFFER_MAX`, authorised by the index itself
    /// (TPMA_NV_AUTHREAD, empty auth, as EK certificate indices allow) or else by the owner.
    func readNV(index: UInt32) throws(TPMDeviceError) -> [UInt8]? {
        let esys = try context()
        guard try isDefined(handle: index) else { return nil }
        let hexIndex = "0x" + String(index, radix: 16)
        var nvHandle: ESYS_TR = ESYSHandle.none
        try TPMDeviceError.check(
            tss.Esys_TR_FromTPMPublic(esys, index, ESYSHandle.none, ESYSHandle.none, ESYSHandle.none, &nvHandle),
            "Esys_TR_FromTPMPublic(\(hexIndex))")
        defer { _ = tss.Esys_TR_Close(esys, &nvHandle) }

        var nvPublic: UnsafeMutablePointer<TPM2B_NV_PUBLIC>?
        defer { esysFree(nvPublic) }
        try TPMDeviceError.check(
            tss.Esys_NV_ReadPublic(esys, nvHandle, ESYSHandle.none, ESYSHandle.none, ESYSHandle.none, &nvPublic, nil),
            "Esys_NV_ReadPublic(\(hexIndex))")
        guard let nvPublic else { throw .unexpectedResponse(command: "Esys_NV_ReadPublic", reason: "no public area returned") }
        let size = Int(nvPublic.pointee.nvPublic.dataSize)
        let attributes = nvPublic.pointee.nvPublic.attributes
        let authReadable: UInt32 = 0x0004_0000, ownerReadable: UInt32 = 0x0002_0000
        let authorisation: ESYS_TR
        if attributes & authReadable != 0 {
            authorisation = nvHandle
        } else if attributes & ownerReadable != 0 {
            authorisation = ESYSHandle.owner
        } else {
            throw .unexpectedResponse(command: "Esys_NV_ReadPublic(\(hexIndex))", reason: "index readable neither with its own auth nor by the owner")
        }

        let chunk = try nvBufferMaximum()
        var data: [UInt8] = []
        while data.count < size {
            let length = min(chunk, size - data.count)
            var out: UnsafeMutablePointer<TPM2B_MAX_NV_BUFFER>?
            defer { esysFree(out) }
            try TPMDeviceError.check(
                tss.Esys_NV_Read(
                    esys, authorisation, nvHandle, ESYSHandle.password, ESYSHandle.none, ESYSHandle.none,
                    UInt16(length), UInt16(data.count), &out),
                "Esys_NV_Read(\(hexIndex), offset \(data.count))")
            guard let out, out.pointee.size > 0 else { throw .unexpectedResponse(command: "Esys_NV_Read", reason: "no data returned") }
            data += Marshalling.bytes(size: out.pointee.size, buffer: out.pointee.buffer)
        }
        return data
    }

    /// Whether a handle (NV index, persistent object, …) exists, via TPM2_GetCapability(TPM_CAP_HANDLES).
    private func isDefined(handle: UInt32) throws(TPMDeviceError) -> Bool {
        let esys = try context()
        var more: TPMI_YES_NO = 0
        var capability: UnsafeMutablePointer<TPMS_CAPABILITY_DATA>?
        defer { esysFree(capability) }
        try TPMDeviceError.check(
            tss.Esys_GetCapability(esys, ESYSHandle.none, ESYSHandle.none, ESYSHandle.none, TPM2_CAP(0x0000_0001), handle, 1, &more, &capability),
            "Esys_GetCapability(TPM_CAP_HANDLES)")
        guard let capability else { return false }
        let handles = capability.pointee.data.handles
        return handles.count >= 1 && handles.handle.0 == handle
    }

    /// TPM_PT_NV_BUFFER_MAX, the largest NV read; 512 if the TPM does not say.
    private func nvBufferMaximum() throws(TPMDeviceError) -> Int {
        let esys = try context()
        let property: UInt32 = 0x100 + 44  // TPM_PT_FIXED + 44
        var more: TPMI_YES_NO = 0
        var capability: UnsafeMutablePointer<TPMS_CAPABILITY_DATA>?
        defer { esysFree(capability) }
        try TPMDeviceError.check(
            tss.Esys_GetCapability(esys, ESYSHandle.none, ESYSHandle.none, ESYSHandle.none, TPM2_CAP(0x0000_0006), property, 1, &more, &capability),
            "Esys_GetCapability(TPM_PT_NV_BUFFER_MAX)")
        guard let capability else { return 512 }
        let properties = capability.pointee.data.tpmProperties
        guard properties.count >= 1, properties.tpmProperty.0.property == property, properties.tpmProperty.0.value > 0 else { return 512 }
        return Int(min(properties.tpmProperty.0.value, 1024))
    }
}
