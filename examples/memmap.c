/*
 * memmap.c - a kernel's view: one allocator over a firmware memory map with
 * holes, DMA zones, placement, alignment, late memory and statistics.
 *
 *  1. Cover the span from the lowest to the highest usable address with one
 *     allocator (external metadata: the "physical" memory here is a range of
 *     addresses nobody maps, so the allocator must never touch it).
 *  2. Reserve every hole and firmware area, and the memory not present yet.
 *  3. Allocate below 16 MiB (ISA DMA) and below 4 GiB (32-bit DMA), from the
 *     top (ANALLOC_HIGH, keeping low memory for devices), aligned to 2 MiB.
 *  4. "Hot-add": release the memory that was not there at boot.
 *  5. Statistics, the fragmentation index, and a walk of the map.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "analloc.h"

#define PAGE 4096u
#define MIB ((uintptr_t)1 << 20)

#if UINTPTR_MAX > 0xffffffffu
#define SPAN_END ((uintptr_t)6 << 30) /* 6 GiB: memory above 4 GiB too */
#else
#define SPAN_END ((uintptr_t)1 << 30)
#endif

/* A firmware map, as a bootloader reports it (e820-like): usable ranges. */
struct region {
    uintptr_t start, end;
};
static const struct region usable[] = {
    {0x1000, 0x9f000},          /* low memory below the VGA hole (page 0 left out) */
#if UINTPTR_MAX > 0xffffffffu
    {0x100000, 0xbffe0000},     /* 1 MiB to just below 3 GiB */
#else
    {0x100000, 0x3ffe0000},     /* 1 MiB to just below 1 GiB */
#endif
#if UINTPTR_MAX > 0xffffffffu
    {0x100000000, SPAN_END},    /* above 4 GiB: "hot-added" later */
#endif
};
#define NREGIONS (sizeof usable / sizeof usable[0])

/* The allocator and its metadata: a kernel keeps them in memory it owns;
 * here, a mapping the process owns, which lies above the span (the span's
 * addresses are only numbers: the allocator never touches them, and with a
 * non-PIE build, valgrind's, the program's own data sits inside it). */
static struct analloc *ap;
#define a (*ap)

static void check(int err, const char *what)
{
    if (err != 0) {
        printf("%s: %s\n", what, analloc_strerror(err));
        exit(1);
    }
}

static int show(void *ctx, void *block, size_t bytes, unsigned kind)
{
    (void)ctx;
    if (kind == ANALLOC_BLOCK_RESERVED || kind == ANALLOC_BLOCK_USED)
        printf("  %-8s [%#14" PRIxPTR ", %#14" PRIxPTR ")  %8zu KiB\n",
               kind == ANALLOC_BLOCK_RESERVED ? "reserved" : "used", (uintptr_t)block,
               (uintptr_t)block + bytes, bytes >> 10);
    return 0;
}

