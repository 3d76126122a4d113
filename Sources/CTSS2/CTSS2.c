#include "CTSS2.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

enum { LIBRARIES = 4 };

const MatryoshkaTSS2 *matryoshka_tss2_load(
    const char *esys, const char *tctildr, const char *mu, const char *rc,
    char *error, size_t capacity)
{
    const char *sonames[LIBRARIES] = { esys, tctildr, mu, rc };
    void *handles[LIBRARIES] = { NULL };
    int opened = 0;
    for (; opened < LIBRARIES; opened++) {
        handles[opened] = dlopen(sonames[opened], RTLD_NOW | RTLD_LOCAL);
        if (handles[opened] == NULL) {
            const char *reason = dlerror();
            snprintf(error, capacity, "%s", reason != NULL ? reason : sonames[opened]);
            goto fail;
        }
    }
    MatryoshkaTSS2 loaded;
#define MATRYOSHKA_TSS2_LOAD(library, function)                                                  \
    {                                                                                            \
        void *symbol = dlsym(handles[library], #function);                                      \
        if (symbol == NULL) {                                                                    \
            snprintf(error, capacity, "%s has no function %s", sonames[library], #function);     \
            goto fail;                                                                           \
        }                                                                                        \
        loaded.function = (__typeof__(loaded.function))symbol;                                   \
    }
    MATRYOSHKA_TSS2_FUNCTIONS(MATRYOSHKA_TSS2_LOAD)
#undef MATRYOSHKA_TSS2_LOAD
    MatryoshkaTSS2 *api = malloc(sizeof *api);
    if (api == NULL) {
        snprintf(error, capacity, "out of memory");
        goto fail;
    }
    *api = loaded;
    return api;
fail:
    while (opened > 0) {
        opened--;
        dlclose(handles[opened]);
    }
    return NULL;
}
