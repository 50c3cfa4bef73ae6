/*
 * analloc.c - the engine: a binary buddy allocator whose state lives in bit
 * vectors outside the memory it manages.
 *
 * ALGORITHM
 * Memory is cut into pages of `page` bytes, numbered by their absolute
 * address: page frame number pfn = address / page.  A block of order k is
 * 2^k pages whose first pfn is a multiple of 2^k, so every block is aligned
 * to its size in absolute addresses, whatever the arena's start.  The arena
 * is the pages [lo, hi); any lo and hi.  The node (k, j) is the aligned
 * 2^k-page block with first page j << k; only nodes that overlap [lo, hi)
 * exist, so order k has ((hi-1) >> k) - (lo >> k) + 1 nodes.  The largest
 * order D (the public `depth`) is the largest k for which an aligned block
 * fits inside [lo, hi); nodes of order D are roots of a forest.
 *
 * The buddy arithmetic, written once (as in Linux's page allocator):
 *     buddy  of (k, j)  =  (k, j ^ 1)
 *     parent of (k, j)  =  (k + 1, j >> 1)
 *     children          =  (k - 1, 2j) and (k - 1, 2j + 1)
 *     first page        =  j << k
 *
 * METADATA: two bits per node, in the seed's terms:
 *     free  split   meaning
 *      1     0      a free block of order k
 *      0     1      split: its two children are blocks or split further
 *      0     0      a used block if the parent is split (or k == D);
 *                   otherwise the node lies inside a larger block
 *      1     1      never occurs
 * Nodes that straddle the edge of the arena are permanently split.  Inside a
 * block every node is 0/0, so finding the block that holds a page means
 * climbing from order 0 until the parent is split: O(order).  Order-0 nodes
 * need no split bit, so split bits cost N and free bits 2N bits for N pages.
 *
 * The free bits of all orders are concatenated (order 0 first) into one bit
 * vector, the index.  Above it sit summary levels: bit i of level l+1 is set
 * iff word i of level l is nonzero; the top level is one 64-bit word.  The
 * first free block of order k is the first set bit at or after the start of
 * order k's run: at most `levels` words up and `levels` words down.  A 64-bit
 * mask of the orders that have a free block picks the order in O(1).  The
 * summaries cost about 1/32 bit per page.
 *
 * Layout of the metadata, in 64-bit words:
 *     [order table][index level 0][level 1]...[top level][split bits]
 * The order table holds, per order k, the index bit where order k starts,
 * the number of free order-k blocks and the index bit of the lowest of them
 * (three size_t each), and one more row: the end sentinel and zeros.  The
 * total is about 3.03 bits per page plus the table (24 bytes per order on
 * 64-bit targets) and word rounding.
 *
 * THE BLOCK CACHE (in the struct, not in the metadata): freed blocks of the
 * smallest ANALLOC_CACHE_ORDERS orders wait, unmerged and encoded as used,
 * in short per-order lists; allocations of those orders take the newest.
 * See "The block cache" below.
 *
 * INVARIANTS (checked by analloc_check):
 *  - free and split are never both set; edge nodes are split and not free;
 *  - below a node that is not split (and is not itself split), every node is
 *    0/0;
 *  - two free buddies below order D never coexist (they merge on free; a
 *    cached block is not free in the tree, it looks used);
 *  - summary bits match the words below them; padding bits are zero;
 *  - per-order free counts, lowest free blocks, the order mask, free_pages
 *    and live_blocks match the bits (cached blocks count as free pages and
 *    not as live blocks);
 *  - every cached block is a block of its list's order that looks used, at
 *    most once, within the lists' bounds; unused slots are zero.
 *
 * COMPLEXITY: free and mem_size climb at most D orders (and scan one cache
 * list of at most ANALLOC_CACHE_MAX entries); alloc takes a cached block in
 * O(1), or reads the lowest free block of the smallest fitting order from
 * the order table and splits it in at most D steps; removing the lowest
 * block of an order searches for the next one in at most 2 * levels word
 * reads.  An allocation that would fail first drains the cache: at most
 * ANALLOC_CACHE_ORDERS * ANALLOC_CACHE_MAX releases.
 * A step sets or clears one index bit, and the summary update stops at the
 * first word that was or stays nonzero: O(D * levels) word operations in the
 * worst case (D <= 63, levels <= 11; levels is 4 at 2^24 pages), usually
 * O(D + levels).  No loop runs over pages or free blocks.  The managed memory itself is never
 * read or written.  analloc_check is O(N).
 *
 * FRAGMENTATION: a binary buddy never fails a request of 2^k pages while an
 * aligned 2^k-page run is free (buddies merge eagerly, and cached blocks are
 * merged before a request fails), and with the smallest
 * fitting order taken first it meets J. M. Robson's bound for power-of-two
 * allocators: a program whose live memory never exceeds M and whose largest
 * block is n times the smallest needs at most about M * (1 + log2(n) / 2)
 * bytes ("Worst case fragmentation of first fit and best fit storage
 * allocation strategies", Computer Journal 20(3), 1977; the bound SQLite's
 * mem5.c quotes).
 */
#define BV_TYPE uint64_t
#include "analloc/bitvector.h"
#include "analloc.h"
#include "host.h"

#define MAGIC 0x616e6131u        /* "ana1": set by a successful setup */
#define WORD_BITS 64u
#define NONE ((size_t)-1)        /* "no bit found" */
#define PFN_BITS (sizeof(uintptr_t) * 8u)
#define META_ALIGN sizeof(uint64_t)
#define ORDER_ROW 3u                 /* size_t entries per order in the order table */

_Static_assert(sizeof(uint64_t) == 8, "64-bit words are required");
_Static_assert(sizeof(size_t) <= sizeof(uint64_t) && sizeof(uintptr_t) <= sizeof(uint64_t),
               "size_t and uintptr_t must fit in 64 bits");
_Static_assert(sizeof(size_t) >= 4, "size_t must have at least 32 bits");

/* ---- Small helpers -------------------------------------------------------- */

static bool is_pow2(size_t x) { return x != 0 && (x & (x - 1u)) == 0; }

/* log2 of a power of two, or of the highest set bit of a nonzero value. */
static unsigned log2_floor(uint64_t x) { return bv_msb_word(x); }

static size_t words_for(size_t bits) { return BV_SIZE(bits); }

/*
 * n / d and n % d by shift and subtract, one bit at a time.  Only the dump
 * divides 64-bit numbers; a plain `/` would call __udivdi3 on 32-bit targets.
 */
static uint64_t divmod64(uint64_t n, uint64_t d, uint64_t *rem)
{
    uint64_t q = 0, r = 0;
    for (unsigned i = 0; i < 64u; i++) {
        r = (r << 1) | (n >> 63);
        n <<= 1;
        q <<= 1;
        if (r >= d) {
            r -= d;
            q |= 1u;
        }
    }
    *rem = r;
    return q;
}

/* Set n words to zero.  Not a memset call: see ANALLOC_OPAQUE. */
static void words_zero(uint64_t *w, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        ANALLOC_OPAQUE(w);
        w[i] = 0;
    }
}

/* Copy n bytes between blocks that do not overlap.  Blocks are page aligned,
 * so whole words are copied when the page is at least a word. */
static void bytes_copy(void *dst, const void *src, size_t n)
{
    if (((uintptr_t)dst | (uintptr_t)src | n) % sizeof(uintptr_t) == 0) {
        uintptr_t *d = dst;
        const uintptr_t *s = src;
        for (size_t i = 0; i < n / sizeof(uintptr_t); i++) {
            ANALLOC_OPAQUE(d);
            d[i] = s[i];
        }
        return;
    }
    unsigned char *d = dst;
    const unsigned char *s = src;
    for (size_t i = 0; i < n; i++) {
        ANALLOC_OPAQUE(d);
        d[i] = s[i];
    }
}

/* ---- Layout --------------------------------------------------------------- */

/* Everything about the metadata that follows from the page range alone. */
struct layout {
    unsigned depth;
    unsigned levels;
    size_t level_word[ANALLOC_MAX_LEVELS];
    size_t level_bits[ANALLOC_MAX_LEVELS];
    size_t split_word;
    size_t words; /* total, order table included */
};

/* Nodes of order k that overlap [lo, hi). */
static size_t order_nodes(uintptr_t lo, uintptr_t hi, unsigned k)
{
    return (size_t)(((hi - 1u) >> k) - (lo >> k) + 1u);
}

/*
 * An upper bound of order_nodes over every start, for an arena of n pages:
 * an interval of n pages meets at most floor((n - 2) / 2^k) + 2 aligned
 * blocks of 2^k pages (n >= 2), reached when it starts one page before an
 * aligned boundary.
 */
static size_t order_nodes_bound(size_t n, unsigned k)
{
    return n < 2u ? n : ((n - 2u) >> k) + 2u;
}

/* The largest order of an aligned block inside [lo, hi) (lo < hi). */
static unsigned max_order(uintptr_t lo, uintptr_t hi)
{
    unsigned k = 0;
    while (ANALLOC_ALWAYS(k + 1u < PFN_BITS)) { /* pages_fit() stops it sooner */
        uintptr_t size = (uintptr_t)1 << (k + 1u);
        uintptr_t start = (lo + size - 1u) & ~(size - 1u);
        /* start cannot wrap: an aligned block of half the size would have to
         * end at 2^bits, and hi < 2^bits. */
        if (ANALLOC_NEVER(start < lo) || start >= hi || hi - start < size)
            break;
        k++;
    }
    return k;
}

/*
 * Compute the layout for `depth` + 1 orders.  With n_bound == 0 the node
 * counts are exact for [lo, hi); otherwise they are the bounds for any arena
 * of n_bound pages.  Returns false if the numbers do not fit in size_t.
 */
