/*
 * internal.h - what the engine's files share: constants, the layout
 * computation, copy and fill without library calls, and the read-only
 * accessors of the bits.  The tunables and the metadata layout they shape
 * are in src/layout.h.
 *
 * src/analloc.c (everything that changes an allocator's state) describes
 * the algorithm and the encoding in its opening comment; src/check.c and
 * src/inspect.c read the state through the helpers here and never change it.
 * Cross-file functions carry the prefix an_ and hidden visibility.
 */
#ifndef ANALLOC_INTERNAL_H
#define ANALLOC_INTERNAL_H

#define BV_TYPE uint64_t
#include "analloc/bitvector.h"
#include "analloc.h"
#include "host.h"
#include "layout.h"

_Static_assert(sizeof(uint64_t) == 8, "64-bit words are required");
_Static_assert(sizeof(size_t) <= sizeof(uint64_t) && sizeof(uintptr_t) <= sizeof(uint64_t),
               "size_t and uintptr_t must fit in 64 bits");
_Static_assert(sizeof(size_t) >= 4, "size_t must have at least 32 bits");

/* The set-up mark: AN_MAGIC_FAST when the short paths of alloc and free
 * may run (no lock hooks, no debug fills, no reserved ranges, a block
 * cache, more than one order, pointers: mode_update), AN_MAGIC otherwise;
 * they differ in bit 0 alone. */
#define AN_MAGIC 0x616e6132u      /* "ana2" */
#define AN_MAGIC_FAST 0x616e6133u /* "ana3" */
#define WORD_BITS 64u
#define NONE ((size_t)-1)        /* "no bit found" */
#define PFN_BITS (sizeof(uintptr_t) * 8u)
#define META_ALIGN sizeof(uint64_t)

/* The debug word (struct analloc_internal's `poison`): the public flags, the
 * internal ANNOTATE_LEAVING (annotation is being turned off: allocations
 * still lift it), the free byte << 8 and the fresh byte << 16. */
#define DEBUG_FLAGS (ANALLOC_DEBUG_POISON_FREE | ANALLOC_DEBUG_POISON_FRESH | ANALLOC_DEBUG_ANNOTATE)
#define ANNOTATE_LEAVING 0x80u

/* Everything about the metadata that follows from the page range alone. */
struct layout {
    unsigned depth;
    unsigned levels;
    unsigned cache_orders, cache_bits; /* lists, and log2 of the table's entries */
    uint32_t cache_mul;                /* cache_bucket's: 2^cache_shift (room for every node) or CACHE_FIB */
    unsigned cache_shift;
    size_t cache_word, table_word;     /* where they start */
    size_t fixed_words;                /* order table, cache and range tables */
    size_t level_word[ANALLOC_MAX_LEVELS];
    size_t level_bits[ANALLOC_MAX_LEVELS];
    size_t split_word;
    size_t words; /* total */
};


/* The exact layout for pages [lo, hi) (lo < hi, a count that pages_fit). */
ANALLOC_HIDDEN void an_layout_exact(uintptr_t lo, uintptr_t hi, struct layout *L);
/* A hash of the fields that setup fixed and nothing else changes. */
ANALLOC_HIDDEN uint64_t an_seal(const struct analloc *a);

/* ---- Small helpers -------------------------------------------------------- */

static inline bool is_pow2(size_t x) { return x != 0 && (x & (x - 1u)) == 0; }

/* log2 of a power of two, or of the highest set bit of a nonzero value. */
static inline unsigned log2_floor(uint64_t x) { return bv_msb_word(x); }

/* Page count of an order (order <= depth <= 60, so it fits). */
static inline size_t pages_of(unsigned k)
{
    return (size_t)1 << k; // NOLINT(clang-analyzer-core.UndefinedBinaryOperatorResult): k <= 60
}

/* Does an arena of `pages` pages fit what this target can describe? */
static inline bool pages_fit(size_t pages) { return pages <= SIZE_MAX / 8u; }

/* Nodes of order k that overlap [lo, hi). */
static inline size_t order_nodes(uintptr_t lo, uintptr_t hi, unsigned k)
{
    return (size_t)(((hi - 1u) >> k) - (lo >> k) + 1u);
}

