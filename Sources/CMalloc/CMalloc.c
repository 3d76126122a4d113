#include "CMalloc.h"

// A C library header first: glibc defines __GLIBC__ in it (stddef.h is the compiler's).
#include <limits.h>

#if defined(__GLIBC__)
#include <malloc.h>

int matryoshka_malloc_fix_thresholds(size_t bytes) {
    if (bytes > INT_MAX) return 0;
    return mallopt(M_MMAP_THRESHOLD, (int)bytes) == 1 && mallopt(M_TRIM_THRESHOLD, (int)bytes) == 1;
}
#else
int matryoshka_malloc_fix_thresholds(size_t bytes) {
    (void)bytes;
    return 0;
}
#endif