static bool layout_compute(struct layout *L, unsigned depth, uintptr_t lo, uintptr_t hi,
                           size_t n_bound)
{
    size_t index_bits = 0;
    for (unsigned k = 0; k <= depth; k++)
        index_bits += n_bound ? order_nodes_bound(n_bound, k) : order_nodes(lo, hi, k);
    size_t split_bits = index_bits - (n_bound ? n_bound : (size_t)(hi - lo));

    size_t table_bytes = ORDER_ROW * ((size_t)depth + 2u) * sizeof(size_t);
    size_t w = (table_bytes + 7u) / 8u;
    L->depth = depth;
    L->levels = 0;
    size_t bits = index_bits;
    for (;;) {
        if (ANALLOC_NEVER(L->levels == ANALLOC_MAX_LEVELS)) /* pages_fit() rules it out */
            return false;
        L->level_word[L->levels] = w;
        L->level_bits[L->levels] = bits;
        L->levels++;
        w += words_for(bits);
        if (words_for(bits) <= 1u)
            break;
        bits = words_for(bits);
    }
    L->split_word = w;
    L->words = w + words_for(split_bits);
    return true;
}

/* Pages of an arena of `total` bytes that this target can describe. */
static bool pages_fit(size_t pages) { return pages <= SIZE_MAX / 8u; }

size_t analloc_meta_size(size_t total, size_t page)
{
    if (!is_pow2(page))
        return 0;
    size_t n = total >> log2_floor(page);
    if (n == 0)
        n = 1;
    if (!pages_fit(n))
        return 0;
    struct layout L;
    bool described = layout_compute(&L, log2_floor(n), 0, 0, n);
    if (ANALLOC_NEVER(!described))
        return 0;
    return L.words * sizeof(uint64_t) + (META_ALIGN - 1u); /* slack for any meta alignment */
}

/* The exact layout for pages [lo, hi), whose page count pages_fit(). */
static void layout_exact(uintptr_t lo, uintptr_t hi, struct layout *L)
{
    bool described = layout_compute(L, max_order(lo, hi), lo, hi, 0);
    ANALLOC_ASSERT(described);
}

/* ---- Access to the bits --------------------------------------------------- */
/* Shorthands: `s` is the engine state, `k` an order, `j` a node number
 * (absolute: first page j << k), `bit` a position in index level 0. */

#define S(a) (&(a)->internal)

static const uint64_t *level_c(const struct analloc_internal *s, unsigned l)
{
    return s->words + s->level_word[l];
}

/* The order table holds a row per order: where the order's run starts in
 * index level 0, how many free blocks the order has, and the index bit of
 * the lowest of them (the start of the next order's run if none).  The
 * row after the last order holds the end of the index and zeros. */
#define ORDER_FIRST(s, k) ((s)->orders[ORDER_ROW * (size_t)(k)])
#define ORDER_FREE(s, k) ((s)->orders[ORDER_ROW * (size_t)(k) + 1u])
#define ORDER_LOWEST(s, k) ((s)->orders[ORDER_ROW * (size_t)(k) + 2u])

static size_t order_first(const struct analloc_internal *s, unsigned k) { return ORDER_FIRST(s, k); }

static bool node_exists(const struct analloc_internal *s, unsigned k, uintptr_t j)
{
    return j >= (s->lo >> k) && j <= ((s->hi - 1u) >> k);
}

/* The node's position in index level 0 (the node must exist). */
static size_t node_bit(const struct analloc_internal *s, unsigned k, uintptr_t j)
{
    return order_first(s, k) + (size_t)(j - (s->lo >> k));
}

static bool node_free(const struct analloc_internal *s, unsigned k, uintptr_t j)
{
    return bv_test(level_c(s, 0), node_bit(s, k, j)) != 0;
}

/* Split bits exist for orders 1..D and share the index's numbering, shifted
 * by the order-0 run. */
static size_t split_pos(const struct analloc_internal *s, unsigned k, uintptr_t j)
{
    return node_bit(s, k, j) - order_first(s, 1);
}

static bool node_split(const struct analloc_internal *s, unsigned k, uintptr_t j)
{
    return k > 0 && bv_test(s->words + s->split_word, split_pos(s, k, j)) != 0;
}

static void split_set(struct analloc_internal *s, unsigned k, uintptr_t j)
{
    bv_set(s->words + s->split_word, split_pos(s, k, j));
}

static void split_clear(struct analloc_internal *s, unsigned k, uintptr_t j)
{
    bv_clear(s->words + s->split_word, split_pos(s, k, j));
}

/* ---- The index: free bits with summaries ----------------------------------- */

/* Set a bit of level 0; propagate up while a word goes from zero to nonzero.
 * (The fields are read once: on LP64 targets a store to a uint64_t word may
 * alias any size_t field, and the compiler would reload them.) */
static void index_set(struct analloc_internal *s, size_t bit)
{
    uint64_t *words = s->words;
    const size_t *at = s->level_word;
    unsigned levels = s->levels;
    for (unsigned l = 0; l < levels; l++) {
        uint64_t *w = &words[at[l] + bv_index(bit)];
        uint64_t was = *w;
        *w = was | bv_mask(bit);
        if (was != 0)
            return;
        bit = bv_index(bit);
    }
}

/* Clear a bit of level 0; propagate up while a word becomes zero. */
static void index_clear(struct analloc_internal *s, size_t bit)
{
    uint64_t *words = s->words;
    const size_t *at = s->level_word;
    unsigned levels = s->levels;
    for (unsigned l = 0; l < levels; l++) {
        uint64_t *w = &words[at[l] + bv_index(bit)];
        uint64_t now = *w & ~bv_mask(bit);
        *w = now;
        if (now != 0)
            return;
        bit = bv_index(bit);
    }
}

/* First set bit of level 0 at or after `pos`; NONE if there is none.
 * Climbs while the rest of a word is empty, then descends by first-set. */
static size_t index_next(const struct analloc_internal *s, size_t pos)
{
    const uint64_t *words = s->words;
    unsigned l = 0;
    uint64_t w;
    for (;;) {
        if (pos >= s->level_bits[l])
            return NONE; /* past the last bit of this level */
        w = words[s->level_word[l] + bv_index(pos)] & bv_mask_from(bv_bit(pos));
        if (w != 0)
            break;
        if (l + 1u == s->levels)
            return NONE;
        pos = bv_index(pos) + 1u;
        l++;
    }
    pos = pos - bv_bit(pos) + bv_ctz_word(w);
    while (l-- > 0)
        pos = pos * WORD_BITS + bv_ctz_word(words[s->level_word[l] + pos]);
    return pos;
}

/* Last set bit of level 0 at or before `pos` (a valid position); NONE if
 * there is none.  The mirror of index_next. */
static size_t index_prev(const struct analloc_internal *s, size_t pos)
{
    const uint64_t *words = s->words;
    unsigned l = 0;
    uint64_t w;
    for (;;) {
        w = words[s->level_word[l] + bv_index(pos)] & bv_mask_through(bv_bit(pos));
        if (w != 0)
            break;
        if (bv_index(pos) == 0)
            return NONE; /* nothing before (the top level is one word: the climb ends there) */
        pos = bv_index(pos) - 1u;
        l++;
    }
    pos = pos - bv_bit(pos) + bv_msb_word(w);
    while (l-- > 0)
        pos = pos * WORD_BITS + bv_msb_word(words[s->level_word[l] + pos]);
    return pos;
}

/* ---- Free lists per order, kept as index bits ------------------------------ */

static void free_insert(struct analloc_internal *s, unsigned k, uintptr_t j)
{
    size_t bit = node_bit(s, k, j);
    index_set(s, bit);
    ORDER_FREE(s, k)++;
    if (bit < ORDER_LOWEST(s, k))
        ORDER_LOWEST(s, k) = bit;
    s->free_orders |= bv_mask(k);
}

/* The lowest free block of an order is kept exact: removing it searches for
 * the next one, which is usually in the same word. */
static void free_remove(struct analloc_internal *s, unsigned k, uintptr_t j)
{
    size_t bit = node_bit(s, k, j);
    index_clear(s, bit);
    if (--ORDER_FREE(s, k) == 0) {
        s->free_orders &= ~bv_mask(k);
        ORDER_LOWEST(s, k) = ORDER_FIRST(s, k + 1u);
    } else if (bit == ORDER_LOWEST(s, k)) {
        ORDER_LOWEST(s, k) = index_next(s, bit + 1u); /* order k still has one above */
    }
}

/* ---- Blocks ---------------------------------------------------------------- */

/* Page count of an order (order <= depth, so it fits). */
static size_t pages_of(unsigned k)
{
    return (size_t)1 << k; // NOLINT(clang-analyzer-core.UndefinedBinaryOperatorResult): k <= 60
}

/*
 * Cut the order-k block at page p out of the free block (m, j) that holds
 * it (m >= k): the block leaves the free lists, and at each split the half
 * without p becomes a free block.  (k, p >> k) ends up used.
 */
static void block_carve(struct analloc_internal *s, unsigned m, uintptr_t j, unsigned k, uintptr_t p)
{
    free_remove(s, m, j);
    while (m > k) {
        split_set(s, m, j);
        m--;
        j = p >> m;
        free_insert(s, m, j ^ 1u);
    }
}

/*
 * Take a free block of order k: the lowest-addressed free block of the
 * smallest order >= k that has one, split down to k.  The halves split off
 * are the upper ones, so the result is the lowest address in that block.
 * Returns its first page, or 0 (never a valid page: lo >= 1) if none.
 */
