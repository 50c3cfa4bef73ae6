/*
 * testcheck.h - what the suites share to check an allocator:
 *
 *  1. the engine's internals: the ONE place in tests/ that knows the layout
 *     of the private struct analloc_internal (include/analloc.h).  Tests
 *     read and write it only through the TI_* macros and ti_* functions
 *     below, so that a change of layout (fields moving into the metadata
 *     buffer, say) is a change of this section alone.  (test_limits.c
 *     corrupts the layout on purpose and still names the fields itself.)
 *  2. byte-for-byte snapshots of an allocator: its struct and its metadata;
 *  3. cmocka helpers: FAILF, ASSERT_ERR, the checked error hook, an address
 *     range nobody touches, snap_take and SNAP_SAME.
 *
 * Include after "analloc.h" and "testutil.h", and after <cmocka.h>.  A file
 * built without cmocka (tests/model.c) defines TESTCHECK_NO_CMOCKA first and
 * gets parts 1 and 2 only.
 */
#ifndef ANALLOC_TESTCHECK_H
#define ANALLOC_TESTCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "analloc.h"
#include "layout.h"

#if UINTPTR_MAX > 0xFFFFFFFFu
#define HOST_64 1
#else
#define HOST_64 0
#endif

/* ==== 1. The engine's internals ========================================= */

/* Lvalues: read them, or (to corrupt on purpose) write them. */
#define TI_MAGIC(a) ((a)->internal.magic)             /* nonzero once set up */
#define TI_SHIFT(a) ((a)->internal.shift)             /* log2(page) */
#define TI_DEPTH(a) ((a)->internal.depth)             /* the engine's copy of depth */
#define TI_LO(a) ((a)->internal.lo)                   /* allocatable pages: [lo, hi) */
#define TI_HI(a) ((a)->internal.hi)
#define TI_LEVELS(a) ((a)->internal.levels)           /* levels of the free-block index */
#define TI_LEVEL_WORD(a, l) ((a)->internal.level_word[(l)]) /* its first word */
#define TI_LEVEL_BITS(a, l) ((a)->internal.level_bits[(l)]) /* its bits */
#define TI_SPLIT_WORD(a) ((a)->internal.split_word)   /* first word of the split bits */
#define TI_WORDS(a) ((a)->internal.words)             /* the metadata's 64-bit words */
#define TI_CACHEP(a) ((a)->internal.cache)            /* the cache's lists in them */
#define TI_TABLEP(a) ((a)->internal.table)            /* the cache's table, then ranges */
#define TI_CACHE_BITS(a) ((a)->internal.cache_bits)   /* log2 of the table's entries */
#define TI_CACHE_ORDERS(a) ((a)->internal.cache_orders) /* orders with a cache list */
#define TI_META_BYTES(a) ((a)->internal.meta_bytes)   /* metadata in use, bytes */
#define TI_FREE_ORDERS(a) ((a)->internal.free_orders) /* bit k: a free block of order k */
#define TI_FREE_PAGES(a) ((a)->internal.free_pages)     /* in free blocks (not cached) */
#define TI_TAKEN_BLOCKS(a) ((a)->internal.taken_blocks) /* handed out or cached */
#define TI_HELD_LO(a) ((a)->internal.held_lo)         /* the used prefix and metadata */
#define TI_HELD_HI(a) ((a)->internal.held_hi)
#define TI_CACHE_SLOTS(a) ((a)->internal.cache_slots) /* per order (analloc_set_cache) */
#define TI_CACHED_BLOCKS(a) ti_cached_blocks(a)                /* in all orders */
#define TI_CACHED(a, k) CACHE_COUNT(&(a)->internal, (k)) /* in order k (in the metadata) */
#define TI_CACHE_CAP(a, k) ORDER_CAP(&(a)->internal, (k))  /* order k's list's capacity */
#define TI_RANGES(a) ((a)->internal.ranges)                   /* reserved ranges */
#define TI_STORE_LIST_WORD (ORDER_ROW + 7u) /* the metadata word of the list of stores (STORE_LIST) */
#define TI_RESERVED_PAGES(a) ((a)->internal.reserved_pages)
#define TI_ORIGIN(a) ((a)->internal.origin) /* the address of page number 0 (modulo 2^64) */
#define TI_SPACE(a) ((a)->internal.space)   /* 1: set up by analloc_space_init */
/* In the metadata (src/layout.h): the first page of the block in slot i of
 * cache list k (slot 0 the oldest; the slot names its key's table entry),
 * and the range table ([first page, end page): j = 0, 1). */
#define TI_CACHE(a, k, i) ti_cached_page(a, k, i)
#define TI_RESERVE(a, i, j) ((a)->internal.table[((size_t)1 << (a)->internal.cache_bits) + 2u * (size_t)(i) + (j)])
#define TI_POISON(a) ((a)->internal.poison)                   /* analloc_set_debug */
#define TI_LOCK(a) ((a)->internal.lock)                       /* analloc_set_lock */
#define TI_UNLOCK(a) ((a)->internal.unlock)

