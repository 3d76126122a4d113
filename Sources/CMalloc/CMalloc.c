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

#if defined(__GLIBC__)
int matryoshka_malloc_trim(void) { return malloc_trim(0); }
#else
int matryoshka_malloc_trim(void) { return 0; }
#endif

#if defined(__linux__)
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

long long matryoshka_anonymous_resident_bytes(void) {
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    char text[128];
    ssize_t length = read(fd, text, sizeof text - 1);
    close(fd);
    if (length <= 0) return -1;
    text[length] = 0;
    // "size resident shared text lib data dt", in pages; shared is file-backed and shmem.
    long long size = 0, resident = 0, shared = 0;
    if (sscanf(text, "%lld %lld %lld", &size, &resident, &shared) != 3) return -1;
    long page = sysconf(_SC_PAGESIZE);
    if (page <= 0 || shared > resident) return -1;
    return (resident - shared) * (long long)page;
}
#else
long long matryoshka_anonymous_resident_bytes(void) { return -1; }
#endif