static uintptr_t block_take(struct analloc_internal *s, unsigned k)
{
    uint64_t fits = s->free_orders & bv_mask_from(k % 64u); /* k <= depth <= 60 */
    if (fits == 0)
        return 0;
    unsigned from = bv_ctz_word(fits);
    size_t bit = ORDER_LOWEST(s, from);
    ANALLOC_ASSERT(bit >= order_first(s, from) && bit < order_first(s, from + 1u));
    uintptr_t j = (s->lo >> from) + (uintptr_t)(bit - order_first(s, from));
    block_carve(s, from, j, k, j << from);
    return j << from;
}

/*
 * Give back the block (k, j): merge with its buddy while the buddy is a free
 * block of the same order, then record the result as free.
 */
static void block_release(struct analloc_internal *s, unsigned k, uintptr_t j)
{
    while (k < s->depth) {
        uintptr_t buddy = j ^ 1u;
        if (!node_exists(s, k, buddy) || !node_free(s, k, buddy))
            break;
        free_remove(s, k, buddy);
        k++;
        j >>= 1;
        split_clear(s, k, j);
    }
    free_insert(s, k, j);
}

/* ---- The block cache -------------------------------------------------------
 * A freed block of one of the ANALLOC_CACHE_ORDERS smallest orders goes
 * first into a short list of its order, kept in the struct; the block stays
 * encoded as used in the tree (0/0 under a split parent), and the next
 * allocation of that order takes the newest block of the list: no merge on
 * free, no search and no split on alloc, and memory likely still in the
 * CPU's caches (Linux's per-CPU page lists do the same, for the same
 * orders).  Freeing into a full list first gives its oldest block back to
 * the buddy system.  Cached blocks count as free in analloc_free_bytes;
 * freeing one again is a double free, found by scanning its order's list
 * (only for blocks that look like live blocks of a cached order).  An
 * allocation that finds no block drains every list, merging, and searches
 * again, so a request fails only when no block could satisfy it with
 * everything merged.
 *
 * cache[k][0] is the oldest block of order k, cache[k][cached[k] - 1] the
 * newest.  Evicting the oldest shifts the rest down: rare next to the scan
 * that every free of a cached order makes, which stays a plain loop.
 */
_Static_assert(ANALLOC_CACHE_DEFAULT <= ANALLOC_CACHE_MAX, "default cache too large");
_Static_assert(ANALLOC_CACHE_ORDERS >= 1 && ANALLOC_CACHE_ORDERS <= 8, "cached orders: 1 to 8");

static bool cache_holds(const struct analloc_internal *s, unsigned k, uintptr_t pfn)
{
    const uintptr_t *list = s->cache[k];
    for (unsigned i = 0; i < s->cached[k]; i++)
        if (list[i] == pfn)
            return true;
    return false;
}

/* Take the newest cached block of order k (cached[k] > 0). */
static ANALLOC_INLINE uintptr_t cache_pop(struct analloc_internal *s, unsigned k)
{
    unsigned n = --s->cached[k];
    uintptr_t pfn = s->cache[k][n];
    s->cache[k][n] = 0;
    s->cached_blocks--;
    return pfn;
}

/* Keep the free block of order k at pfn in the cache (k is cached, and
 * cache_slots > 0).  A full list first gives its oldest block back. */
static void cache_push(struct analloc_internal *s, unsigned k, uintptr_t pfn)
{
    uintptr_t *list = s->cache[k];
    unsigned n = s->cached[k];
    if (n == s->cache_slots) {
        uintptr_t oldest = list[0];
        for (unsigned i = 1; i < n; i++)
            list[i - 1u] = list[i];
        list[n - 1u] = pfn;
        block_release(s, k, oldest >> k);
        return;
    }
    list[n] = pfn;
    s->cached[k] = n + 1u;
    s->cached_blocks++;
}

/* Give every cached block back to the buddy system (merging); the merged
 * state does not depend on the order. */
static void cache_drain(struct analloc_internal *s)
{
    for (unsigned k = 0; k < ANALLOC_CACHE_ORDERS; k++)
        while (s->cached[k] > 0)
            block_release(s, k, cache_pop(s, k) >> k);
}

/*
 * The order of the block that holds page pfn (lo <= pfn < hi): climb from
 * order 0 until the parent is split.  Below a block every node is 0/0, and
 * every ancestor of a block is split, so the first node whose parent is
 * split is the block.
 */
static ANALLOC_INLINE unsigned block_order(const struct analloc_internal *s, uintptr_t pfn)
{
    unsigned k = 0;
    while (k < s->depth && !node_split(s, k + 1u, pfn >> (k + 1u)))
        k++;
    return k;
}

/* ---- Reserved ranges ----------------------------------------------------------
 * analloc_reserve takes pages out of the free lists as used blocks (the
 * canonical cut of the range into aligned blocks), and records the range in
 * a small sorted table in the struct, so that a free of a pointer into it is
 * refused (ERESERVED) and analloc_release can give exactly those pages back.
 * Adjacent ranges are merged; a release may return any part of one range.
 */

/* Index of the reserved range that holds page pfn, or of the first one after
 * it (s->reserved if none): a binary search. */
static unsigned reserve_find(const struct analloc_internal *s, uintptr_t pfn)
{
    unsigned lo = 0, hi = s->reserved;
    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2u;
        if (s->reserve[mid][1] <= pfn)
            lo = mid + 1u;
        else
            hi = mid;
    }
    return lo;
}

static bool reserve_holds(const struct analloc_internal *s, uintptr_t pfn)
{
    unsigned i = reserve_find(s, pfn);
    return i < s->reserved && s->reserve[i][0] <= pfn;
}

static bool is_setup(const struct analloc *a) { return a != NULL && a->internal.magic == MAGIC; }

/*
 * Validate ptr as the start of a live block, changing nothing.  On success
 * stores the block's order and first page.  The checks run from the cheapest
 * to the one that reads the tree.
 */
static ANALLOC_INLINE int block_lookup(const struct analloc *a, const void *ptr, unsigned *order, uintptr_t *first)
{
    const struct analloc_internal *s = S(a);
    uintptr_t addr = (uintptr_t)ptr;
    if (addr >= s->reserved_lo && addr < s->reserved_hi)
        return ANALLOC_ERESERVED;
    uintptr_t pfn = addr >> s->shift;
    if (pfn < s->lo || pfn >= s->hi)
        return ANALLOC_ERANGE;
    if (s->reserved != 0 && reserve_holds(s, pfn))
        return ANALLOC_ERESERVED; /* as for the used prefix: before alignment */
    if ((addr & (a->page - 1u)) != 0)
        return ANALLOC_EALIGN;
    unsigned k = block_order(s, pfn);
    uintptr_t j = pfn >> k;
    if (node_free(s, k, j))
        return ANALLOC_EFREE;
    if (k < ANALLOC_CACHE_ORDERS && s->cached[k] != 0 && cache_holds(s, k, j << k))
        return ANALLOC_EFREE; /* in a block freed into the cache */
    if ((j << k) != pfn)
        return ANALLOC_EINTERIOR;
    *order = k;
    *first = pfn;
    return ANALLOC_OK;
}

static int report(const struct analloc *a, int error, const void *ptr)
{
    if (a->internal.hook != NULL)
        a->internal.hook(a->internal.hook_ctx, error, ptr);
    return error;
}

static void *page_ptr(const struct analloc_internal *s, uintptr_t pfn)
{
    return (void *)(pfn << s->shift);
}

/* The order that holds `size` bytes; depth + 1 if none does. */
static unsigned order_for(const struct analloc *a, size_t size)
{
    if (size <= a->page)
        return 0;
    size_t pages_minus_one = (size - 1u) >> a->internal.shift;
    unsigned k = log2_floor(pages_minus_one) + 1u;
    return k <= a->internal.depth ? k : a->internal.depth + 1u;
}

/* ---- Placed allocation: low, high, inside a range, aligned ------------------
 * A request for an order-k block at a page aligned to 2^ka (ka >= k) inside
 * the page window [w0, w1) (w0 aligned to 2^ka).  Only free blocks of order
 * >= ka are candidates: their start is aligned to 2^ka, so an aligned
 * position inside one is easy to find; a smaller free block that happens to
 * start at an aligned address is not found (that would need a scan).  The
 * lowest (for ANALLOC_HIGH the highest) position over all those orders wins:
 * placement is by address, unlike plain allocations, which take the smallest
 * fitting order first.  Per order, at most two searches of 2 * levels words:
 * O(depth * levels) in all.
 */
struct place {
    uintptr_t w0, w1; /* pages */
    unsigned k, ka;
    bool high;
};

/* The lowest (highest) position for the request in a free block of order m,
 * if any: the block's node in *node and the position in *at. */
static bool place_in_order(const struct analloc_internal *s, const struct place *q, unsigned m,
                           uintptr_t *node, uintptr_t *at)
{
    uintptr_t first_j = s->lo >> m, last_j = (s->hi - 1u) >> m;
    uintptr_t size_k = (uintptr_t)1 << q->k, align = ((uintptr_t)1 << q->ka) - 1u;
    uintptr_t edge = q->high ? (q->w1 - 1u) >> m : q->w0 >> m; /* the block at the window's edge */
    uintptr_t j = edge;
    for (;;) { /* at most twice: the second search starts past the edge block */
        size_t bit = q->high ? index_prev(s, node_bit(s, m, j)) : index_next(s, node_bit(s, m, j));
        if (bit == NONE || bit < order_first(s, m) || bit >= order_first(s, m + 1u))
            return false; /* no free block of order m on that side */
        j = (s->lo >> m) + (uintptr_t)(bit - order_first(s, m));
        uintptr_t start = j << m, end = start + ((uintptr_t)1 << m);
        uintptr_t from = start > q->w0 ? start : q->w0, to = end < q->w1 ? end : q->w1;
        if (from < to && to - from >= size_k) {
            *node = j;
            *at = q->high ? (to - size_k) & ~align : from; /* from and to - size_k >= from: aligned */
            return true;
        }
        /* Only the block at the window's edge can be cut off by it; beyond
         * it, the next block in the search's direction is the last chance. */
        if (j != edge || (q->high ? j == first_j : j == last_j))
            return false;
        j = q->high ? j - 1u : j + 1u;
    }
}