/* Offsets in struct analloc, to recognise a struct in raw memory. */
#define TI_OFFSET_WORDS offsetof(struct analloc, internal.words)
#define TI_OFFSET_HELD_LO offsetof(struct analloc, internal.held_lo)
#define TI_OFFSET_HELD_HI offsetof(struct analloc, internal.held_hi)

/* Set up: only a successful setup sets the magic.  (A struct that is zeroed,
 * or left so by a refused setup, is not; one filled with a pattern would
 * pass for set up, and has no metadata to look at: snapshot it with
 * memcpy.) */
static inline bool ti_set_up(const struct analloc *a) { return TI_MAGIC(a) != 0; }

/* The first byte of the metadata: ti_meta_bytes(a) bytes from here hold all
 * of it, tables included (src/layout.h). */
static inline unsigned char *ti_meta(const struct analloc *a)
{
    return (unsigned char *)TI_WORDS(a);
}

static inline size_t ti_meta_bytes(const struct analloc *a) { return TI_META_BYTES(a); }

/* Which cache list word metadata word wi is: list *k, *i = 0 its count,
 * *i = 1 + n its slot n.  False if wi is in no list. */
static inline bool ti_list_word(const struct analloc *a, size_t wi, unsigned *k, size_t *i)
{
    for (unsigned c = 0; c < a->internal.cache_orders; c++) {
        size_t at = (size_t)ORDER_LIST(&a->internal, c);
        if (wi >= at && wi <= at + cache_cap((size_t)(a->internal.hi - a->internal.lo), ANALLOC_CACHE_MAX, c)) {
            *k = c;
            *i = wi - at;
            return true;
        }
    }
    return false;
}

static inline size_t ti_cached_blocks(const struct analloc *a)
{
    size_t n = 0;
    for (unsigned k = 0; k < a->internal.cache_orders; k++)
        n += (size_t)CACHE_COUNT(&a->internal, k);
    return n;
}

static inline uintptr_t ti_cached_page(const struct analloc *a, unsigned k, unsigned i)
{
    const struct analloc_internal *s = &a->internal;
    uint64_t key = CACHE_KEY(s, CACHE_SLOT(s, k, i) - 1u);
    return (uintptr_t)(key - ORDER_BASE(s, k)) << k;
}

/* Where node (k, j)'s split bit is (1 <= k <= depth), counted in bits from
 * TI_WORDS: the heap of SPLIT_SPAN orders per word that src/internal.h
 * describes (split_bit). */
static inline size_t ti_split_bit(const struct analloc *a, unsigned k, uintptr_t j)
{
    unsigned r = (k - 1u) % SPLIT_SPAN + 1u;
    size_t word = (size_t)(ORDER_SPLIT(&a->internal, k) + (uint64_t)(j >> (SPLIT_SPAN - r)));
    return word * 64u + ((64u >> r) | ((unsigned)j & (63u >> r)));
}

static inline bool ti_split(const struct analloc *a, unsigned k, uintptr_t j)
{
    size_t bit = ti_split_bit(a, k, j);
    return (TI_WORDS(a)[bit / 64u] >> (bit % 64u) & 1u) != 0;
}

/* The name of an analloc_walk block kind, for messages. */
static inline const char *kind_name(unsigned kind)
{
    switch (kind) {
    case ANALLOC_BLOCK_USED: return "used";
    case ANALLOC_BLOCK_FREE: return "free";
    case ANALLOC_BLOCK_CACHED: return "cached";
    case ANALLOC_BLOCK_RESERVED: return "reserved";
    default: return "?";
    }
}

/* ==== 2. Snapshots of the struct and the metadata ======================= */

/* The struct, and the metadata of a struct that is set up (len bytes). */
struct snap {
    struct analloc s;
    unsigned char *meta;
    size_t len;
};

/* Bytes of metadata a snapshot of a holds (0 if a is not set up). */
static inline size_t snap_len(const struct analloc *a)
{
    return ti_set_up(a) ? ti_meta_bytes(a) : 0;
}

/* Copy a into sn, whose meta buffer holds at least snap_len(a) bytes. */
static inline void snap_fill(struct snap *sn, const struct analloc *a)
{
    memcpy(&sn->s, a, sizeof *a);
    sn->len = snap_len(a);
    if (sn->len)
        memcpy(sn->meta, ti_meta(a), sn->len);
}

/* Does a differ from the snapshot?  *struct_byte and *meta_byte get the
 * first differing byte of the struct and of the metadata (SIZE_MAX: none).
 * The metadata is read where the snapshot's struct says it is. */