static inline bool is_setup(const struct analloc *a)
{
    return a != NULL && (a->internal.magic | 1u) == AN_MAGIC_FAST;
}

/* The set-up mark for the allocator's present settings. */
static inline uint32_t mode_magic(const struct analloc_internal *s)
{
    bool fast = s->lock == NULL && s->poison == 0 && s->ranges == 0 && s->cache_slots != 0 &&
                s->depth != 0 && s->space == 0;
    return fast ? AN_MAGIC_FAST : AN_MAGIC;
}

/* Calls that take or return pointers run only on allocators set up over
 * them (analloc_init, analloc_with_chunk). */
static inline bool is_setup_ptr(const struct analloc *a)
{
    return is_setup(a) && a->internal.space == 0;
}

static inline void *page_ptr(const struct analloc_internal *s, uintptr_t pfn)
{
    return (void *)(pfn << s->shift);
}

/* ---- Addresses ---------------------------------------------------------------
 * The engine works in page numbers; an address is a uint64_t of the
 * allocator's space: page pfn starts at origin + (pfn << shift), modulo
 * 2^64.  For an allocator over pointers origin is 0 and an address is the
 * pointer's value; analloc_space_init picks an origin that keeps every
 * page number of the space nonzero (0 means "none" inside the engine) and
 * every block aligned in addresses as in page numbers (src/analloc.c,
 * analloc_space_init). */
static inline uint64_t page_addr(const struct analloc_internal *s, uintptr_t pfn)
{
    return s->origin + ((uint64_t)pfn << s->shift);
}

/* The page that holds addr, if it is a page of the arena: [lo, hi). */
static inline bool addr_page(const struct analloc_internal *s, uint64_t addr, uintptr_t *pfn)
{
    uint64_t p = (addr - s->origin) >> s->shift;
    if (p < s->lo || p >= s->hi)
        return false;
    *pfn = (uintptr_t)p;
    return true;
}

/* Pages of `bytes` bytes (0 bytes: one page), saturating: enough to be
 * refused as larger than any arena. */
static inline uint64_t pages_for(const struct analloc_internal *s, uint64_t bytes)
{
    return bytes == 0 ? 1u : ((bytes - 1u) >> s->shift) + 1u;
}

/* A page count in bytes, capped at SIZE_MAX (the public size_t figures). */
static inline size_t bytes_capped(const struct analloc_internal *s, uint64_t pages)
{
    uint64_t b = pages << s->shift;
    return (b >> s->shift) != pages || b > SIZE_MAX ? SIZE_MAX : (size_t)b;
}

/* ---- The per-CPU stores' shared words (src/analloc.c, PER-CPU STORES) ---- */

/* The list of stores: the first one's address, bit 0 set while a caller
 * walks or changes the list; the sequence counter, odd inside a lock
 * section while a store is attached; a table entry's bit 63 locks its
 * bucket (in the bucket's first entry; keys never reach it). */
#define STORE_LIST(s) ORDER_SPARE(s, 1)
#define STORE_SEQ(s) ORDER_SPARE(s, 0)
#define STORE_CHECK(s) ORDER_SPARE(s, 2) /* ~STORE_LIST's address (depth >= 1): a flipped bit shows */
#define STORE_LIST_LOCKED ((uint64_t)1)
#define BUCKET_LOCKED ((uint64_t)1 << 63)
#define STORE_MAGIC 0x616e6343u /* "anaC" */

/* analloc_check's: take the list of stores and every store (in the lock
 * order), and let them go. */
ANALLOC_HIDDEN const struct analloc_cpu *an_stores_hold(struct analloc_internal *s);
ANALLOC_HIDDEN void an_stores_let_go(struct analloc_internal *s);

static inline struct analloc_cpu *stores_first(const struct analloc_internal *s)
{
    return (struct analloc_cpu *)(uintptr_t)(an_load(&STORE_LIST(s)) & ~STORE_LIST_LOCKED);
}

/* Blocks of order k in the stores (read under the allocator's lock: the
 * list cannot change; each count is one atomic load). */
static inline size_t stored_blocks(const struct analloc_internal *s, unsigned k)
{
    size_t n = 0;
    for (const struct analloc_cpu *c = stores_first(s); c != NULL && k < ANALLOC_CPU_ORDERS;
         c = c->internal.next)
        n += an_load(&c->internal.count[k]);
    return n;
}

