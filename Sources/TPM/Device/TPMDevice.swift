import Dispatch

/// A TPM 2.0 reached through libtss2 ESAPI: everything the agent side of TPM node attestation
/// does with its TPM.
///
/// ESAPI contexts are not thread-safe and TPM commands block (creating an RSA primary key takes
/// seconds on some hardware TPMs), so every operation runs on a private serial dispatch queue,
/// never on the Swift concurrency pool, and callers simply `await` it.
///
/// The TPM must already be started (TPM2_Startup): firmware does that for hardware TPMs, and
/// swtpm does it with `--flags startup-clear`. There is no resource manager in front of swtpm, so
/// the device keeps at most one EK and one AK loaded, and flushes everything it loaded, and every
/// session it started, on ``close()`` or when the device is released. swtpm serves one
/// connection at a time: close the device before other TPM clients (e.g. tpm2-tools) use it.
///
/// ```swift
/// let tpm = try await TPMDevice(tcti: "swtpm:host=127.0.0.1,port=2321")
/// let ek = try await tpm.endorsementKey()
/// let ekCertificate = try await tpm.endorsementKeyCertificate()
/// let ak = try await tpm.createAttestationKey()
/// // send ek.marshalled, ekCertificate, ak.publicArea.marshalled; receive a CredentialChallenge
/// let secret = try await tpm.activateCredential(attestationKey: ak, challenge: challenge)
/// let quote = try await tpm.quote(attestationKey: ak, pcrs: [0, 7], qualifyingData: extraData)
/// ```
public final class TPMDevice: Sendable {
    /// The TCTI configuration the device was opened with.
    public let tcti: String
    private let queue: DispatchQueue
    private let box: ContextBox

    /// Opens the TPM with a TCTI configuration string as `Tss2_TctiLdr_Initialize` takes it:
    /// `swtpm:host=127.0.0.1,port=2321`, `mssim:host=127.0.0.1,port=2321`, `device:/dev/tpmrm0`.
    ///
    /// - Throws: ``TPMDeviceError/commandFailed(command:responseCode:decoded:)`` naming
    ///   `Tss2_TctiLdr_Initialize` or `Esys_Initialize`.
    public init(tcti: String) async throws(TPMDeviceError) {
        self.tcti = tcti
        self.queue = DispatchQueue(label: "matryoshka.tpm")
        self.box = ContextBox()
        _ = try await run { box throws(TPMDeviceError) in
            box.context = try ESAPIContext(tcti: tcti)
        }
    }

    deinit {
        let box = self.box
        queue.async {
            box.context = nil
        }
    }

    /// Flushes every loaded object and closes the connection; later calls throw
    /// ``TPMDeviceError/closed``. Idempotent.
    public func close() async {
        _ = try? await run { box throws(TPMDeviceError) in
            box.context?.close()
            box.context = nil
        }
    }

    /// The EK certificate (DER, NV padding removed) from its TCG NV index, or `nil` if the TPM has none.
    ///
    /// - Parameter nvIndex: ``EndorsementKeyCertificate/rsa2048Index`` (`0x01c00002`, default)
    ///   or ``EndorsementKeyCertificate/eccP256Index``.
    public func endorsementKeyCertificate(nvIndex: UInt32 = EndorsementKeyCertificate.rsa2048Index) async throws(TPMDeviceError) -> [UInt8]? {
        try await withContext { context throws(TPMDeviceError) in
            try context.readNV(index: nvIndex).map(EndorsementKeyCertificate.trimmed)
        }
    }

    /// The EK public area, created with TPM2_CreatePrimary from the TCG default low-range template
    /// (RSA 2048: L-1, ECC P-256: L-2) — the key an EK certificate from the manufacturer certifies.
    /// Its ``TPMPublicArea/identityHex`` is the agent's identity.
    public func endorsementKey(_ algorithm: TPMKeyAlgorithm = .rsa2048) async throws(TPMDeviceError) -> TPMPublicArea {
        try await withContext { context throws(TPMDeviceError) in
            try context.endorsementKey(algorithm).publicArea
        }
    }

    /// Creates a fresh attestation key — a restricted signing key (RSA 2048 RSASSA-SHA256 or P-256
    /// ECDSA-SHA256; fixedTPM, fixedParent, sensitiveDataOrigin) — as a child of the EK, and keeps
    /// it loaded.
    public func createAttestationKey(
        _ algorithm: TPMKeyAlgorithm = .rsa2048, endorsementKey: TPMKeyAlgorithm = .rsa2048
    ) async throws(TPMDeviceError) -> TPMAttestationKey {
        try await withContext { context throws(TPMDeviceError) in
            try context.createAttestationKey(algorithm, parent: endorsementKey)
        }
    }

