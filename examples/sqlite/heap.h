/* heap.h - a heap buffer for the test and the benchmark: `size` bytes at an
 * address aligned to the smallest power of two >= size (an embedded build
 * aligns its heap section the same way), from mmap so that untouched pages
 * cost nothing. */
#ifndef SQLITE_HEAP_H
#define SQLITE_HEAP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>

static inline size_t heap_align_of(size_t size)
{
    size_t al = 4096;
    while (al < size)
        al <<= 1;
    return al;
}

static inline void *heap_map(size_t size)
{
    size_t al = heap_align_of(size);
    unsigned char *p = mmap(NULL, size + al, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    uintptr_t start;
    if (p == MAP_FAILED)
        return NULL;
    start = ((uintptr_t)p + al - 1) & ~(uintptr_t)(al - 1);
    if (start > (uintptr_t)p)
        munmap(p, start - (uintptr_t)p);
    if ((uintptr_t)p + size + al > start + size)
        munmap((void *)(start + size), (uintptr_t)p + size + al - (start + size));
    return (void *)start;
}

#endif /* SQLITE_HEAP_H */
