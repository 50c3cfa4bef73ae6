/*
 * measure.c - instructions inside the lock sections of one call, for blocks
 * of 1 to 1024 pages (run under callgrind by run.sh, `make test-lock-sections`).
 *
 * The lock and unlock hooks toggle callgrind's collection while a call is
 * being measured, so callgrind counts exactly the instructions between the
 * hooks; after each call a dump carries its label.  The debug fills are on,
 * so the copies and fills that a call makes would be counted if they ran
 * under the lock.  Prints "label sections" lines for run.sh.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <valgrind/callgrind.h>

#include "analloc.h"

#define PAGE 4096u
#define ARENA_PAGES 8192u

static int measuring;
static unsigned sections;

static void hook_lock(void *ctx)
{
    (void)ctx;
    if (measuring) {
        sections++;
        CALLGRIND_TOGGLE_COLLECT;
    }
}

static void hook_unlock(void *ctx)
{
    (void)ctx;
    if (measuring)
        CALLGRIND_TOGGLE_COLLECT;
}

static void begin(void)
{
    sections = 0;
    measuring = 1;
}

static void end(const char *op, unsigned pages)
{
    char label[64];
    measuring = 0;
    snprintf(label, sizeof label, "%s-%u", op, pages);
    CALLGRIND_DUMP_STATS_AT(label);
    printf("%s %u\n", label, sections);
}

static void die(const char *what)
{
    fprintf(stderr, "measure: %s failed\n", what);
    exit(1);
}

int main(void)
{
    size_t bytes = (size_t)ARENA_PAGES * PAGE, meta_size = analloc_meta_size(bytes, PAGE);
    unsigned char *arena = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    void *meta = malloc(meta_size);
    struct analloc a;
    if (arena == MAP_FAILED || meta == NULL || analloc_init(&a, arena, bytes, PAGE, meta, meta_size) != 0 ||
        analloc_set_lock(&a, hook_lock, hook_unlock, NULL) != 0 ||
        analloc_set_debug(&a, ANALLOC_DEBUG_POISON_FREE | ANALLOC_DEBUG_POISON_FRESH, 0xdf, 0xaf) != 0)
        die("setup");
    for (unsigned pages = 1; pages <= 1024u; pages *= 4u) {
        size_t size = (size_t)pages * PAGE;
        /* alloc, a moving realloc to twice the size (the buddy is taken),
         * a shrink back, a growth in place, free; then reserve and release. */
        begin();
        unsigned char *p = analloc_alloc(&a, size);
        end("alloc", pages);
        unsigned char *buddy = analloc_alloc(&a, size);
        if (p == NULL || buddy == NULL)
            die("alloc");
        memset(p, 0x11, size);
        begin();
        unsigned char *q = analloc_realloc(&a, p, 2u * size);
        end("realloc-move", pages);
        if (q == NULL || q == p || q[size - 1u] != 0x11)
            die("realloc-move");
        begin();
        if (analloc_realloc(&a, q, size) != q)
            die("realloc-shrink");
        end("realloc-shrink", pages);
        begin();
        if (analloc_realloc(&a, q, 2u * size) != q)
            die("realloc-grow");
        end("realloc-grow", pages);
        begin();
        if (analloc_free(&a, q) != 0)
            die("free");
        end("free", pages);
        if (analloc_free(&a, buddy) != 0)
            die("free");
        analloc_drain(&a);
        uintptr_t at = (uintptr_t)arena + bytes / 2u;
        begin();
        if (analloc_reserve(&a, at, size) != 0)
            die("reserve");
        end("reserve", pages);
        begin();
        if (analloc_release(&a, at, size) != 0)
            die("release");
        end("release", pages);
        if (analloc_check(&a) != 0)
            die("check");
    }
    return 0;
}
