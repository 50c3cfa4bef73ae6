/*
 * scaling.c - instructions per operation against arena size.
 *
 * usage: scaling LOG2_PAGES OPS [mixed]
 *
 * Sets up an arena of 2^LOG2_PAGES pages of 4 KiB with external metadata over
 * an address range that is never touched, fills half of it, then runs OPS
 * steps of "free a random live block, allocate a new one" (one page each, or
 * with `mixed` 1 to 64 pages, order k with probability ~2^-(k+1)).  Only
 * run_steps() is meant to be measured, with
 *   valgrind --tool=callgrind --toggle-collect=run_steps ./scaling 20 100000
 * (tools/scaling.sh does that for 2^10 to 2^24 pages).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "analloc.h"

#define PAGE 4096u

static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint64_t next_random(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545f4914f6cdd1du;
}

static size_t request(int mixed)
{
    if (!mixed)
        return PAGE;
    unsigned k = 0;
    while (k < 6 && (next_random() & 1u))
        k++;
    return (size_t)PAGE << k;
}

static void **live;
static size_t nlive;

/* Measured: OPS steps of free-random + alloc. */
__attribute__((noinline)) size_t run_steps(analloc_t a, size_t ops, int mixed);
__attribute__((noinline)) size_t run_steps(analloc_t a, size_t ops, int mixed)
{
    size_t failed = 0;
    for (size_t i = 0; i < ops; i++) {
        size_t victim = (size_t)(next_random() % nlive);
        analloc_free(a, live[victim]);
        void *p = analloc_alloc(a, request(mixed));
        if (p == NULL) {
            failed++;
            live[victim] = live[--nlive];
            continue;
        }
        live[victim] = p;
    }
    return failed;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s LOG2_PAGES OPS [mixed]\n", argv[0]);
        return 2;
    }
    unsigned log2_pages = (unsigned)atoi(argv[1]);
    size_t ops = (size_t)strtoull(argv[2], NULL, 10);
    int mixed = argc > 3;
    size_t total = (size_t)PAGE << log2_pages;
    void *base = (void *)((uintptr_t)1 << 44); /* never touched */
    size_t meta_size = analloc_meta_size(total, PAGE);
    void *meta = malloc(meta_size);
    struct analloc a;
    if (meta == NULL || analloc_init(&a, base, total, PAGE, meta, meta_size) != 0)
        return 1;
    size_t pages = a.managed / PAGE;
    live = malloc(pages * sizeof *live);
    size_t used = 0;
    while (used < pages / 2) {
        void *p = analloc_alloc(&a, request(mixed));
        if (p == NULL)
            break;
        used += analloc_mem_size(&a, p) / PAGE;
        live[nlive++] = p;
    }
    size_t failed = run_steps(&a, ops, mixed);
    printf("pages 2^%u: %zu ops, %zu failed, metadata %.3f bits/page, check %d\n", log2_pages, ops,
           failed, 8.0 * (double)analloc_meta_bytes(&a) / (double)pages, analloc_check(&a));
    return 0;
}