int main(void)
{
    /* 1. One allocator over [first usable page, end of span). */
    uintptr_t base = usable[0].start;
    size_t total = SPAN_END - base;
    size_t need = analloc_meta_size(total, PAGE);
    size_t map_len = sizeof(struct analloc) + need;
    void *hint = (void *)(SPAN_END + ((uintptr_t)1 << 30)); /* a wish, not MAP_FIXED */
    unsigned char *map = mmap(hint, map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED || (uintptr_t)map < SPAN_END) {
        printf("no mapping above the span for the allocator\n");
        return 1;
    }
    ap = (struct analloc *)(void *)map;
    void *meta = map + sizeof(struct analloc);
    check(analloc_init(&a, (void *)base, total, PAGE, meta, need), "analloc_init");
    printf("span [%#" PRIxPTR ", %#" PRIxPTR "): %zu MiB, metadata %zu KiB\n", base,
           (uintptr_t)SPAN_END, total >> 20, analloc_meta_bytes(&a) >> 10);

    /* 2. Holes between usable regions; the kernel image at 1 MiB. */
    for (size_t i = 0; i + 1 < NREGIONS; i++)
        check(analloc_reserve(&a, usable[i].end, usable[i + 1].start - usable[i].end), "hole");
#if UINTPTR_MAX > 0xffffffffu
    /* Memory above 4 GiB is announced later: reserve it for now. */
    check(analloc_reserve(&a, usable[2].start, usable[2].end - usable[2].start), "late memory");
#endif
    check(analloc_reserve(&a, 0x100000, 3 * MIB + 1234), "kernel image");

    /* 3. Placement. */
    void *isa = analloc_alloc_range(&a, 64 * 1024, 0, 0, 16 * MIB, ANALLOC_HIGH);
#if UINTPTR_MAX > 0xffffffffu
    const uintptr_t dma32_end = (uintptr_t)1 << 32; /* exclusive: the window is [0, 4 GiB) */
#else
    const uintptr_t dma32_end = UINTPTR_MAX; /* no arena holds the last page of the space */
#endif
    void *dma32 = analloc_alloc_range(&a, 8 * MIB, 0, 0, dma32_end, ANALLOC_HIGH);
    void *low = analloc_alloc_flags(&a, PAGE, ANALLOC_LOW);
    void *huge = analloc_alloc_aligned(&a, PAGE, 2 * MIB, 0);
    void *top = analloc_alloc_flags(&a, 2 * MIB, ANALLOC_HIGH);
    printf("ISA DMA 64 KiB below 16 MiB, from the top: %p\n", isa);
    printf("DMA32 8 MiB below 4 GiB, from the top:     %p\n", dma32);
    printf("one page, lowest address:                  %p\n", low);
    printf("one page aligned to 2 MiB:                 %p (takes %zu bytes)\n", huge,
           analloc_mem_size(&a, huge));
    printf("2 MiB, highest address:                    %p\n", top);
    if (isa == NULL || (uintptr_t)isa + 64 * 1024 > 16 * MIB || dma32 == NULL || low == NULL ||
        huge == NULL || (uintptr_t)huge % (2 * MIB) != 0 || top == NULL)
        return 1;
    printf("free into the kernel image: %s\n",
           analloc_strerror(analloc_free(&a, (void *)(uintptr_t)0x200000)));

    struct analloc_stats st = {.size = sizeof st};
    check(analloc_stats(&a, &st), "stats");
    printf("before hot-add: free %zu MiB, used %zu KiB, reserved %zu MiB in %u ranges, largest "
           "free block %zu MiB\n",
           st.free_bytes >> 20, st.used_bytes >> 10, st.reserved_bytes >> 20, st.reserved_ranges,
           st.largest_free >> 20);

#if UINTPTR_MAX > 0xffffffffu
    /* 4. Memory above 4 GiB appears: give it to the allocator. */
    check(analloc_release(&a, usable[2].start, usable[2].end - usable[2].start), "hot-add");
    void *high = analloc_alloc_flags(&a, 512 * MIB, ANALLOC_HIGH);
    printf("after hot-add: 512 MiB from the top at %p\n", high);
    if (high == NULL || (uintptr_t)high < usable[2].start)
        return 1;
#endif

    /* 5. Statistics and the map. */
    check(analloc_stats(&a, &st), "stats");
    printf("free %zu MiB; free blocks per order:", st.free_bytes >> 20);
    for (unsigned k = 0; k <= st.depth; k++)
        printf(" %zu", st.free_blocks_of_order[k]);
    printf("\nfragmentation index (Linux's extfrag) for 2^%zu pages: %d\n", a.depth,
           analloc_frag_index(&a, (unsigned)a.depth));
    printf("used and reserved blocks, in address order:\n");
    analloc_walk(&a, ANALLOC_BLOCK_USED | ANALLOC_BLOCK_RESERVED, show, NULL);
    int ok = analloc_check(&a) == 0;
    munmap(map, map_len);
    return ok ? 0 : 1;
}