static inline bool snap_differs(const struct snap *sn, const struct analloc *a,
                                size_t *struct_byte, size_t *meta_byte)
{
    /* The sequence counter of the per-CPU stores (src/internal.h, STORE_SEQ)
     * counts lock sections while a store is attached: not state. */
    const size_t seq = (ORDER_ROW * 0u + 7u) * 8u;
    *struct_byte = first_diff(&sn->s, a, sizeof *a);
    *meta_byte = SIZE_MAX;
    if (sn->len > seq + 8u) {
        *meta_byte = first_diff(sn->meta, ti_meta(&sn->s), seq);
        if (*meta_byte == SIZE_MAX) {
            *meta_byte = first_diff(sn->meta + seq + 8u, ti_meta(&sn->s) + seq + 8u, sn->len - seq - 8u);
            *meta_byte += *meta_byte != SIZE_MAX ? seq + 8u : 0u;
        }
    } else if (sn->len) {
        *meta_byte = first_diff(sn->meta, ti_meta(&sn->s), sn->len);
    }
    return *struct_byte != SIZE_MAX || *meta_byte != SIZE_MAX;
}

/* One line on what differs, for a failure message. */
static inline void snap_describe(const struct snap *sn, const struct analloc *a, size_t ds,
                                 size_t dm, char *out, size_t outlen)
{
    int n = 0;
    out[0] = '\0';
    if (ds != SIZE_MAX)
        n = snprintf(out, outlen,
                     " struct analloc at byte %zu of %zu (free_pages %zu -> %zu, taken_blocks %zu "
                     "-> %zu, cached_blocks %zu -> %zu, reserved %u -> %u);",
                     ds, sizeof *a, TI_FREE_PAGES(&sn->s), TI_FREE_PAGES(a),
                     TI_TAKEN_BLOCKS(&sn->s), TI_TAKEN_BLOCKS(a), TI_CACHED_BLOCKS(&sn->s),
                     TI_CACHED_BLOCKS(a), TI_RANGES(&sn->s), TI_RANGES(a));
    if (dm != SIZE_MAX && n >= 0 && (size_t)n < outlen)
        snprintf(out + n, outlen - (size_t)n,
                 " metadata at byte %zu of %zu (word %zu): %#x -> %#x", dm, sn->len, dm / 8u,
                 sn->meta[dm], ti_meta(&sn->s)[dm]);
}

/* ==== 3. cmocka helpers ================================================= */
#ifndef TESTCHECK_NO_CMOCKA

/* Print a message (printf format, end it with \n) and fail here. */
#define FAILF(...)                \
    do {                          \
        print_error(__VA_ARGS__); \
        fail();                   \
    } while (0)

#define ASSERT_ERR(got, want) assert_err_((got), (want), #got, __FILE__, __LINE__)
static inline void assert_err_(int got, int want, const char *expr, const char *file, int line)
{
    if (got != want) {
        print_error("%s:%d: %s returned %d (%s), expected %d (%s)\n", file, line, expr, got,
                    analloc_strerror(got), want, analloc_strerror(want));
        _fail(file, line);
    }
}

/* An error hook that records like hook_record (testutil.h) and fails the
 * test if it is called with another ctx than its own. */
#define HOOK_MAGIC 0x686f6f6bu
struct checked_hook {
    unsigned magic;
    size_t calls;
    int error;
    const void *ptr;
};

static inline void checked_hook_record(void *ctx, int error, const void *ptr)
{
    struct checked_hook *h = ctx;
    if (h == NULL || h->magic != HOOK_MAGIC) {
        print_error("error hook called with a wrong ctx %p\n", ctx);
        fail();
    }
    h->calls++;
    h->error = error;
    h->ptr = ptr;
}

/* An address range that is never touched by anyone (the library must not
 * touch it either).  64-bit: 2^40, which nothing maps here.  32-bit: one
 * PROT_NONE reservation of 96 MiB made once, aligned to 16 MiB. */
static inline uintptr_t fake_base(size_t bytes, size_t align)
{
#if HOST_64
    (void)bytes;
    (void)align;
    return (uintptr_t)1 << 40;
#else
    static uintptr_t reserved;
    const size_t len = (size_t)96 << 20;
    if (!reserved) {
        void *p = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        assert_true(p != MAP_FAILED);
        reserved = addr(p);
    }
    assert_true(align <= ((size_t)16 << 20) && bytes <= ((size_t)64 << 20));
    return align_up(reserved, (uintptr_t)16 << 20);
#endif
}

/* A snapshot in malloc'd memory; snap_free releases it. */
static inline void snap_take(struct snap *sn, const struct analloc *a)
{
    size_t len = snap_len(a);
    sn->meta = malloc(len ? len : 1);
    assert_non_null(sn->meta);
    snap_fill(sn, a);
}

static inline void snap_free(struct snap *sn)
{
    free(sn->meta);
    sn->meta = NULL;
}

/* The struct and the metadata must equal the snapshot, byte for byte. */
#define SNAP_SAME(sn, a, what) snap_same_((sn), (a), (what), __FILE__, __LINE__)
static inline void snap_same_(const struct snap *sn, const struct analloc *a, const char *what,
                              const char *file, int line)
{
    size_t ds, dm;
    char why[400];
    if (!snap_differs(sn, a, &ds, &dm))
        return;
    snap_describe(sn, a, ds, dm, why, sizeof why);
    print_error("%s:%d: %s changed the allocator:%s\n", file, line, what, why);
    _fail(file, line);
}

#endif /* TESTCHECK_NO_CMOCKA */
#endif /* ANALLOC_TESTCHECK_H */
