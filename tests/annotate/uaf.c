/*
 * uaf.c - the driver of `make test-annotate`: does ANALLOC_DEBUG_ANNOTATE
 * make a use after free of a block analloc handed out visible to
 * AddressSanitizer and to valgrind's memcheck?
 *
 * Built with every src/ file and -DANALLOC_ANNOTATE, once with -fsanitize=address
 * (gcc and clang) and once without, for valgrind.  The arena is an anonymous
 * mapping, which neither tool knows anything about: only the allocator's
 * annotations can make its free blocks off limits.
 *
 *   uaf MODE [init]
 *
 * `init` sets the allocator up with analloc_init (metadata in a separate
 * buffer) instead of analloc_with_chunk.  Modes that touch free memory print
 * "touch ADDR" first, make one volatile access there, and, if they are still
 * alive, say "NOT DETECTED" and exit 3 (under ASan a report kills the run;
 * valgrind reports and lets the program go on).  Clean modes exit 0.
 * Exit 2: the allocator did not do what the mode needs (a driver bug).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "analloc.h"

#define PAGE 4096u
#define ARENA ((size_t)1 << 20)

static struct analloc g_a;
static unsigned char g_meta[64 << 10];

static void need(int cond, const char *what)
{
    if (!cond) {
        printf("driver: %s\n", what);
        exit(2);
    }
}

static void setup(int init, unsigned debug)
{
    void *m = mmap(NULL, ARENA, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    need(m != MAP_FAILED, "mmap failed");
    if (init) {
        size_t ms = analloc_meta_size(ARENA, PAGE);
        need(ms > 0 && ms <= sizeof g_meta, "metadata buffer too small");
        need(analloc_init(&g_a, m, ARENA, PAGE, g_meta, ms) == 0, "analloc_init failed");
    } else {
        need(analloc_with_chunk(&g_a, m, ARENA, 0, PAGE) == 0, "analloc_with_chunk failed");
    }
    need(analloc_set_debug(&g_a, debug, 0xDB, 0xF5) == 0, "analloc_set_debug failed");
}

static size_t cached(void)
{
    struct analloc_stats st;
    memset(&st, 0, sizeof st);
    st.size = sizeof st;
    need(analloc_stats(&g_a, &st) == 0, "analloc_stats failed");
    return st.cached_blocks;
}

/* Is the block at p in the block cache?  (The allocations of a mode may
 * have taken more blocks into the cache: a list that runs empty is
 * refilled a quarter at a time.) */
struct find {
    void *p;
    int found;
};

static int find_cached(void *ctx, void *block, size_t bytes, unsigned kind)
{
    struct find *f = ctx;
    (void)bytes;
    (void)kind;
    f->found |= block == f->p;
    return 0;
}

static int is_cached(void *p)
{
    struct find f = {p, 0};
    need(analloc_walk(&g_a, ANALLOC_BLOCK_CACHED, find_cached, &f) == 0, "analloc_walk failed");
    return f.found;
}

/* Every byte of a live block: written, then read back. */
static void use(unsigned char *p, size_t n, unsigned char c)
{
    volatile unsigned char *v = p;
    for (size_t i = 0; i < n; i++)
        v[i] = c;
    for (size_t i = 0; i < n; i++)
        need(v[i] == c, "a live block lost its contents");
}

/* The one bad access.  Returns only if no tool stopped the program. */
static int touch(unsigned char *p, int write)
{
    volatile unsigned char *v = p;
    printf("touch %p (%s)\n", (void *)p, write ? "write" : "read");
    fflush(stdout);
    if (write)
        v[0] = 0x42;
    else
        (void)v[0];
    printf("NOT DETECTED\n");
    fflush(stdout);
    return 3;
}

/* The end of a clean run: annotations off (the walk makes free memory
 * addressable again), then the allocator must still be sound. */
