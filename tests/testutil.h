/*
 * testutil.h - small helpers shared by the test suites.
 */
#ifndef ANALLOC_TESTUTIL_H
#define ANALLOC_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- the random generator of every test -------------------------------- */

/* splitmix64: a small, fixed-algorithm generator, so that a printed seed
 * replays the same run on every platform.  Every randomized test, the model
 * (tests/model.c) included, draws from this one. */
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

/* A 64-bit word with a mix of densities: sparse, dense or uniform bits. */
static inline uint64_t rng_word(struct rng *r)
{
    switch (rng_next(r) % 4u) {
    case 0:
        return rng_next(r) & rng_next(r) & rng_next(r);
    case 1:
        return rng_next(r) | rng_next(r) | rng_next(r);
    default:
        return rng_next(r);
    }
}

/* One splitmix64 step from x: a 64-bit mix of x (to derive seeds). */
static inline uint64_t rng_mix(uint64_t x)
{
    struct rng r = {x};
    return rng_next(&r);
}

/* ---- seeds and the environment ------------------------------------------ */

/* The seed of a run: ANALLOC_SEED=n if set, else one from the clock and the
 * process id.  The caller prints it, with how to replay it. */
static inline uint64_t seed_from_env(void)
{
    const char *s = getenv("ANALLOC_SEED");
    if (s != NULL && *s != '\0')
        return strtoull(s, NULL, 0);
    return ((uint64_t)time(NULL) * 2654435761u) ^ ((uint64_t)getpid() << 20);
}

/* ANALLOC_QUICK is set (and not "0"): run fewer operations. */
static inline int quick_from_env(void)
{
    const char *q = getenv("ANALLOC_QUICK");
    return q != NULL && *q != '\0' && strcmp(q, "0") != 0;
}

/* Seed r for one test case from the run's seed and a salt of its own, and
 * print the seed with how to replay it. */
static inline void rng_seed(struct rng *r, uint64_t seed, const char *test, uint64_t salt)
{
    r->s = seed ^ (salt * 0xD1B54A32D192ED03ull);
    printf("[ %s ] seed %llu (replay: ANALLOC_SEED=%llu)\n", test, (unsigned long long)seed,
           (unsigned long long)seed);
    fflush(stdout);
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

/* The first byte where [x, x + n) and [y, y + n) differ; SIZE_MAX if none. */
static inline size_t first_diff(const void *x, const void *y, size_t n)
{
    const unsigned char *p = x, *q = y;
    for (size_t i = 0; i < n; i++)
        if (p[i] != q[i])
            return i;
    return SIZE_MAX;
}

/* The block analloc hands out for size bytes: page * 2^n >= size (size 0:
 * one page); the caller keeps size within the largest block. */
static inline size_t block_for(size_t size, size_t page)
{
    size_t s = page;
    while (s < size)
        s <<= 1;
    return s;
}

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

/* len bytes aligned to a power of two at least len: the position of the
 * buffer relative to every buddy boundary is then the same on every run, so
 * a randomized test that sets an arena up at an offset into it replays the
 * same layout from its seed (malloc's placement does not leak in). */
static inline unsigned char *xalloc_replayable(size_t len)
{
    size_t align = 16;
    while (align < len)
        align *= 2;
    return xalloc_aligned(align, len);
}

#endif /* ANALLOC_TESTUTIL_H */