/* The caller's lock hooks (analloc_set_lock), if any, around a section
 * that only reads (src/check.c, src/inspect.c: they read nothing before
 * the fields are checked). */
static inline void lock_read(const struct analloc_internal *s)
{
    if (s->lock != NULL)
        s->lock(s->lock_ctx);
}

static inline void unlock_read(const struct analloc_internal *s)
{
    if (s->unlock != NULL)
        s->unlock(s->lock_ctx);
}

/* The same around a section that may change the bits.  While a store is
 * attached, it makes the sequence counter odd and the unlock makes it even
 * again, so that a store's free, which reads bits without the lock, can
 * tell that they may have changed under it; with no store it stays 0
 * (attaching the first store and detaching the last keep that: src/
 * analloc.c, stores_set_first). */
static inline void lock(const struct analloc_internal *s)
{
    lock_read(s);
#if ANALLOC_STORES
    if (ANALLOC_UNLIKELY(stores_first(s) != NULL)) {
        an_store(&STORE_SEQ(s), an_load(&STORE_SEQ(s)) + 1u);
        an_fence_release();
    }
#endif
}

static inline void unlock(const struct analloc_internal *s)
{
#if ANALLOC_STORES
    if (ANALLOC_UNLIKELY(stores_first(s) != NULL))
        an_store_release(&STORE_SEQ(s), an_load(&STORE_SEQ(s)) + 1u);
#endif
    unlock_read(s);
}

/* Orders a store keeps in this allocator (none in a one-page arena). */
static inline unsigned store_orders(const struct analloc_internal *s)
{
    unsigned k = s->cache_orders < ANALLOC_CPU_ORDERS ? s->cache_orders : ANALLOC_CPU_ORDERS;
    return s->depth >= 1 ? k : 0;
}

/* ---- Copy and fill, without library calls ---------------------------------- */

/* Fill n bytes with c.  Not a memset call: see ANALLOC_OPAQUE. */
static inline void bytes_fill(void *dst, unsigned char c, size_t n)
{
    unsigned char *d = dst;
    for (size_t i = 0; i < n; i++) {
        ANALLOC_OPAQUE(d);
        d[i] = c;
    }
}

/* Copy n bytes between objects that do not overlap.  Blocks are page
 * aligned, so whole words are copied when the page is at least a word,
 * through a type that may alias the caller's data, whatever its type (as
 * musl's memcpy does). */
static inline void bytes_copy(void *dst, const void *src, size_t n)
{
#if defined(__GNUC__) || defined(__clang__)
    typedef uintptr_t __attribute__((__may_alias__)) copy_word;
    if (((uintptr_t)dst | (uintptr_t)src | n) % sizeof(copy_word) == 0) {
        copy_word *d = dst;
        const copy_word *w = src;
        for (size_t i = 0; i < n / sizeof(copy_word); i++) {
            ANALLOC_OPAQUE(d);
            d[i] = w[i];
        }
        return;
    }
#endif
    unsigned char *d = dst;
    const unsigned char *b = src;
    for (size_t i = 0; i < n; i++) {
        ANALLOC_OPAQUE(d);
        d[i] = b[i];
    }
}

/* ---- Nodes ------------------------------------------------------------------
 * `s` is the engine state, `k` an order, `j` a node number (absolute: first
 * page j << k), `bit` a position in index level 0. */

static inline const uint64_t *level_words(const struct analloc_internal *s, unsigned l)
{
    return s->words + s->level_word[l];
}

static inline bool node_exists(const struct analloc_internal *s, unsigned k, uintptr_t j)
{
    return j >= (s->lo >> k) && j <= ((s->hi - 1u) >> k);
}

/* The node's position in index level 0 (the node must exist). */
static inline size_t node_bit(const struct analloc_internal *s, unsigned k, uintptr_t j)
{
    return (size_t)(ORDER_BASE(s, k) + j) - s->level_word[0] * WORD_BITS;
}

/* The node's free bit, counted from `words`: one addition (ORDER_BASE). */
static inline bool node_free(const struct analloc_internal *s, unsigned k, uintptr_t j)
{
    return bv_test(s->words, (size_t)(ORDER_BASE(s, k) + j)) != 0;
}