static uintptr_t block_take_placed(struct analloc_internal *s, const struct place *q)
{
    uint64_t orders = s->free_orders & bv_mask_from(q->ka % 64u); /* ka <= depth <= 60 */
    bool found = false;
    unsigned best_m = 0;
    uintptr_t best_j = 0, best_p = 0;
    while (orders != 0) {
        unsigned m = bv_ctz_word(orders);
        orders &= orders - 1u;
        uintptr_t j, p;
        if (place_in_order(s, q, m, &j, &p) && (!found || (q->high ? p > best_p : p < best_p))) {
            found = true;
            best_m = m;
            best_j = j;
            best_p = p;
        }
    }
    if (!found)
        return 0;
    block_carve(s, best_m, best_j, q->k, best_p);
    return best_p;
}

/* ---- Setup ----------------------------------------------------------------- */

/*
 * Take over pages [lo, hi) with metadata at `meta` (8-byte aligned, large
 * enough for the exact layout).  All arguments are valid: nothing can fail.
 * Writes the metadata and *a, and nothing else.
 */
static void setup(struct analloc *a, unsigned shift, uintptr_t lo, uintptr_t hi,
                  const struct layout *L, uint64_t *meta, uintptr_t reserved_lo,
                  uintptr_t reserved_hi)
{
    struct analloc_internal *s = S(a);
    unsigned char *bytes = (unsigned char *)a; /* padding too: snapshots compare bytes */
    for (size_t i = 0; i < sizeof *a; i++) {
        ANALLOC_OPAQUE(bytes);
        bytes[i] = 0;
    }
    s->magic = 0;
    s->shift = shift;
    s->depth = L->depth;
    s->levels = L->levels;
    s->lo = lo;
    s->hi = hi;
    s->words = meta;
    s->orders = (size_t *)(void *)meta;
    for (unsigned l = 0; l < ANALLOC_MAX_LEVELS; l++) {
        s->level_word[l] = l < L->levels ? L->level_word[l] : 0;
        s->level_bits[l] = l < L->levels ? L->level_bits[l] : 0;
    }
    s->split_word = L->split_word;
    s->meta_bytes = L->words * sizeof(uint64_t);
    s->free_orders = 0;
    s->free_pages = (size_t)(hi - lo);
    s->live_blocks = 0;
    s->reserved_lo = reserved_lo;
    s->reserved_hi = reserved_hi;
    s->hook = NULL;
    s->hook_ctx = NULL;
    s->reserved = 0;
    s->reserved_pages = 0;
    for (unsigned i = 0; i < ANALLOC_RESERVE_MAX; i++)
        s->reserve[i][0] = s->reserve[i][1] = 0;
    s->lock = NULL;
    s->unlock = NULL;
    s->lock_ctx = NULL;
    s->poison = 0;
    s->cache_slots = ANALLOC_CACHE_DEFAULT;
    s->cached_blocks = 0;
    for (unsigned k = 0; k < ANALLOC_CACHE_ORDERS; k++) {
        s->cached[k] = 0;
        for (unsigned i = 0; i < ANALLOC_CACHE_MAX; i++)
            s->cache[k][i] = 0;
    }

    words_zero(meta, L->words);
    size_t first = 0;
    for (unsigned k = 0; k <= L->depth; k++) {
        ORDER_FIRST(s, k) = first;
        first += order_nodes(lo, hi, k);
        ORDER_LOWEST(s, k) = first; /* no free block yet */
    }
    ORDER_FIRST(s, L->depth + 1u) = first;

    /* Cut [lo, hi) greedily into the largest aligned blocks; their ancestors
     * are the edge nodes, permanently split. */
    for (uintptr_t p = lo; p < hi;) {
        unsigned k = bv_ctz_word(p);
        if (k > L->depth)
            k = L->depth;
        if (log2_floor(hi - p) < k)
            k = log2_floor(hi - p);
        free_insert(s, k, p >> k);
        for (unsigned up = k + 1u; up <= L->depth; up++)
            split_set(s, up, p >> up);
        p += (uintptr_t)1 << k;
    }

    a->page = (size_t)1 << shift;
    a->depth = L->depth;
    a->managed = (size_t)(hi - lo) << shift;
    a->start = page_ptr(s, lo);
    s->magic = MAGIC;
}

/* Does the allocator's struct overlap [lo, hi)?  Setup would then write
 * over the struct it is filling in (or hand its memory out). */
static bool struct_overlaps(const struct analloc *a, uintptr_t lo, uintptr_t hi)
{
    uintptr_t sa = (uintptr_t)a;
    return sa < hi && lo < sa + sizeof *a;
}

int analloc_init(analloc_t a, void *base, size_t total, size_t page, void *meta, size_t meta_size)
{
    if (a == NULL || meta == NULL || !is_pow2(page))
        return ANALLOC_EINVAL;
    uintptr_t b = (uintptr_t)base, m = (uintptr_t)meta;
    if (b + total < b || m + meta_size < m)
        return ANALLOC_EINVAL;
    size_t need = analloc_meta_size(total, page);
    if (need == 0)
        return ANALLOC_EINVAL;
    if (meta_size < need)
        return ANALLOC_ETOOSMALL;
    if (total != 0 && m < b + total && b < m + meta_size)
        return ANALLOC_EOVERLAP;
    if (struct_overlaps(a, m, m + meta_size) || struct_overlaps(a, b, b + total))
        return ANALLOC_EOVERLAP;
    unsigned shift = log2_floor(page);
    uintptr_t lo = (b >> shift) + ((b & (page - 1u)) != 0);
    uintptr_t hi = (b + total) >> shift;
    if (lo == 0)
        lo = 1; /* the page at address 0 would read as NULL */
    if (lo >= hi)
        return ANALLOC_ETOOSMALL;
    struct layout L;
    layout_exact(lo, hi, &L); /* fits: analloc_meta_size() described more */
    uint64_t *words = (uint64_t *)(void *)((m + META_ALIGN - 1u) & ~(uintptr_t)(META_ALIGN - 1u));
    setup(a, shift, lo, hi, &L, words, m, m + meta_size);
    return ANALLOC_OK;
}

/* Does the metadata for pages [lo, hi), placed at meta, end before page lo? */
static bool meta_fits_before(uintptr_t meta, uintptr_t lo, uintptr_t hi, unsigned shift,
                             struct layout *L)
{
    layout_exact(lo, hi, L);
    return meta + L->words * sizeof(uint64_t) <= (lo << shift);
}

int analloc_with_chunk(analloc_t a, void *chunk, size_t total, size_t used, size_t page)
{
    if (a == NULL || chunk == NULL || !is_pow2(page) || used > total)
        return ANALLOC_EINVAL;
    uintptr_t b = (uintptr_t)chunk, end = b + total;
    if (end < b)
        return ANALLOC_EINVAL;
    uintptr_t meta = (b + used + META_ALIGN - 1u) & ~(uintptr_t)(META_ALIGN - 1u);
    if (meta < b || meta >= end)
        return ANALLOC_ETOOSMALL;
    unsigned shift = log2_floor(page);
    uintptr_t lo = ((meta - 1u) >> shift) + 1u; /* the first page that starts at or after meta */
    uintptr_t hi = end >> shift;
    if (lo >= hi)
        return ANALLOC_ETOOSMALL;
    if (!pages_fit((size_t)(hi - lo)))
        return ANALLOC_EINVAL;
    struct layout L;
    if (!meta_fits_before(meta, hi - 1u, hi, shift, &L))
        return ANALLOC_ETOOSMALL; /* not even for the last page alone */
    /* The arena starts at the lowest page whose metadata ends before it.  Fewer
     * pages never need more metadata, so "fits" is monotone in lo: bisect. */
    uintptr_t first = hi - 1u;
    while (lo < first) {
        uintptr_t mid = lo + (first - lo) / 2u;
        if (meta_fits_before(meta, mid, hi, shift, &L))
            first = mid;
        else
            lo = mid + 1u;
    }
    if (struct_overlaps(a, meta, end))
        return ANALLOC_EOVERLAP;
    layout_exact(first, hi, &L);
    setup(a, shift, first, hi, &L, (uint64_t *)meta, b, first << shift);
    return ANALLOC_OK;
}

/* ---- Locking and debug aids ---------------------------------------------------
 * The engine is single-threaded; every public call that reads or changes an
 * allocator's state after setup runs between the caller's lock and unlock
 * hooks (analloc_set_lock) when they are set, in one section.  Calls refused
 * on their arguments alone read only what setup fixed, and take no lock.  The error hook, the walk callback
 * and the dump's output function run inside that section.
 */
static void lock(const struct analloc *a)
{
    if (a->internal.lock != NULL)
        a->internal.lock(a->internal.lock_ctx);
}

static void unlock(const struct analloc *a)
{
    if (a->internal.unlock != NULL)
        a->internal.unlock(a->internal.lock_ctx);
}

/* Fill n bytes with c.  Not a memset call: see ANALLOC_OPAQUE. */
static void bytes_fill(void *dst, unsigned char c, size_t n)
{
    unsigned char *d = dst;
    for (size_t i = 0; i < n; i++) {
        ANALLOC_OPAQUE(d);
        d[i] = c;
    }
}

