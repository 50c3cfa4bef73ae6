/*
 * demo.c - analloc on built-in defaults: run by `make demo`.
 *
 * Takes a chunk of 8 MiB + 3 pages at an address that is not aligned to
 * anything in particular, keeps the allocator's own struct in the chunk's
 * used prefix (as the seed describes), then allocates, frees and resizes
 * blocks of mixed sizes, printing the arena map and figures along the way.
 * Finally it frees everything and shows that all memory coalesced back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analloc.h"

#define PAGE 4096u
#define CHUNK ((8u << 20) + 3u * PAGE)
#define BLOCKS 64

static void print_line(void *ctx, const char *line)
{
    (void)ctx;
    puts(line);
}

static void figures(analloc_t a, const char *when)
{
    printf("%-28s free %8zu B  largest free block %8zu B  check %s\n", when,
           analloc_free_bytes(a), analloc_largest_free(a),
           analloc_check(a) == 0 ? "ok" : "FAILED");
}

/* A small fixed-seed generator, so every run prints the same thing. */
static unsigned next_random(unsigned *state)
{
    *state = *state * 1103515245u + 12345u;
    return *state >> 16;
}

int main(void)
{
    /* The chunk: from malloc, then offset by 1000 bytes so nothing is aligned. */
    unsigned char *memory = malloc(CHUNK + 1000u);
    if (memory == NULL)
        return 1;
    unsigned char *chunk = memory + 1000u;

    /* The allocator's struct lives in the chunk's used prefix. */
    analloc_t a = (analloc_t)(void *)(((uintptr_t)chunk + 15u) & ~(uintptr_t)15u);
    size_t used = (size_t)((unsigned char *)(a + 1) - chunk);
    int err = analloc_with_chunk(a, chunk, CHUNK, used, PAGE);
    if (err != 0) {
        fprintf(stderr, "analloc_with_chunk: %s\n", analloc_strerror(err));
        return 1;
    }
    printf("chunk %u bytes at %p, %zu used by the struct; page %zu B\n", (unsigned)CHUNK,
           (void *)chunk, used, a->page);
    printf("managed %zu B in %zu pages from %p; largest block page << depth = %zu B\n",
           a->managed, a->managed / a->page, a->start, a->page << a->depth);
    printf("metadata %zu B = %.2f bits per page\n\n", analloc_meta_bytes(a),
           8.0 * (double)analloc_meta_bytes(a) / (double)(a->managed / a->page));
    figures(a, "after setup");

    void *blocks[BLOCKS] = {0};
    unsigned seed = 42;
    size_t asked = 0, got = 0;
    for (int i = 0; i < BLOCKS; i++) {
        size_t size = (size_t)1 + next_random(&seed) % (PAGE << (next_random(&seed) % 6u));
        blocks[i] = analloc_alloc(a, size);
        if (blocks[i] != NULL) {
            asked += size;
            got += analloc_mem_size(a, blocks[i]);
            memset(blocks[i], i, size);
        }
    }
    printf("%-28s asked %zu B, got %zu B in power-of-two blocks\n", "64 allocations:", asked, got);
    figures(a, "after 64 allocations");

    for (int i = 0; i < BLOCKS; i += 2) {
        analloc_free(a, blocks[i]);
        blocks[i] = NULL;
    }
    figures(a, "after freeing every other");

    int in_place = 0, moved = 0;
    for (int i = 1; i < BLOCKS; i += 4) {
        if (blocks[i] == NULL)
            continue;
        size_t size = analloc_mem_size(a, blocks[i]);
        void *p = analloc_realloc(a, blocks[i], i % 8 == 1 ? size / 2 : size * 2);
        if (p == NULL)
            continue;
        p == blocks[i] ? in_place++ : moved++;
        blocks[i] = p;
    }
    printf("%-28s %d in place, %d moved\n", "reallocs:", in_place, moved);
    figures(a, "after reallocs");

    printf("\nbad input is refused and changes nothing:\n");
    void *live = blocks[1] != NULL ? blocks[1] : blocks[3];
    printf("  free(interior pointer) -> %s\n", analloc_strerror(analloc_free(a, (char *)live + PAGE)));
    printf("  free(misaligned)       -> %s\n", analloc_strerror(analloc_free(a, (char *)live + 1)));
    printf("  free(the struct)       -> %s\n", analloc_strerror(analloc_free(a, a)));
    printf("  free(outside)          -> %s\n", analloc_strerror(analloc_free(a, memory + CHUNK + 1000u)));
    void *gone = analloc_alloc(a, PAGE);
    analloc_free(a, gone);
    printf("  free twice             -> %s\n\n", analloc_strerror(analloc_free(a, gone)));

    analloc_dump(a, print_line, NULL, 64);
    putchar('\n');

    for (int i = 0; i < BLOCKS; i++)
        analloc_free(a, blocks[i]);
    figures(a, "after freeing all");
    printf("all memory coalesced back: %s\n", analloc_free_bytes(a) == a->managed ? "yes" : "NO");
    analloc_dump(a, print_line, NULL, 64);
    int status = analloc_check(a) == 0 && analloc_free_bytes(a) == a->managed ? 0 : 1;
    free(memory);
    return status;
}
