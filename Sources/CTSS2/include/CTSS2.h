#ifndef MATRYOSHKA_CTSS2_H
#define MATRYOSHKA_CTSS2_H

// libtss2's types and declarations, and the functions Matryoshka calls as pointers into the
// libraries, loaded with dlopen(3) when a TPM is first opened (see LibTSS2.swift). Nothing links
// libtss2, so a server, an agent without a TPM, `exec` and the CLI never map it (nor the
// libcrypto it pulls in); calling one of the declarations below directly fails the link.

#include <stddef.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

// X(library, function) for every libtss2 function called; the library is an index into the
// sonames matryoshka_tss2_load() takes (0 esys, 1 tctildr, 2 mu, 3 rc).
#define MATRYOSHKA_TSS2_FUNCTIONS(X)              \
    X(0, Esys_Initialize)                         \
    X(0, Esys_Finalize)                           \
    X(0, Esys_Free)                               \
    X(0, Esys_FlushContext)                       \
    X(0, Esys_StartAuthSession)                   \
    X(0, Esys_TRSess_SetAttributes)               \
    X(0, Esys_PolicySecret)                       \
    X(0, Esys_CreatePrimary)                      \
    X(0, Esys_Create)                             \
    X(0, Esys_Load)                               \
    X(0, Esys_TR_GetName)                         \
    X(0, Esys_TR_FromTPMPublic)                   \
    X(0, Esys_TR_Close)                           \
    X(0, Esys_ActivateCredential)                 \
    X(0, Esys_Quote)                              \
    X(0, Esys_PCR_Read)                           \
    X(0, Esys_GetRandom)                          \
    X(0, Esys_NV_ReadPublic)                      \
    X(0, Esys_NV_Read)                            \
    X(0, Esys_GetCapability)                      \
    X(1, Tss2_TctiLdr_Initialize)                 \
    X(1, Tss2_TctiLdr_Finalize)                   \
    X(2, Tss2_MU_TPMT_PUBLIC_Marshal)             \
    X(2, Tss2_MU_TPMT_SIGNATURE_Marshal)          \
    X(2, Tss2_MU_TPML_PCR_SELECTION_Marshal)      \
    X(2, Tss2_MU_TPML_PCR_SELECTION_Unmarshal)    \
    X(2, Tss2_MU_TPML_DIGEST_Marshal)             \
    X(2, Tss2_MU_TPM2B_PRIVATE_Marshal)           \
    X(2, Tss2_MU_TPM2B_PRIVATE_Unmarshal)         \
    X(2, Tss2_MU_TPM2B_PUBLIC_Unmarshal)          \
    X(2, Tss2_MU_TPM2B_ID_OBJECT_Unmarshal)       \
    X(2, Tss2_MU_TPM2B_ENCRYPTED_SECRET_Unmarshal) \
    X(2, Tss2_MU_TPM2B_DATA_Unmarshal)            \
    X(3, Tss2_RC_Decode)

#define MATRYOSHKA_TSS2_FIELD(library, function) __typeof__(function) *_Nonnull function;

/// Pointers to the libtss2 functions, named as the functions.
typedef struct MatryoshkaTSS2 {
    MATRYOSHKA_TSS2_FUNCTIONS(MATRYOSHKA_TSS2_FIELD)
} MatryoshkaTSS2;

#undef MATRYOSHKA_TSS2_FIELD

/// Opens the four libraries (RTLD_NOW | RTLD_LOCAL) and resolves every function. Returns the
/// pointers (allocated; they and the libraries stay for the life of the process), or NULL with
/// the reason (dlerror's text, or the missing function) in `error`.
const MatryoshkaTSS2 *_Nullable matryoshka_tss2_load(
    const char *_Nonnull esys, const char *_Nonnull tctildr, const char *_Nonnull mu, const char *_Nonnull rc,
    char *_Nonnull error, size_t capacity);

#endif