#define DEBUG_FLAGS (ANALLOC_DEBUG_POISON_FREE | ANALLOC_DEBUG_POISON_FRESH | ANALLOC_DEBUG_ANNOTATE)
#define POISON_FREE_BYTE(s) ((unsigned char)((s)->poison >> 8))
#define POISON_FRESH_BYTE(s) ((unsigned char)((s)->poison >> 16))

/* Pages [pfn, pfn + n) have just become free (freed, or the tail of a
 * shrink): poison them, then tell the sanitizer. */
static void pages_freed(const struct analloc_internal *s, uintptr_t pfn, size_t n)
{
    if (s->poison == 0)
        return;
    void *p = (void *)(pfn << s->shift);
    size_t bytes = n << s->shift;
    if (s->poison & ANALLOC_DEBUG_POISON_FREE)
        bytes_fill(p, POISON_FREE_BYTE(s), bytes);
    if (s->poison & ANALLOC_DEBUG_ANNOTATE)
        ANALLOC_ANNOTATE_FREE(p, bytes);
}

/* Pages [pfn, pfn + n) are about to be handed out. */
static void pages_fresh(const struct analloc_internal *s, uintptr_t pfn, size_t n)
{
    if (s->poison == 0)
        return;
    void *p = (void *)(pfn << s->shift);
    size_t bytes = n << s->shift;
    if (s->poison & ANALLOC_DEBUG_ANNOTATE)
        ANALLOC_ANNOTATE_USE(p, bytes);
    if (s->poison & ANALLOC_DEBUG_POISON_FRESH)
        bytes_fill(p, POISON_FRESH_BYTE(s), bytes);
}

/* ---- Allocation ------------------------------------------------------------ */

static ANALLOC_INLINE void *alloc_locked(struct analloc *a, size_t size)
{
    struct analloc_internal *s = S(a);
    unsigned k = order_for(a, size);
    if (k > s->depth)
        return NULL;
    uintptr_t pfn;
    if (k < ANALLOC_CACHE_ORDERS && s->cached[k] != 0) {
        pfn = cache_pop(s, k);
    } else {
        pfn = block_take(s, k);
        if (pfn == 0 && s->cached_blocks != 0) {
            cache_drain(s);
            pfn = block_take(s, k);
        }
        if (pfn == 0)
            return NULL;
    }
    s->free_pages -= pages_of(k);
    s->live_blocks++;
    pages_fresh(s, pfn, pages_of(k));
    return page_ptr(s, pfn);
}

void *analloc_alloc(analloc_t a, size_t size)
{
    if (!is_setup(a))
        return NULL;
    lock(a);
    void *p = alloc_locked(a, size);
    unlock(a);
    return p;
}

void *analloc_alloc_range(analloc_t a, size_t size, size_t align, uintptr_t lo, uintptr_t hi,
                          unsigned flags)
{
    if (!is_setup(a) || (flags & ~(unsigned)(ANALLOC_LOW | ANALLOC_HIGH)) != 0 ||
        flags == (ANALLOC_LOW | ANALLOC_HIGH) || (align != 0 && !is_pow2(align)) || lo >= hi)
        return NULL;
    struct analloc_internal *s = S(a);
    struct place q;
    q.k = order_for(a, size);
    if (q.k > s->depth)
        return NULL;
    q.ka = q.k;
    if (align > (a->page << q.k)) { /* aligned beyond the block's size */
        q.ka = log2_floor(align) - s->shift;
        if (q.ka > s->depth)
            return NULL; /* no block of the arena has that alignment */
    }
    q.high = (flags & ANALLOC_HIGH) != 0;
    /* The window: whole pages inside [lo, hi) and the arena; its start
     * aligned up to 2^ka (which cannot wrap: the arena's pages end below). */
    uintptr_t w0 = (lo >> s->shift) + ((lo & (a->page - 1u)) != 0);
    uintptr_t w1 = hi >> s->shift;
    if (w0 < s->lo)
        w0 = s->lo;
    if (w1 > s->hi)
        w1 = s->hi;
    if (w0 >= w1)
        return NULL;
    uintptr_t pad = ((uintptr_t)0 - w0) & (uintptr_t)(pages_of(q.ka) - 1u); /* to the alignment */
    if (pad >= w1 - w0 || w1 - w0 - pad < pages_of(q.k))
        return NULL; /* (w0 + pad cannot wrap: it stays below w1) */
    w0 += pad;
    q.w0 = w0;
    q.w1 = w1;
    lock(a);
    uintptr_t pfn = block_take_placed(s, &q);
    if (pfn == 0 && s->cached_blocks != 0) {
        cache_drain(s);
        pfn = block_take_placed(s, &q);
    }
    void *p = NULL;
    if (pfn != 0) {
        s->free_pages -= pages_of(q.k);
        s->live_blocks++;
        pages_fresh(s, pfn, pages_of(q.k));
        p = page_ptr(s, pfn);
    }
    unlock(a);
    return p;
}

void *analloc_alloc_flags(analloc_t a, size_t size, unsigned flags)
{
    return flags == 0 ? analloc_alloc(a, size)
                      : analloc_alloc_range(a, size, 0, 0, UINTPTR_MAX, flags);
}

void *analloc_alloc_aligned(analloc_t a, size_t size, size_t align, unsigned flags)
{
    return analloc_alloc_range(a, size, align, 0, UINTPTR_MAX, flags);
}

int analloc_free(analloc_t a, void *ptr)
{
    if (!is_setup(a))
        return ANALLOC_EINVAL;
    if (ptr == NULL)
        return ANALLOC_OK;
    lock(a);
    unsigned k;
    uintptr_t pfn;
    int err = block_lookup(a, ptr, &k, &pfn);
    if (err != ANALLOC_OK) {
        report(a, err, ptr);
        unlock(a);
        return err;
    }
    struct analloc_internal *s = S(a);
    pages_freed(s, pfn, pages_of(k));
    if (k < ANALLOC_CACHE_ORDERS && s->cache_slots != 0)
        cache_push(s, k, pfn);
    else
        block_release(s, k, pfn >> k);
    s->free_pages += pages_of(k);
    s->live_blocks--;
    unlock(a);
    return ANALLOC_OK;
}

size_t analloc_mem_size(analloc_t a, const void *ptr)
{
    if (!is_setup(a) || ptr == NULL)
        return 0;
    unsigned k;
    uintptr_t pfn;
    lock(a);
    int err = block_lookup(a, ptr, &k, &pfn);
    unlock(a);
    return err == ANALLOC_OK ? a->page << k : 0;
}

/* Shrink the live block at pfn from order k to order to (< k) in place: the
 * upper halves become free blocks.  Their buddies are the lower halves, which
 * stay in use, so nothing merges. */
static void block_shrink(struct analloc_internal *s, uintptr_t pfn, unsigned k, unsigned to)
{
    for (; k > to; k--) {
        split_set(s, k, pfn >> k);
        free_insert(s, k - 1u, (pfn >> (k - 1u)) + 1u);
    }
}

/*
 * Grow the live block at pfn from order k to order to (> k) in place, if pfn
 * is aligned to the new size and each buddy that follows is a free block of
 * its order.  (Such a buddy cannot be part of a larger free block: its parent
 * holds our block and is split.)  Returns false, changing nothing, otherwise.
 */
static bool block_grow(struct analloc_internal *s, uintptr_t pfn, unsigned k, unsigned to)
{
    ANALLOC_ASSERT(to <= s->depth);
    if (((pfn >> to) << to) != pfn)
        return false;
    for (unsigned i = k; i < to; i++) {
        uintptr_t next = (pfn >> i) + 1u;
        if (!node_exists(s, i, next) || !node_free(s, i, next))
            return false;
    }
    for (unsigned i = k; i < to; i++) {
        free_remove(s, i, (pfn >> i) + 1u);
        split_clear(s, i + 1u, pfn >> (i + 1u));
    }
    return true;
}

static void *realloc_locked(struct analloc *a, void *ptr, size_t size)
{
    struct analloc_internal *s = S(a);
    unsigned k;
    uintptr_t pfn;
    int err = block_lookup(a, ptr, &k, &pfn);
    if (err != ANALLOC_OK) {
        report(a, err, ptr);
        return NULL;
    }
    unsigned to = order_for(a, size);
    if (to > s->depth)
        return NULL;
    if (to <= k) {
        block_shrink(s, pfn, k, to);
        s->free_pages += pages_of(k) - pages_of(to);
        pages_freed(s, pfn + pages_of(to), pages_of(k) - pages_of(to));
        return ptr;
    }
    /* A cached block looks used to block_grow: drain and try once more. */
    bool grown = block_grow(s, pfn, k, to);
    if (!grown && s->cached_blocks != 0) {
        cache_drain(s);
        grown = block_grow(s, pfn, k, to);
    }
    if (grown) {
        s->free_pages -= pages_of(to) - pages_of(k);
        pages_fresh(s, pfn + pages_of(k), pages_of(to) - pages_of(k));
        return ptr;
    }
    void *moved = alloc_locked(a, size);
    if (moved == NULL)
        return NULL;
    bytes_copy(moved, ptr, a->page << k);
    pages_freed(s, pfn, pages_of(k));
    block_release(s, k, pfn >> k);
    s->free_pages += pages_of(k);
    s->live_blocks--;
    return moved;
}

void *analloc_realloc(analloc_t a, void *ptr, size_t size)
{
    if (ptr == NULL)
        return analloc_alloc(a, size);
    if (!is_setup(a))
        return NULL;
    lock(a);
    void *p = realloc_locked(a, ptr, size);
    unlock(a);
    return p;
}

/* ---- Reserving and releasing ranges ---------------------------------------- */