/*
 * Split bits exist for orders 1..D, in one 64-bit word per aligned group of
 * SPLIT_SPAN orders: the word of level g (orders 6g+1 .. 6g+6) for the
 * aligned 2^(6g+6)-page group q = pfn >> (6g+6) holds the split bits of the
 * 63 nodes inside the group as a heap: node (6g + r, j) at bit
 * (64 >> r) | (j & (63 >> r)), the group's root (r = 6) at bit 1, bit 0
 * unused.  The ancestors of a page are then a few bits of one word
 * (split_path), so block_order reads one word per 6 orders.  ORDER_SPLIT of
 * order k is the word of group 0 of its level, counted from `words` (modulo
 * 2^64: group 0 may lie before the arena).
 */
static inline size_t split_bit(const struct analloc_internal *s, unsigned k, uintptr_t j)
{
    unsigned r = (k - 1u) % SPLIT_SPAN + 1u;
    size_t word = (size_t)(ORDER_SPLIT(s, k) + (uint64_t)(j >> (SPLIT_SPAN - r)));
    return word * WORD_BITS + ((64u >> r) | ((unsigned)j & (63u >> r)));
}

static inline bool node_split(const struct analloc_internal *s, unsigned k, uintptr_t j)
{
    return k > 0 && bv_test(s->words, split_bit(s, k, j)) != 0;
}

/* split_path[p]: the bits of the ancestors of node p of a group's lowest
 * level (orders 1..6 above it), (64 | p) >> r for r = 1..6. */
ANALLOC_HIDDEN extern const uint64_t an_split_path[64];

/*
 * The order of the block that holds page pfn (lo <= pfn < hi).  Below a
 * block every node is 0/0 and every ancestor of a block is split, so the
 * block is the child of the lowest split ancestor of the page: in a split
 * word, the highest set bit on the page's path (a higher bit is a lower
 * order: bit h is order 6 - log2(h) of the level).  One word per SPLIT_SPAN orders, no loop over bits.
 * (base + SPLIT_SPAN <= 60 < the bits of a page number: base < D, a
 * multiple of 6, and D <= 60, or D <= 28 where uintptr_t has 32 bits.)
 */
static inline unsigned path_order(uint64_t path)
{
    /* path != 0: its highest bit is (64 | p) >> r, r = 6 - log2 of its
     * place (>= 1); the block below that ancestor has order r - 1 in the
     * level, counted from the level's lowest order */
    return 5u - bv_msb_word(bv_msb_word(path) | 1u);
}

/* (an_load: a per-CPU store's free reads the split words without the lock,
 * src/analloc.c, store_free.) */
static ANALLOC_INLINE unsigned block_order(const struct analloc_internal *s, uintptr_t pfn)
{
    for (unsigned base = 0; base < s->depth; base += SPLIT_SPAN) {
        size_t word = (size_t)(ORDER_SPLIT(s, base + 1u) + (uint64_t)(pfn >> (base + SPLIT_SPAN)));
        uint64_t path = an_load(&s->words[word]) & an_split_path[(pfn >> base) & 63u];
        if (path != 0)
            return base + path_order(path);
    }
    return s->depth;
}

/* Where the split words of order k's level start, counted from `words`: the
 * levels below come first, each a word per group that overlaps [lo, hi)
 * (group_count).  For setup and analloc_check. */
static inline size_t split_groups(uintptr_t lo, uintptr_t hi, unsigned base)
{
    return order_nodes(lo, hi, base + SPLIT_SPAN);
}

static inline uint64_t split_origin(uintptr_t lo, uintptr_t hi, size_t split_word, unsigned k)
{
    size_t w = split_word;
    unsigned base = 0;
    for (; base + SPLIT_SPAN < k; base += SPLIT_SPAN)
        w += split_groups(lo, hi, base);
    return (uint64_t)w - (uint64_t)(lo >> (base + SPLIT_SPAN));
}

/* ---- The block cache and the range table, read-only ------------------------ */

/* Where order k's cache list starts, counted from `words` (k < cache_orders):
 * after the lists of the lower orders, each a count and its slots. */
static inline size_t list_origin(size_t n, size_t cache_word, unsigned k)
{
    size_t w = cache_word;
    for (unsigned i = 0; i < k; i++)
        w += 1u + cache_cap(n, ANALLOC_CACHE_MAX, i);
    return w;
}

