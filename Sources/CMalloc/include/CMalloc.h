#ifndef MATRYOSHKA_CMALLOC_H
#define MATRYOSHKA_CMALLOC_H

// glibc's mallopt(3), which Swift's Glibc module does not import (see MallocThresholds.swift).

#include <stddef.h>

// Sets glibc malloc's mmap threshold and trim threshold to `bytes` each, which also stops glibc
// from raising them as it goes. Returns 1 when both were set; 0 when either was refused, or the
// C library is not glibc (nothing is changed there).
int matryoshka_malloc_fix_thresholds(size_t bytes);

#endif