/* Pages that [addr, addr + size) touches: [*r0, *r1), inside the arena. */
static int page_range(const struct analloc *a, uintptr_t addr, size_t size, uintptr_t *r0,
                      uintptr_t *r1)
{
    const struct analloc_internal *s = S(a);
    if (size == 0 || addr + size < addr) /* also catches a range ending at 2^bits */
        return ANALLOC_EINVAL;
    *r0 = addr >> s->shift;
    *r1 = ((addr + size - 1u) >> s->shift) + 1u;
    if (*r0 < s->lo || *r1 > s->hi)
        return ANALLOC_ERANGE;
    return ANALLOC_OK;
}

/* Remove entry i of the reserved-range table. */
static void reserve_remove(struct analloc_internal *s, unsigned i)
{
    for (; i + 1u < s->reserved; i++) {
        s->reserve[i][0] = s->reserve[i + 1u][0];
        s->reserve[i][1] = s->reserve[i + 1u][1];
    }
    s->reserved--;
    s->reserve[s->reserved][0] = s->reserve[s->reserved][1] = 0;
}

/* Insert [r0, r1) as entry i (the table has room). */
static void reserve_insert(struct analloc_internal *s, unsigned i, uintptr_t r0, uintptr_t r1)
{
    for (unsigned t = s->reserved; t > i; t--) {
        s->reserve[t][0] = s->reserve[t - 1u][0];
        s->reserve[t][1] = s->reserve[t - 1u][1];
    }
    s->reserve[i][0] = r0;
    s->reserve[i][1] = r1;
    s->reserved++;
}

/* The order of the largest aligned block that starts at p (>= lo >= 1) and
 * ends by r1. */
static unsigned cut_order(uintptr_t p, uintptr_t r1)
{
    unsigned k = bv_ctz_word(p);
    unsigned room = log2_floor(r1 - p);
    return k < room ? k : room;
}

int analloc_reserve(analloc_t a, uintptr_t addr, size_t size)
{
    if (!is_setup(a))
        return ANALLOC_EINVAL;
    struct analloc_internal *s = S(a);
    uintptr_t r0, r1;
    int err = page_range(a, addr, size, &r0, &r1);
    if (err != ANALLOC_OK)
        return err;
    lock(a);
    /* Every page must be free, in the buddy system or in the cache. */
    bool in_cache = false;
    for (uintptr_t p = r0; p < r1;) {
        unsigned k = block_order(s, p);
        uintptr_t j = p >> k;
        if (node_free(s, k, j)) {
        } else if (k < ANALLOC_CACHE_ORDERS && s->cached[k] != 0 && cache_holds(s, k, j << k)) {
            in_cache = true;
        } else {
            unlock(a);
            return ANALLOC_EBUSY; /* allocated, or reserved already */
        }
        p = (j + 1u) << k;
    }
    /* The table: the new range merges with neighbours that touch it. */
    unsigned i = reserve_find(s, r0 - 1u); /* r0 >= lo >= 1 */
    bool joins_prev = i < s->reserved && s->reserve[i][1] == r0;
    unsigned next = joins_prev ? i + 1u : i;
    bool joins_next = next < s->reserved && s->reserve[next][0] == r1;
    if (!joins_prev && !joins_next && s->reserved == ANALLOC_RESERVE_MAX) {
        unlock(a);
        return ANALLOC_ELIMIT;
    }
    if (in_cache)
        cache_drain(s);
    for (uintptr_t p = r0; p < r1;) { /* the canonical cut, block by block */
        unsigned k = cut_order(p, r1);
        unsigned m = block_order(s, p); /* the free block that holds p */
        block_carve(s, m, p >> m, k, p);
        p += pages_of(k);
    }
    if (joins_prev && joins_next) { /* one range from three */
        s->reserve[i][1] = s->reserve[i + 1u][1];
        reserve_remove(s, i + 1u);
    } else if (joins_prev) {
        s->reserve[i][1] = r1;
    } else if (joins_next) {
        s->reserve[next][0] = r0;
    } else {
        reserve_insert(s, i, r0, r1);
    }
    s->free_pages -= (size_t)(r1 - r0);
    s->reserved_pages += (size_t)(r1 - r0);
#if ANALLOC_CAN_ANNOTATE
    if (s->poison & ANALLOC_DEBUG_ANNOTATE) /* no longer free memory: the caller's again */
        ANALLOC_ANNOTATE_USE(page_ptr(s, r0), (size_t)(r1 - r0) << s->shift);
#endif
    unlock(a);
    return ANALLOC_OK;
}

int analloc_release(analloc_t a, uintptr_t addr, size_t size)
{
    if (!is_setup(a))
        return ANALLOC_EINVAL;
    struct analloc_internal *s = S(a);
    uintptr_t r0, r1;
    int err = page_range(a, addr, size, &r0, &r1);
    if (err != ANALLOC_OK)
        return err;
    lock(a);
    unsigned i = reserve_find(s, r0);
    if (i == s->reserved || s->reserve[i][0] > r0 || s->reserve[i][1] < r1) {
        unlock(a);
        return ANALLOC_ENOTRESERVED; /* not wholly inside one reserved range */
    }
    uintptr_t e0 = s->reserve[i][0], e1 = s->reserve[i][1];
    if (e0 < r0 && r1 < e1 && s->reserved == ANALLOC_RESERVE_MAX) {
        unlock(a);
        return ANALLOC_ELIMIT; /* the range would become two */
    }
    /* The reserved pages are used blocks inside [e0, e1): free those inside
     * [r0, r1), splitting the ones that straddle its ends. */
    for (uintptr_t p = r0; p < r1;) {
        unsigned k = block_order(s, p);
        uintptr_t first = (p >> k) << k;
        if (first < r0 || first + pages_of(k) > r1) {
            split_set(s, k, p >> k); /* both halves become used blocks */
            continue;
        }
        block_release(s, k, p >> k);
        p = first + pages_of(k);
    }
    if (e0 == r0 && e1 == r1) {
        reserve_remove(s, i);
    } else if (e0 == r0) {
        s->reserve[i][0] = r1;
    } else if (e1 == r1) {
        s->reserve[i][1] = r0;
    } else { /* the middle: two ranges from one */
        s->reserve[i][1] = r0;
        reserve_insert(s, i + 1u, r1, e1);
    }
    s->free_pages += (size_t)(r1 - r0);
    s->reserved_pages -= (size_t)(r1 - r0);
#if ANALLOC_CAN_ANNOTATE
    if (s->poison & ANALLOC_DEBUG_ANNOTATE) /* never filled: it may not be RAM yet */
        ANALLOC_ANNOTATE_FREE(page_ptr(s, r0), (size_t)(r1 - r0) << s->shift);
#endif
    unlock(a);
    return ANALLOC_OK;
}

/* ---- Statistics, walking, hooks ---------------------------------------------- */

size_t analloc_free_bytes(analloc_t a)
{
    if (!is_setup(a))
        return 0;
    lock(a);
    size_t bytes = a->internal.free_pages << a->internal.shift;
    unlock(a);
    return bytes;
}

/* The largest free block in the buddy system, cached blocks not merged
 * (and not counted). */
static size_t largest_merged(const struct analloc *a)
{
    uint64_t orders = a->internal.free_orders;
    return orders == 0 ? 0 : a->page << bv_msb_word(orders);
}

size_t analloc_largest_free(analloc_t a)
{
    if (!is_setup(a))
        return 0;
    lock(a);
    cache_drain(S(a)); /* merged, cached blocks may form a larger block */
    size_t bytes = largest_merged(a);
    unlock(a);
    return bytes;
}

void analloc_drain(analloc_t a)
{
    if (!is_setup(a))
        return;
    lock(a);
    cache_drain(S(a));
    unlock(a);
}

int analloc_set_cache(analloc_t a, unsigned slots)
{
    if (!is_setup(a) || slots > ANALLOC_CACHE_MAX)
        return ANALLOC_EINVAL;
    lock(a);
    cache_drain(S(a));
    a->internal.cache_slots = slots;
    unlock(a);
    return ANALLOC_OK;
}

size_t analloc_meta_bytes(analloc_t a)
{
    return is_setup(a) ? a->internal.meta_bytes : 0;
}

int analloc_stats(analloc_t a, struct analloc_stats *st)
{
    if (!is_setup(a) || st == NULL || st->size < sizeof st->size)
        return ANALLOC_EINVAL;
    const struct analloc_internal *s = S(a);
    struct analloc_stats out;
    unsigned char *z = (unsigned char *)&out; /* zeroed without a memset call */
    for (size_t i = 0; i < sizeof out; i++) {
        ANALLOC_OPAQUE(z);
        z[i] = 0;
    }
    lock(a);
    size_t cached_pages = 0;
    for (unsigned k = 0; k < ANALLOC_CACHE_ORDERS; k++) {
        out.cached_blocks_of_order[k] = s->cached[k];
        cached_pages += (size_t)s->cached[k] << k;
    }
    for (unsigned k = 0; k <= s->depth; k++)
        out.free_blocks_of_order[k] = ORDER_FREE(s, k);
    out.page = a->page;
    out.depth = s->depth;
    out.managed_bytes = a->managed;
    out.free_bytes = s->free_pages << s->shift;
    out.cached_bytes = cached_pages << s->shift;
    out.reserved_bytes = s->reserved_pages << s->shift;
    out.used_bytes = a->managed - out.free_bytes - out.reserved_bytes;
    out.live_blocks = s->live_blocks;
    out.cached_blocks = s->cached_blocks;
    out.reserved_ranges = s->reserved;
    out.largest_free = largest_merged(a);
    out.meta_bytes = s->meta_bytes;
    unlock(a);
    size_t n = st->size < sizeof out ? st->size : sizeof out;
    out.size = n;
    bytes_copy(st, &out, n);
    return ANALLOC_OK;
}

