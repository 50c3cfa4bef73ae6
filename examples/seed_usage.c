/*
 * seed_usage.c - the usage flow of the original analloc README, step by step.
 *
 *  1. Reserve a chunk of memory; it may begin with pre-allocated data.
 *  2. Put the analloc_t structure in that pre-allocated part.
 *  3. Call analloc_with_chunk(allocator, chunk, total, used, page).
 *  4. page << depth is the largest block; `managed` is what is allocatable
 *     (no longer only the largest power of two that fits).
 */
#include <stdio.h>

#include "analloc.h"

/* "Physical memory": 1 MiB + 5 pages, aligned to a page as a kernel's would be. */
#define PAGE 4096u
static _Alignas(4096) unsigned char physical[(1u << 20) + 5u * PAGE];

/* What a kernel might keep at the start of its memory: a boot record. */
struct boot_record {
    char name[32];
    unsigned long boot_count;
};

int main(void)
{
    struct boot_record *record = (struct boot_record *)(void *)physical;
    snprintf(record->name, sizeof record->name, "example kernel");
    record->boot_count = 1;

    /* The allocator right after the pre-allocated data, in the same chunk. */
    analloc_t context = (analloc_t)(void *)(record + 1);
    size_t used = sizeof *record + sizeof *context;

    int err = analloc_with_chunk(context, physical, sizeof physical, used, PAGE);
    if (err != 0) {
        printf("analloc_with_chunk failed: %s\n", analloc_strerror(err));
        return 1;
    }
    printf("chunk: %zu bytes, %zu used by the boot record and the allocator\n",
           sizeof physical, used);
    printf("page %zu, depth %zu: largest block page << depth = %zu bytes\n", context->page,
           context->depth, context->page << context->depth);
    size_t seed_managed = context->page;
    while (seed_managed * 2u <= sizeof physical - used)
        seed_managed *= 2u;
    printf("managed: %zu bytes in %zu pages (the seed managed the largest power of two: %zu)\n",
           context->managed, context->managed / context->page, seed_managed);

    /* 4097 bytes round up to two pages, as the seed explains. */
    void *p = analloc_alloc(context, 4097);
    printf("analloc_alloc(4097) -> %p, analloc_mem_size = %zu\n", p, analloc_mem_size(context, p));
    void *q = analloc_realloc(context, p, 3 * PAGE);
    printf("analloc_realloc(to 3 pages) -> %p (%s), size %zu\n", q, q == p ? "in place" : "moved",
           analloc_mem_size(context, q));
    printf("analloc_free -> %d; the boot record is intact: %s, boot %lu\n",
           analloc_free(context, q), record->name, record->boot_count);
    return analloc_check(context) == 0 && analloc_free_bytes(context) == context->managed ? 0 : 1;
}