/* Does order k (<= depth) have a cache list with room for a block at the
 * present setting? */
static inline bool order_cached(const struct analloc_internal *s, unsigned k)
{
    return ORDER_CAP(s, k) != 0;
}

/* The cache table key of the order-k block at page pfn: its node's free
 * bit, counted from `words`; and back. */
static inline uint64_t block_key(const struct analloc_internal *s, unsigned k, uintptr_t pfn)
{
    return ORDER_BASE(s, k) + (pfn >> k);
}

static inline uintptr_t key_page(const struct analloc_internal *s, unsigned k, uint64_t key)
{
    return (uintptr_t)(key - ORDER_BASE(s, k)) << k;
}

static inline unsigned key_bucket(const struct analloc_internal *s, uint64_t key)
{
    return cache_bucket(key, s->cache_mul, s->cache_shift);
}

/* Is the order-k block at page pfn in the block cache?  Two comparisons: a
 * cached block's key is in its own bucket. */
static inline bool block_cached(const struct analloc_internal *s, unsigned k, uintptr_t pfn)
{
    if (k >= s->cache_orders)
        return false;
    uint64_t key = block_key(s, k, pfn);
    unsigned b = key_bucket(s, key);
    for (unsigned w = 0; w < CACHE_WAYS; w++)
        if ((an_load(&CACHE_KEY(s, b + w)) & ~BUCKET_LOCKED) == key)
            return true;
    return false;
}

/* Index of the reserved range that holds page pfn, or of the first one after
 * it (s->ranges if none): a binary search. */
static inline unsigned range_find(const struct analloc_internal *s, uintptr_t pfn)
{
    unsigned lo = 0, hi = s->ranges;
    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2u;
        if (RANGE_END(s, mid) <= pfn)
            lo = mid + 1u;
        else
            hi = mid;
    }
    return lo;
}

static inline bool range_holds(const struct analloc_internal *s, uintptr_t pfn)
{
    if (s->ranges == 0)
        return false;
    unsigned i = range_find(s, pfn);
    return i < s->ranges && RANGE_FIRST(s, i) <= pfn;
}

/* What the block at page pfn (its first page) is, as analloc_walk names it;
 * a page of a reserved range is reported as used here. */
static inline unsigned block_kind(const struct analloc_internal *s, unsigned k, uintptr_t pfn)
{
    if (node_free(s, k, pfn >> k))
        return ANALLOC_BLOCK_FREE;
    return block_cached(s, k, pfn) ? ANALLOC_BLOCK_CACHED : ANALLOC_BLOCK_USED;
}

/* Blocks and pages in the block cache: the lists' counts. */
/* Blocks of order k in the block cache or in a per-CPU store. */
static inline size_t order_cached_blocks(const struct analloc_internal *s, unsigned k)
{
    return k < s->cache_orders ? (size_t)CACHE_COUNT(s, k) + stored_blocks(s, k) : 0;
}

static inline size_t cached_blocks(const struct analloc_internal *s)
{
    size_t n = 0;
    for (unsigned k = 0; k < s->cache_orders; k++)
        n += order_cached_blocks(s, k);
    return n;
}

static inline size_t cached_pages(const struct analloc_internal *s)
{
    size_t n = 0;
    for (unsigned k = 0; k < s->cache_orders; k++)
        n += order_cached_blocks(s, k) << k;
    return n;
}

/* Pages free to allocate: in free blocks and in the cache. */
static inline size_t available_pages(const struct analloc_internal *s)
{
    return s->free_pages + cached_pages(s);
}

/* Blocks handed out and not yet freed. */
static inline size_t live_blocks(const struct analloc_internal *s)
{
    return s->taken_blocks - cached_blocks(s);
}

/* The largest block an allocation gets without merging the cache, in
 * pages: the largest free block in the buddy system or in the cache. */
static inline size_t largest_free_pages(const struct analloc_internal *s)
{
    uint64_t orders = s->free_orders;
    for (unsigned k = 0; k < s->cache_orders; k++)
        orders |= (uint64_t)(order_cached_blocks(s, k) != 0) << k;
    return orders == 0 ? 0 : pages_of(bv_msb_word(orders));
}

#endif /* ANALLOC_INTERNAL_H */