int analloc_frag_index(analloc_t a, unsigned order)
{
    if (!is_setup(a) || order > a->internal.depth)
        return ANALLOC_EINVAL;
    const struct analloc_internal *s = S(a);
    lock(a);
    /* Free blocks as they are: the buddy system's and the cached ones. */
    uint64_t blocks = 0, suitable = 0;
    for (unsigned k = 0; k <= s->depth; k++) {
        uint64_t n = ORDER_FREE(s, k) + (k < ANALLOC_CACHE_ORDERS ? s->cached[k] : 0u);
        blocks += n;
        if (k >= order)
            suitable += n;
    }
    uint64_t free_pages = s->free_pages;
    unlock(a);
    if (blocks == 0)
        return 0; /* nothing free: no fragmentation to speak of (Linux's answer) */
    if (suitable != 0)
        return -1000; /* a request of this order succeeds */
    /* 1000 - (1000 + 1000 * free_pages / 2^order) / blocks, as Linux's
     * __fragmentation_index, clamped at 0: with less memory free than the
     * request, Linux's value dips below 0 (down to -1000 * 2^j / 2^order for
     * one free block of 2^j pages); the clamp keeps "lack of memory" at 0
     * and every result apart from the error codes.  64-bit divisions by
     * shifts and subtraction (divmod64): 32-bit targets need no libgcc. */
    uint64_t rem;
    uint64_t per = divmod64(1000u + ((free_pages * 1000u) >> order), blocks, &rem);
    return per >= 1000u ? 0 : (int)(1000u - per);
}

static int walk_locked(const struct analloc *a, unsigned kinds, analloc_walk_fn fn, void *ctx)
{
    const struct analloc_internal *s = S(a);
    int rc = 0;
    unsigned r = 0;
    for (uintptr_t p = s->lo; p < s->hi && rc == 0;) {
        if (r < s->reserved && p == s->reserve[r][0]) {
            uintptr_t end = s->reserve[r++][1];
            if (kinds & ANALLOC_BLOCK_RESERVED)
                rc = fn(ctx, page_ptr(s, p), (size_t)(end - p) << s->shift, ANALLOC_BLOCK_RESERVED);
            p = end;
            continue;
        }
        unsigned k = block_order(s, p);
        unsigned kind = node_free(s, k, p >> k) ? ANALLOC_BLOCK_FREE
                        : k < ANALLOC_CACHE_ORDERS && s->cached[k] != 0 && cache_holds(s, k, p)
                            ? ANALLOC_BLOCK_CACHED
                            : ANALLOC_BLOCK_USED;
        if (kinds & kind)
            rc = fn(ctx, page_ptr(s, p), a->page << k, kind);
        p += pages_of(k);
    }
    return rc;
}

int analloc_walk(analloc_t a, unsigned kinds, analloc_walk_fn fn, void *ctx)
{
    if (!is_setup(a) || fn == NULL || (kinds & ~(unsigned)ANALLOC_BLOCK_ALL) != 0)
        return ANALLOC_EINVAL;
    lock(a);
    int rc = walk_locked(a, kinds, fn, ctx);
    unlock(a);
    return rc;
}

int analloc_set_lock(analloc_t a, analloc_lock_fn lock_fn, analloc_lock_fn unlock_fn, void *ctx)
{
    if (!is_setup(a) || (lock_fn == NULL) != (unlock_fn == NULL))
        return ANALLOC_EINVAL;
    a->internal.lock = lock_fn;
    a->internal.unlock = unlock_fn;
    a->internal.lock_ctx = ctx;
    return ANALLOC_OK;
}

#if ANALLOC_CAN_ANNOTATE
/* Tell the sanitizer that every free (or cached) block is off limits, or,
 * with `on` false, that it is addressable again. */
static int annotate_free(void *ctx, void *block, size_t bytes, unsigned kind)
{
    (void)kind;
    if (*(const bool *)ctx)
        ANALLOC_ANNOTATE_FREE(block, bytes);
    else
        ANALLOC_ANNOTATE_USE(block, bytes);
    return 0;
}
#endif

int analloc_set_debug(analloc_t a, unsigned flags, unsigned char free_byte, unsigned char fresh_byte)
{
    if (!is_setup(a) || (flags & ~(unsigned)DEBUG_FLAGS) != 0 ||
        ((flags & ANALLOC_DEBUG_ANNOTATE) != 0 && !ANALLOC_CAN_ANNOTATE))
        return ANALLOC_EINVAL;
    struct analloc_internal *s = S(a);
    lock(a); /* one section: no allocation sees free memory half annotated */
#if ANALLOC_CAN_ANNOTATE
    bool was = (s->poison & ANALLOC_DEBUG_ANNOTATE) != 0, now = (flags & ANALLOC_DEBUG_ANNOTATE) != 0;
    if (was != now) /* free memory changes side */
        (void)walk_locked(a, ANALLOC_BLOCK_FREE | ANALLOC_BLOCK_CACHED, annotate_free, &now);
#endif
    s->poison = flags == 0 ? 0 : flags | (unsigned)free_byte << 8 | (unsigned)fresh_byte << 16;
    unlock(a);
    return ANALLOC_OK;
}

void analloc_set_error_hook(analloc_t a, analloc_error_hook hook, void *ctx)
{
    if (!is_setup(a))
        return;
    lock(a);
    a->internal.hook = hook;
    a->internal.hook_ctx = ctx;
    unlock(a);
}

const char *analloc_strerror(int error)
{
    switch (error) {
    case ANALLOC_OK: return "success";
    case ANALLOC_EINVAL: return "invalid argument";
    case ANALLOC_ETOOSMALL: return "chunk or metadata buffer too small";
    case ANALLOC_EOVERLAP: return "metadata buffer overlaps the managed range";
    case ANALLOC_ERANGE: return "pointer outside the managed range";
    case ANALLOC_ERESERVED: return "pointer in the used prefix, the metadata or a reserved range";
    case ANALLOC_EALIGN: return "pointer not aligned to a page";
    case ANALLOC_EINTERIOR: return "pointer inside a live block, not at its start";
    case ANALLOC_EFREE: return "pointer to free memory (double free?)";
    case ANALLOC_ECORRUPT: return "metadata corrupt";
    case ANALLOC_EBUSY: return "range holds allocated or reserved pages";
    case ANALLOC_ENOTRESERVED: return "range holds pages that are not reserved";
    case ANALLOC_ELIMIT: return "too many reserved ranges";
    default: return "unknown error";
    }
}

/* ---- Checking ------------------------------------------------------------- */

/* True if the bits past `bits` in the last word of a vector are all zero. */
static bool padding_clear(const uint64_t *v, size_t bits)
{
    return bits % WORD_BITS == 0 || (v[bits / WORD_BITS] & bv_mask_from(bits % WORD_BITS)) == 0;
}

/* Does node (k, j) straddle an edge of the arena? */
static bool node_on_edge(const struct analloc_internal *s, unsigned k, uintptr_t j)
{
    uintptr_t first = j << k, last = first + (((uintptr_t)1 << k) - 1u);
    return first < s->lo || last >= s->hi;
}

#define CORRUPT_IF(cond)                                                     \
    do {                                                                     \
        if (cond)                                                            \
            return ANALLOC_ECORRUPT;                                         \
    } while (0)

/* The layout, the order table, the padding and the summary levels. */
static int check_structure(const struct analloc *a)
{
    const struct analloc_internal *s = S(a);
    struct layout L;
    CORRUPT_IF(s->lo == 0 || s->lo >= s->hi || !pages_fit((size_t)(s->hi - s->lo)));
    layout_exact(s->lo, s->hi, &L);
    CORRUPT_IF(a->page != (size_t)1 << s->shift || a->depth != s->depth ||
               a->managed != (size_t)(s->hi - s->lo) << s->shift || a->start != page_ptr(s, s->lo));
    CORRUPT_IF(L.depth != s->depth || L.levels != s->levels || L.split_word != s->split_word ||
               L.words * sizeof(uint64_t) != s->meta_bytes);
    for (unsigned l = 0; l < s->levels; l++)
        CORRUPT_IF(L.level_word[l] != s->level_word[l] || L.level_bits[l] != s->level_bits[l]);
    size_t first = 0;
    for (unsigned k = 0; k <= s->depth; k++) {
        CORRUPT_IF(ORDER_FIRST(s, k) != first);
        first += order_nodes(s->lo, s->hi, k);
    }
    CORRUPT_IF(ORDER_FIRST(s, s->depth + 1u) != first);
    CORRUPT_IF(ORDER_FREE(s, s->depth + 1u) != 0 || ORDER_LOWEST(s, s->depth + 1u) != 0);
    for (unsigned l = 0; l < s->levels; l++) {
        CORRUPT_IF(!padding_clear(level_c(s, l), s->level_bits[l]));
        for (size_t b = 0; l > 0 && b < s->level_bits[l]; b++)
            CORRUPT_IF((bv_test(level_c(s, l), b) != 0) != (level_c(s, l - 1u)[b] != 0));
    }
    CORRUPT_IF(!padding_clear(s->words + s->split_word, first - order_nodes(s->lo, s->hi, 0)));
    /* depth <= 60: pages_fit() bounds the arena. */
    CORRUPT_IF((s->free_orders & bv_mask_from(s->depth + 1u)) != 0);
    return ANALLOC_OK;
}

