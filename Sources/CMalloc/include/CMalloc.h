#ifndef MATRYOSHKA_CMALLOC_H
#define MATRYOSHKA_CMALLOC_H

// glibc's mallopt(3) and malloc_trim(3), which Swift's Glibc module does not import (see
// MallocThresholds.swift and HeapTrimmer.swift).

#include <stddef.h>

// Sets glibc malloc's mmap threshold and trim threshold to `bytes` each, which also stops glibc
// from raising them as it goes. Returns 1 when both were set; 0 when either was refused, or the
// C library is not glibc (nothing is changed there).
int matryoshka_malloc_fix_thresholds(size_t bytes);

// malloc_trim(0): returns the free pages inside every arena's heap to the system (madvise), not
// only the top of the main heap. Returns 1 when memory was released, 0 otherwise or not glibc.
int matryoshka_malloc_trim(void);

// The process's resident anonymous memory in bytes (resident minus file-backed and shared, from
// /proc/self/statm), or -1 when it cannot be read (not Linux, no /proc).
long long matryoshka_anonymous_resident_bytes(void);

#endif
