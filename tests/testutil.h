/*
 * testutil.h - small helpers shared by the test suites.
 */
#ifndef ANALLOC_TESTUTIL_H
#define ANALLOC_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* splitmix64: a small, fixed-algorithm generator, so that a printed seed
 * replays the same run on every platform. */
struct rng {
    uint64_t s;
};

static inline uint64_t rng_next(struct rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* A number in [0, n); 0 when n is 0. */
static inline size_t rng_below(struct rng *r, size_t n)
{
    return n ? (size_t)(rng_next(r) % n) : 0;
}

/* What the error hook heard: the number of calls and the last one. */
struct hook_log {
    size_t calls;
    int error;
    const void *ptr;
};

static inline void hook_record(void *ctx, int error, const void *ptr)
{
    struct hook_log *h = ctx;
    h->calls++;
    h->error = error;
    h->ptr = ptr;
}

/* x rounded up or down to a multiple of al, a power of two. */
static inline uintptr_t align_up(uintptr_t x, uintptr_t al) { return (x + (al - 1)) & ~(al - 1); }
static inline uintptr_t align_down(uintptr_t x, uintptr_t al) { return x & ~(al - 1); }

/* Addresses and pointers, for arithmetic on addresses the tests never touch. */
static inline uintptr_t addr(const void *p) { return (uintptr_t)p; }
static inline void *ptr_at(uintptr_t x) { return (void *)x; }

/* len bytes aligned to align (at least a pointer); aborts if out of memory. */
static inline unsigned char *xalloc_aligned(size_t align, size_t len)
{
    void *p = NULL;
    if (align < sizeof(void *))
        align = sizeof(void *);
    if (posix_memalign(&p, align, len ? len : 1) != 0)
        abort();
    return p;
}

#endif /* ANALLOC_TESTUTIL_H */