/* Every node against the encoding, its parent and its buddy; the counters. */
static int check_tree(const struct analloc_internal *s, size_t reserved_blocks)
{
    size_t live = 0, live_pages = 0, free_pages = 0;
    for (unsigned k = s->depth + 1u; k-- > 0;) {
        size_t nfree = 0, lowest = order_first(s, k + 1u);
        for (uintptr_t j = s->lo >> k; j <= (s->hi - 1u) >> k; j++) {
            bool free = node_free(s, k, j), split = node_split(s, k, j);
            bool parent_split = k == s->depth || node_split(s, k + 1u, j >> 1);
            if (free && nfree++ == 0)
                lowest = node_bit(s, k, j);
            CORRUPT_IF(free && split);
            CORRUPT_IF(node_on_edge(s, k, j) && !split);
            if (!parent_split) {
                CORRUPT_IF(free || split); /* inside a larger block */
                continue;
            }
            CORRUPT_IF(free && k < s->depth && node_exists(s, k, j ^ 1u) && node_free(s, k, j ^ 1u));
            if (!free && !split) {
                live++;
                live_pages += pages_of(k);
            }
        }
        CORRUPT_IF(nfree != ORDER_FREE(s, k) || lowest != ORDER_LOWEST(s, k));
        CORRUPT_IF(((s->free_orders & bv_mask(k)) != 0) != (nfree != 0));
        free_pages += nfree << k;
    }
    /* Blocks tile the arena whenever the checks above pass, so the used
     * pages are what the free ones leave. */
    ANALLOC_ASSERT(free_pages + live_pages == (size_t)(s->hi - s->lo));
    /* Cached blocks look like live blocks (check_cache vouches for that)
     * but count as free. */
    size_t cached_pages = 0;
    for (unsigned k = 0; k < ANALLOC_CACHE_ORDERS; k++)
        cached_pages += (size_t)s->cached[k] << k;
    CORRUPT_IF(live != s->live_blocks + s->cached_blocks + reserved_blocks ||
               free_pages + cached_pages != s->free_pages);
    return ANALLOC_OK;
}

/* The reserved ranges: sorted, apart, inside the arena, zero past the last;
 * every page of them in a used block that lies wholly inside its range and
 * is not cached.  Counts those blocks into *blocks. */
static int check_reserved(const struct analloc_internal *s, size_t *blocks)
{
    size_t pages = 0;
    *blocks = 0;
    CORRUPT_IF(s->reserved > ANALLOC_RESERVE_MAX);
    for (unsigned i = 0; i < ANALLOC_RESERVE_MAX; i++) {
        uintptr_t e0 = s->reserve[i][0], e1 = s->reserve[i][1];
        if (i >= s->reserved) {
            CORRUPT_IF(e0 != 0 || e1 != 0);
            continue;
        }
        CORRUPT_IF(e0 < s->lo || e1 > s->hi || e0 >= e1);
        CORRUPT_IF(i > 0 && s->reserve[i - 1u][1] >= e0); /* adjacent ones are merged */
        pages += (size_t)(e1 - e0);
        for (uintptr_t p = e0; p < e1;) {
            unsigned k = block_order(s, p);
            uintptr_t first = (p >> k) << k;
            CORRUPT_IF(first < e0 || first + pages_of(k) > e1 || node_free(s, k, p >> k) ||
                       (k < ANALLOC_CACHE_ORDERS && cache_holds(s, k, first)));
            ++*blocks;
            p = first + pages_of(k);
        }
    }
    CORRUPT_IF(pages != s->reserved_pages);
    return ANALLOC_OK;
}

/* The cache: within its bounds; in each order's list, distinct blocks of
 * that order encoded as used; zero in every slot it does not use. */
static int check_cache(const struct analloc_internal *s)
{
    unsigned total = 0;
    CORRUPT_IF(s->cache_slots > ANALLOC_CACHE_MAX);
    for (unsigned k = 0; k < ANALLOC_CACHE_ORDERS; k++) {
        const uintptr_t *list = s->cache[k];
        CORRUPT_IF(s->cached[k] > s->cache_slots);
        total += s->cached[k];
        for (unsigned i = 0; i < ANALLOC_CACHE_MAX; i++) {
            uintptr_t pfn = list[i];
            if (i >= s->cached[k]) {
                CORRUPT_IF(pfn != 0);
                continue;
            }
            CORRUPT_IF(pfn < s->lo || pfn >= s->hi || block_order(s, pfn) != k ||
                       ((pfn >> k) << k) != pfn || node_free(s, k, pfn >> k));
            for (unsigned later = i + 1u; later < s->cached[k]; later++)
                CORRUPT_IF(list[later] == pfn);
        }
    }
    CORRUPT_IF(total != s->cached_blocks);
    return ANALLOC_OK;
}

int analloc_check(analloc_t a)
{
    if (!is_setup(a))
        return ANALLOC_EINVAL;
    size_t reserved_blocks = 0;
    lock(a);
    int err = check_structure(a);
    if (err == ANALLOC_OK)
        err = check_cache(S(a));
    if (err == ANALLOC_OK)
        err = check_reserved(S(a), &reserved_blocks);
    if (err == ANALLOC_OK)
        err = check_tree(S(a), reserved_blocks);
    unlock(a);
    return err;
}

/* ---- Showing the arena ----------------------------------------------------- */

#define DUMP_WIDTH_MAX 128u
#define LINE_MAX_CHARS (DUMP_WIDTH_MAX + 64u)

/* A bounded line buffer; text past the end is dropped. */
struct line {
    char buf[LINE_MAX_CHARS + 1u];
    size_t len;
};

static void line_char(struct line *t, char c)
{
    if (ANALLOC_ALWAYS(t->len < LINE_MAX_CHARS)) /* widths are clamped to fit */
        t->buf[t->len++] = c;
    t->buf[t->len] = '\0';
}

static void line_str(struct line *t, const char *str)
{
    while (*str != '\0')
        line_char(t, *str++);
}

/* Decimal, right-aligned in `width` characters. */
static void line_uint(struct line *t, uint64_t v, unsigned width)
{
    char digits[24];
    unsigned n = 0;
    do {
        uint64_t digit;
        v = divmod64(v, 10u, &digit);
        digits[n++] = (char)('0' + (unsigned)digit);
    } while (v != 0);
    while (width-- > n)
        line_char(t, ' ');
    while (n > 0)
        line_char(t, digits[--n]);
}

/* Hexadecimal with all the digits of a pointer. */
static void line_hex(struct line *t, uintptr_t v)
{
    line_str(t, "0x");
    for (unsigned shift = PFN_BITS; shift > 0; shift -= 4)
        line_char(t, "0123456789abcdef"[(v >> (shift - 4u)) & 0xfu]);
}

/* The seed's terms for a node: free, split, used, or inside a larger block. */
static char node_char(const struct analloc_internal *s, unsigned k, uintptr_t j)
{
    if (node_split(s, k, j))
        return 'S';
    if (node_free(s, k, j))
        return 'F';
    if (k < s->depth && !node_split(s, k + 1u, j >> 1))
        return '-';
    if (k < ANALLOC_CACHE_ORDERS && cache_holds(s, k, j << k))
        return 'c';
    return s->reserved != 0 && reserve_holds(s, j << k) ? 'R' : 'U';
}

void analloc_dump(analloc_t a, void (*out)(void *ctx, const char *line), void *ctx, size_t width)
{
    struct line t; /* no initialiser: it would be a memset call */
    t.len = 0;
    if (out == NULL)
        return;
    if (!is_setup(a)) {
        out(ctx, "analloc: not set up");
        return;
    }
    const struct analloc_internal *s = S(a);
    size_t pages = (size_t)(s->hi - s->lo);
    width = width == 0 ? 64u : width > DUMP_WIDTH_MAX ? DUMP_WIDTH_MAX : width;
    lock(a);

    line_str(&t, "analloc: ");
    line_uint(&t, pages, 0);
    line_str(&t, " pages of ");
    line_uint(&t, a->page, 0);
    line_str(&t, " B at ");
    line_hex(&t, (uintptr_t)a->start);
    line_str(&t, ", depth ");
    line_uint(&t, s->depth, 0);
    out(ctx, t.buf);

    t.len = 0;
    line_str(&t, "  free ");
    line_uint(&t, s->free_pages << s->shift, 0);
    line_str(&t, " B of ");
    line_uint(&t, a->managed, 0);
    line_str(&t, " B, largest free block ");
    line_uint(&t, largest_merged(a), 0);
    line_str(&t, " B, live blocks ");
    line_uint(&t, s->live_blocks, 0);
    line_str(&t, ", cached blocks ");
    line_uint(&t, s->cached_blocks, 0);
    out(ctx, t.buf);

    t.len = 0;
    uint64_t hundredths, frac;
    hundredths = divmod64((uint64_t)s->meta_bytes * 800u, pages, &frac);
    line_str(&t, "  metadata ");
    line_uint(&t, s->meta_bytes, 0);
    line_str(&t, " B = ");
    line_uint(&t, divmod64(hundredths, 100u, &frac), 0);
    line_char(&t, '.');
    if (frac < 10u)
        line_char(&t, '0');
    line_uint(&t, frac, 0);
    line_str(&t, " bits per page; map: F free, S split, U used, c cached, R reserved, - inside a block");
    out(ctx, t.buf);

    for (unsigned k = s->depth + 1u; k-- > 0;) {
        t.len = 0;
        line_str(&t, "  order ");
        line_uint(&t, k, 2);
        line_str(&t, " ");
        line_uint(&t, a->page << k, 12);
        line_str(&t, " B |");
        size_t n = order_nodes(s->lo, s->hi, k);
        for (size_t i = 0; i < n && i < width; i++)
            line_char(&t, node_char(s, k, (s->lo >> k) + i));
        line_str(&t, n > width ? "..." : "|");
        out(ctx, t.buf);
    }
    unlock(a);
}