    /// TPM2_ActivateCredential: recovers the server's secret from a ``CredentialChallenge`` made
    /// for this AK's name and this TPM's EK.
    ///
    /// - Throws: ``TPMDeviceError/commandFailed(command:responseCode:decoded:)`` naming
    ///   `Esys_ActivateCredential` when the credential was made for another AK or EK (the TPM
    ///   answers `TPM_RC_INTEGRITY`) or is malformed.
    public func activateCredential(attestationKey: TPMAttestationKey, challenge: CredentialChallenge) async throws(TPMDeviceError) -> [UInt8] {
        try await withContext { context throws(TPMDeviceError) in
            try context.activateCredential(attestationKey, challenge: challenge)
        }
    }

    /// TPM2_Quote over the SHA-256 PCRs `pcrs` with `qualifyingData` as extraData, plus the PCR
    /// values, read right after the quote. If a PCR changed in between (the values do not hash to
    /// the quoted digest), the quote is taken again, up to three times.
    ///
    /// - Parameters:
    ///   - pcrs: PCR indices, 0...23, at least one.
    ///   - qualifyingData: at most 64 bytes; use ``QuoteBinding/extraData(nonce:subjectPublicKeyInfo:)``.
    public func quote(attestationKey: TPMAttestationKey, pcrs: [Int], qualifyingData: [UInt8]) async throws(TPMDeviceError) -> TPMQuote {
        guard !pcrs.isEmpty, pcrs.allSatisfy({ (0...23).contains($0) }) else {
            throw .invalidArgument("PCR indices must be 0...23 and at least one, got \(pcrs)")
        }
        guard qualifyingData.count <= 64 else {
            throw .invalidArgument("qualifying data is \(qualifyingData.count) bytes, at most 64 fit a TPM2B_DATA")
        }
        return try await withContext { context throws(TPMDeviceError) in
            var attempt = 0
            while true {
                attempt += 1
                let (attest, signature) = try context.quote(attestationKey, pcrs: pcrs, qualifyingData: qualifyingData)
                let values = try context.readPCRs(pcrs)
                let attestation: TPMAttestation
                do throws(TPMStructureError) {
                    attestation = try TPMAttestation(marshalled: attest)
                } catch {
                    throw .unexpectedResponse(command: "Esys_Quote", reason: error.description)
                }
                let selection = attestation.quoteInfo?.pcrSelection ?? []
                let concatenated = selection.flatMap { $0.indices.flatMap { values[$0] ?? [] } }
                let digest = (HashFunction(attestationKey.publicArea.scheme?.hashAlgorithm ?? .sha256) ?? .sha256).digest(concatenated)
                if digest == attestation.quoteInfo?.pcrDigest || attempt == 3 {
                    return TPMQuote(attest: attest, signature: signature, pcrValues: values)
                }
            }
        }
    }

    /// TPM2_PCR_Read of SHA-256 PCRs.
    ///
    /// - Parameter indices: PCR indices, 0...23.
    public func readPCRs(_ indices: [Int]) async throws(TPMDeviceError) -> [Int: [UInt8]] {
        guard indices.allSatisfy({ (0...23).contains($0) }) else {
            throw .invalidArgument("PCR indices must be 0...23, got \(indices)")
        }
        return try await withContext { context throws(TPMDeviceError) in
            try context.readPCRs(indices)
        }
    }

    /// `count` bytes from TPM2_GetRandom.
    public func randomBytes(_ count: Int) async throws(TPMDeviceError) -> [UInt8] {
        guard (0...4096).contains(count) else { throw .invalidArgument("\(count) random bytes requested (0...4096)") }
        return try await withContext { context throws(TPMDeviceError) in
            try context.randomBytes(count)
        }
    }

    /// Runs `operation` with the open context on the device queue.
    private func withContext<T: Sendable>(
        _ operation: @escaping @Sendable (ESAPIContext) throws(TPMDeviceError) -> T
    ) async throws(TPMDeviceError) -> T {
        try await run { box throws(TPMDeviceError) in
            guard let context = box.context else { throw .closed }
            return try operation(context)
        }
    }

    /// Runs `operation` on the device queue and waits for it without blocking the caller's thread.
    private func run<T: Sendable>(
        _ operation: @escaping @Sendable (ContextBox) throws(TPMDeviceError) -> T
    ) async throws(TPMDeviceError) -> T {
        let box = self.box
        let result: Result<T, TPMDeviceError> = await withCheckedContinuation { continuation in
            queue.async {
                do throws(TPMDeviceError) {
                    continuation.resume(returning: .success(try operation(box)))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        return try result.get()
    }
}

/// Holds the ESAPI context; only ever accessed on the owning ``TPMDevice``'s serial queue, which
/// is what makes the unchecked `Sendable` sound.
final class ContextBox: @unchecked Sendable {
    var context: ESAPIContext?
}