static int clean_exit(void)
{
    need(analloc_set_debug(&g_a, 0, 0, 0) == 0, "analloc_set_debug(0) failed");
    need(analloc_check(&g_a) == 0, "analloc_check failed");
    printf("clean\n");
    return 0;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    int init = argc > 2 && strcmp(argv[2], "init") == 0;
    const unsigned ann = ANALLOC_DEBUG_ANNOTATE;

    if (strcmp(mode, "control") == 0) {
        /* Blocks used while live, freed, never touched again; every order
         * of the cache and larger. */
        setup(init, ann);
        for (unsigned k = 0; k <= 6; k++) {
            unsigned char *p = analloc_alloc(&g_a, (size_t)PAGE << k);
            need(p != NULL, "alloc failed");
            use(p, (size_t)PAGE << k, (unsigned char)k);
            need(analloc_free(&g_a, p) == 0, "free failed");
        }
        return clean_exit();
    }
    if (strcmp(mode, "uaf-read") == 0 || strcmp(mode, "uaf-write") == 0 ||
        strcmp(mode, "uaf-off") == 0) {
        /* A 16-page block, the cache off: straight back to the buddy
         * system.  uaf-off: the same with the annotations off, which no
         * tool can see. */
        setup(init, strcmp(mode, "uaf-off") == 0 ? 0 : ann);
        need(analloc_set_cache(&g_a, 0) == 0, "set_cache failed");
        unsigned char *p = analloc_alloc(&g_a, PAGE * 16);
        need(p != NULL, "alloc failed");
        use(p, PAGE * 16, 0x11);
        size_t c = cached();
        need(analloc_free(&g_a, p) == 0, "free failed");
        need(cached() == c, "a 16-page block went to the cache");
        return touch(p + PAGE * 5 + 123, strcmp(mode, "uaf-write") == 0);
    }
    if (strcmp(mode, "cache-read") == 0 || strcmp(mode, "cache-write") == 0) {
        /* One page and two pages: both sit in the block cache, still marked
         * used in the bit vectors. */
        setup(init, ann);
        unsigned char *p = analloc_alloc(&g_a, PAGE);
        unsigned char *q = analloc_alloc(&g_a, PAGE * 2);
        need(p != NULL && q != NULL, "alloc failed");
        use(p, PAGE, 1);
        use(q, PAGE * 2, 2);
        need(analloc_free(&g_a, p) == 0 && analloc_free(&g_a, q) == 0, "free failed");
        need(is_cached(p) && is_cached(q), "the blocks are not in the cache");
        if (strcmp(mode, "cache-read") == 0)
            return touch(p + PAGE - 1, 0);
        return touch(q + PAGE + 7, 1);
    }
    if (strcmp(mode, "cache-again") == 0) {
        /* The cached block handed out again is addressable again, all of
         * it; so is a block carved out of a larger poisoned free block. */
        setup(init, ann);
        for (unsigned k = 0; k < 4; k++) {
            size_t n = (size_t)PAGE << k;
            unsigned char *p = analloc_alloc(&g_a, n);
            need(p != NULL, "alloc failed");
            use(p, n, 3);
            need(analloc_free(&g_a, p) == 0, "free failed");
            need(cached() >= 1, "the block is not in the cache");
            unsigned char *q = analloc_alloc(&g_a, n);
            need(q == p, "the cached block was not handed out again");
            use(q, n, 4);
            need(analloc_free(&g_a, q) == 0, "free failed");
        }
        analloc_drain(&g_a);
        unsigned char *r = analloc_alloc_flags(&g_a, PAGE * 3, ANALLOC_HIGH);
        need(r != NULL, "alloc failed");
        use(r, PAGE * 4, 5);
        need(analloc_free(&g_a, r) == 0, "free failed");
        return clean_exit();
    }
    if (strcmp(mode, "shrink-tail") == 0) {
        /* realloc shrink: the freed tail is off limits, the head is not. */
        setup(init, ann);
        unsigned char *p = analloc_alloc(&g_a, PAGE * 8);
        need(p != NULL, "alloc failed");
        use(p, PAGE * 8, 6);
        need(analloc_realloc(&g_a, p, PAGE * 2) == p, "shrink moved");
        use(p, PAGE * 2, 7);
        return touch(p + PAGE * 2, 0);
    }
    if (strcmp(mode, "grow-move") == 0) {
        /* realloc growing in place makes the new tail addressable; a moving
         * realloc copies from the old block and the new one is addressable. */
        setup(init, ann);
        need(analloc_set_cache(&g_a, 0) == 0, "set_cache failed");
        unsigned char *p = analloc_alloc_aligned(&g_a, PAGE, PAGE * 8, 0);
        need(p != NULL, "alloc failed");
        use(p, PAGE, 8);
        need(analloc_realloc(&g_a, p, PAGE * 8) == p, "grow did not stay in place");
        use(p, PAGE * 8, 9);
        unsigned char *b = analloc_alloc_range(&g_a, PAGE * 8, 0, (uintptr_t)p + PAGE * 8,
                                               (uintptr_t)p + PAGE * 16, 0);
        need(b == p + PAGE * 8, "could not take the buddy");
        unsigned char *q = analloc_realloc(&g_a, p, PAGE * 16);
        need(q != NULL && q != p, "realloc did not move");
        for (size_t i = 0; i < PAGE * 8; i++)
            need(q[i] == 9, "the moved block lost its contents");
        use(q, PAGE * 16, 10);
        need(analloc_free(&g_a, b) == 0 && analloc_free(&g_a, q) == 0, "free failed");
        return clean_exit();
    }
    if (strcmp(mode, "move-old") == 0) {
        /* The block a moving realloc left behind is off limits. */
        setup(init, ann);
        unsigned char *p = analloc_alloc_aligned(&g_a, PAGE, PAGE * 2, 0);
        need(p != NULL, "alloc failed");
        unsigned char *b = analloc_alloc_range(&g_a, PAGE, 0, (uintptr_t)p + PAGE,
                                               (uintptr_t)p + PAGE * 2, 0);
        need(b == p + PAGE, "could not take the buddy");
        unsigned char *q = analloc_realloc(&g_a, p, PAGE * 2);
        need(q != NULL && q != p, "realloc did not move");
        return touch(p, 1);
    }
    if (strcmp(mode, "late-on") == 0) {
        /* Annotations turned on after the block was freed: set_debug's walk
         * marks every free block, cached ones included. */
        setup(init, 0);
        unsigned char *p = analloc_alloc(&g_a, PAGE);
        need(p != NULL, "alloc failed");
        use(p, PAGE, 11);
        need(analloc_free(&g_a, p) == 0, "free failed");
        need(is_cached(p), "the block is not in the cache");
        need(analloc_set_debug(&g_a, ann, 0, 0) == 0, "set_debug failed");
        return touch(p + 100, 0);
    }
    if (strcmp(mode, "off-again") == 0) {
        /* Annotations turned off: free memory is addressable again (no
         * report), cached blocks and merged ones alike. */
        setup(init, ann);
        unsigned char *p = analloc_alloc(&g_a, PAGE);
        unsigned char *q = analloc_alloc(&g_a, PAGE * 32);
        need(p != NULL && q != NULL, "alloc failed");
        need(analloc_free(&g_a, p) == 0 && analloc_free(&g_a, q) == 0, "free failed");
        need(analloc_set_debug(&g_a, 0, 0, 0) == 0, "set_debug failed");
        use(p, PAGE, 12);
        use(q, PAGE * 32, 13);
        need(analloc_check(&g_a) == 0, "analloc_check failed");
        printf("clean\n");
        return 0;
    }
    if (strcmp(mode, "released") == 0) {
        /* Pages given back by analloc_release are off limits like any free
         * memory (annotated, never filled). */
        setup(init, 0);
        unsigned char *r = (unsigned char *)g_a.start + PAGE * 64;
        need(analloc_reserve(&g_a, (uintptr_t)r, PAGE * 4) == 0, "reserve failed");
        use(r, PAGE * 4, 14); /* reserved: the caller's */
        need(analloc_set_debug(&g_a, ann, 0, 0) == 0, "set_debug failed");
        use(r, PAGE * 4, 15); /* the walk leaves reserved pages alone */
        need(analloc_release(&g_a, (uintptr_t)r, PAGE * 4) == 0, "release failed");
        return touch(r + PAGE * 2, 0);
    }
    if (strcmp(mode, "reserve-off") == 0) {
        /* Not run by make test-annotate (see the report): free pages
         * reserved while the annotations are on, the annotations turned
         * off, the pages released and handed out: is the block usable? */
        setup(init, ann);
        unsigned char *r = (unsigned char *)g_a.start + PAGE * 64;
        need(analloc_reserve(&g_a, (uintptr_t)r, PAGE * 4) == 0, "reserve failed");
        need(analloc_set_debug(&g_a, 0, 0, 0) == 0, "set_debug failed");
        need(analloc_release(&g_a, (uintptr_t)r, PAGE * 4) == 0, "release failed");
        unsigned char *p = analloc_alloc_range(&g_a, PAGE, 0, (uintptr_t)r,
                                               (uintptr_t)r + PAGE * 4, 0);
        need(p == r, "alloc_range did not return the released pages");
        printf("using a live block %p\n", (void *)p);
        fflush(stdout);
        use(p, PAGE, 16);
        printf("clean\n");
        return 0;
    }
    fprintf(stderr, "usage: %s MODE [init]\n", argv[0]);
    return 2;
}
