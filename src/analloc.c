/*
 * analloc.c - the engine: a binary buddy allocator whose state lives in bit
 * vectors outside the memory it manages.  This file holds everything that
 * changes an allocator's state; src/check.c and src/inspect.c only read it.
 * Each function's contract is in include/analloc.h.
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
 * block every node is 0/0, so the block that holds a page is the child of
 * its lowest split ancestor.  Order-0 nodes need no split bit, so split bits
 * cost N and free bits 2N bits for N pages.  The split bits of six orders
 * at a time share a word per aligned group (a heap of 63 nodes,
 * src/internal.h, split_bit): a page's ancestors of six orders are a few
 * bits of one word, and block_order reads one word per six orders.
 *
 * The free bits of all orders are concatenated (order 0 first) into one bit
 * vector, the index.  Above it sit summary levels: bit i of level l+1 is set
 * iff word i of level l is nonzero; the top level is one 64-bit word.  The
 * first free block of order k at or after a position is at most `levels`
 * words up and `levels` words down.  A 64-bit mask of the orders that have a
 * free block picks the order in O(1), and the order table keeps the lowest
 * free block of each order exactly, so a plain allocation reads it directly;
 * removing that block searches for the next one (usually in the same word).
 * The summaries cost about 1/32 bit per page.
 *
 * The metadata is one array of 64-bit words, read and written as uint64_t
 * only (src/layout.h gives the layout):
 *     [order table][cache lists][cache table][range table][index levels][split bits]
 * The order table has a row of 64 bytes per order; the cache's lists and
 * table and the range table are sized by the build's tunables and, for a
 * small arena, by its size (at most ANALLOC_META_FIXED_MAX bytes), so that
 * struct analloc never depends on how src/ was configured.  What grows with
 * the arena is about 3.05 bits per page: 3.05 at 2^16 pages and up, with
 * 37.2 KiB of fixed tables at the defaults (the 4096-entry cache table is
 * 32 KiB of it).
 *
 * THE BLOCK CACHE (deferred merging): a freed block of one of the
 * ANALLOC_CACHE_ORDERS smallest orders does not merge; it waits, encoded as
 * used (0/0 under a split parent), in its order's list, for the next
 * allocation of its order, which takes the newest: no merge on free, no
 * search or split on alloc, and memory likely still in the CPU's caches
 * (Linux's per-CPU page lists do the same).  The list of order k holds up to
 * cache_slots >> (k / 2) blocks (rarer, larger blocks in shorter lists; no
 * more than a sixteenth of the arena, plus two); cache_slots is
 * ANALLOC_CACHE_DEFAULT (128) unless analloc_set_cache says otherwise.
 *   Batches keep the slow paths rare and off the median: a free into a full
 * list merges the list's oldest half first (the spill); an allocation that
 * finds its list empty takes half a list of blocks from the buddy system at
 * once, each the lowest of the smallest fitting free blocks as a single
 * allocation would take it, hands out the first and keeps the rest in the
 * order they would have been handed out (the refill).  Either leaves the
 * list half full, the point farthest from both ends: a list that random
 * frees and allocations move by one then runs about L^2 / 4 of its
 * operations (L its length) before the next trip to the buddy system, a
 * third more than after a quarter batch, and the trips, not their length,
 * are what the tail's percentiles count.  Lists shorter than eight move one
 * block at a time.
 *   The bound: the cache holds at most sum over the cached orders of
 * (cache_slots >> (k / 2)) * 2^k pages unmerged: 5760 pages (22.5 MiB of
 * 4 KiB pages) at the defaults, and no request suffers from it: an
 * allocation that finds no block merges the whole cache and searches again
 * before it fails, so a request fails only when no block of its size exists
 * with every cached block merged (the header's ERRORS).
 *   Membership: cached blocks look used, so a table says which are cached:
 * each one's key (its node's free bit) sits in one of the four entries of
 * its bucket (a hash of the key, or the node itself when the table has room
 * for every node), and each list slot names its block's entry.  A free
 * compares the four entries of its bucket: a double free of a cached block
 * is found in O(1), as a free of a merged one is by its free bit.  A block
 * whose bucket is full is not cached: it merges at once, as with the cache
 * off (nothing is evicted, which would cost a scan of a list).  With about
 * eight entries per list slot that is rare: one free in 12,000 in the
 * benchmark's W2 (one in 1,200 with four).
 *
 * PER-CPU STORES (include/analloc.h has the contract; the section "Per-CPU
 * stores" below the mechanism): the block cache split per CPU, in the
 * caller's structs, with each stored block recorded in the cache table as
 * a cached one is; the allocator's own cache is off while a store is
 * attached.  A store's free checks the bits without the lock: the bits are
 * written with atomic stores, and a sequence counter that lock sections
 * move tells a torn read.
 *
 * ADDRESSES (src/internal.h, page_addr): the engine works in page numbers
 * from 1 (0 is its "no block"); the public calls convert at the edge.  An
 * allocator over pointers numbers a page by its address / page; an address
 * space (analloc_space_init) by its offset from an origin chosen so that
 * every number is nonzero, fits a uintptr_t and keeps every block aligned
 * (its comment says how), which is why a 32-bit target can manage a 64-bit
 * space and address 0 is an ordinary block.  Every address is a uint64_t
 * inside the engine: a pointer call and its address-space twin run the
 * same function.
 *
 * EXACT RUNS (block_trim): a run of n pages is the block of 2^k >= n pages
 * cut down in place: the halves past n become free blocks at once and the
 * run stays as the used blocks of n's binary digits, so that every free and
 * check works on it unchanged, and freeing it is freeing those blocks.
 *
 * RESERVED RANGES: analloc_reserve takes pages out of the free lists as used
 * blocks (the canonical cut of the range into aligned blocks) and records the
 * range in the sorted range table; the table is what tells a reserved page
 * from an allocated one (a free into it is ERESERVED) and what analloc_release
 * gives back.  Blocks that straddle a released part's ends are split.
 *
 * LOCK SECTIONS do metadata work only.  Fills and copies of managed memory
 * run outside them: a fresh block is filled after it is taken; a block to be
 * freed is filled while it is still the caller's, between a first section
 * that validates the pointer and a second that validates it again and frees
 * it; a moving realloc takes the new block in one section, copies, and frees
 * the old block in a second.
 *
 * INVARIANTS (checked by analloc_check, src/check.c):
 *  - the fields setup fixed hash to `seal`; every field is in its range;
 *  - the order table's rows follow from the arena (their counts aside);
 *  - free and split are never both set; edge nodes are split and not free;
 *  - below a node that is not split (and is not itself split), every node is
 *    0/0;
 *  - two free buddies below order D never coexist (they merge on free);
 *  - summary bits match the words below them; bits of no node are zero;
 *  - per-order free counts, lowest free blocks, the order mask, free_pages
 *    (pages in free blocks) and taken_blocks (used blocks outside reserved
 *    ranges: live and cached) match the bits;
 *  - every cached block is a block of its list's order that looks used, at
 *    most once, its key in its own bucket at the entry its slot names; no
 *    other entry holds a key; no list is longer than its capacity; slots
 *    past a list's count are zero;
 *  - every reserved range is sorted, apart, and tiled by used blocks inside
 *    it; unused entries are zero;
 *  - every store on the list is attached to this allocator, holds blocks of
 *    the orders it keeps (at most ANALLOC_CPU_SLOTS each) recorded as
 *    cached blocks are, and no other slot; the list's address has its
 *    complement beside it; the sequence counter is even outside the
 *    sections that change bits, and 0 with no store.
 *
 * COMPLEXITY: free and mem_size read one split word per six orders of the
 * block (one word below order 6), one free bit and one bucket (and
 * binary-search the range table when it is not empty); a free into the
 * cache is then O(1).  alloc takes a cached block in O(1), or reads the
 * lowest free block of the smallest fitting order from the order table and
 * splits it in at most D steps.  A step sets or clears one index bit, and
 * the summary update stops at the first word that was or stays nonzero:
 * O(D * levels) word operations in the worst case (D <= 60, levels <= 11;
 * levels is 4 at 2^24 pages), usually O(D + levels); a merge is the same.
 * The slow paths: a refill takes and a spill merges half a list (at most
 * 64 blocks at the defaults), a full bucket merges the freed block, and an
 * allocation that would fail first merges the whole cache: at most the sum
 * of the lists' capacities (480 blocks at the defaults), the worst single
 * operation (bench/opcost.c measures it: about 143,000 instructions at 2^16
 * pages with every list full).  Nothing depends on how many blocks are live
 * or free; no loop runs over pages or free blocks except in analloc_check,
 * analloc_walk, analloc_dump and the annotation walk.
 *
 * FRAGMENTATION: a binary buddy never fails a request of 2^k pages while an
 * aligned 2^k-page run is free (buddies merge eagerly, and cached blocks are
 * merged before a request fails), and with the smallest fitting order taken
 * first it meets J. M. Robson's bound for power-of-two allocators: a program
 * whose live memory never exceeds M and whose largest block is n times the
 * smallest needs at most about M * (1 + log2(n) / 2) bytes ("Worst case
 * fragmentation of first fit and best fit storage allocation strategies",
 * Computer Journal 20(3), 1977; the bound SQLite's mem5.c quotes).
 */
#include "internal.h"

/* ---- Layout --------------------------------------------------------------- */

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

static size_t words_for(size_t bits) { return BV_SIZE(bits); }

/*
 * Compute the layout for `depth` + 1 orders.  With n_bound == 0 the node
 * counts are exact for [lo, hi); otherwise they are the bounds for any arena
 * of n_bound pages.  Returns false if the numbers do not fit in size_t.
 */
static bool layout_compute(struct layout *L, unsigned depth, uintptr_t lo, uintptr_t hi,
                           size_t n_bound)
{
    size_t index_bits = 0, split_words = 0;
    for (unsigned k = 0; k <= depth; k++)
        index_bits += n_bound ? order_nodes_bound(n_bound, k) : order_nodes(lo, hi, k);
    for (unsigned base = 0; base < depth; base += SPLIT_SPAN)
        split_words += n_bound ? order_nodes_bound(n_bound, base + SPLIT_SPAN)
                               : split_groups(lo, hi, base);

    L->depth = depth;
    size_t n = n_bound ? n_bound : (size_t)(hi - lo);
    L->cache_orders = cache_list_orders(n, depth);
    L->cache_bits = cache_table_bits(n, depth);
    bool room = index_bits <= ((size_t)1 << L->cache_bits); /* every node has its entry */
    L->cache_shift = 32u - L->cache_bits;
    L->cache_mul = room ? (uint32_t)1 << L->cache_shift : CACHE_FIB;
    L->cache_word = ORDER_ROW * ((size_t)depth + 2u);
    L->table_word = L->cache_word;
    for (unsigned k = 0; k < L->cache_orders; k++)
        L->table_word += 1u + cache_cap(n, ANALLOC_CACHE_MAX, k); /* a count, the slots */
    size_t w = L->table_word + ((size_t)1 << L->cache_bits) + RANGE_WORDS;
    L->fixed_words = w;
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
    for (unsigned l = L->levels; l < ANALLOC_MAX_LEVELS; l++)
        L->level_word[l] = L->level_bits[l] = 0;
    L->split_word = w;
    L->words = w + split_words;
    return true;
}

/* analloc_meta_size for an arena of n pages at any start. */
static size_t meta_size_for(size_t n)
{
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

size_t analloc_meta_size(size_t total, size_t page)
{
    return is_pow2(page) ? meta_size_for(total >> log2_floor(page)) : 0;
}


void an_layout_exact(uintptr_t lo, uintptr_t hi, struct layout *L)
{
    bool described = layout_compute(L, max_order(lo, hi), lo, hi, 0);
    ANALLOC_ASSERT(described);
}

/* ---- The index: free bits with summaries ----------------------------------- */

/* Set a bit of level 0; propagate up while a word goes from zero to nonzero.
 * (The fields are read once: a store to a uint64_t word may alias a field of
 * the same type, and the compiler would reload them.) */
static void index_set(struct analloc_internal *s, size_t bit)
{
    uint64_t *words = s->words;
    const size_t *at = s->level_word;
    unsigned levels = s->levels;
    for (unsigned l = 0; l < levels; l++) {
        uint64_t *w = &words[at[l] + bv_index(bit)];
        uint64_t was = *w;
        an_store(w, was | bv_mask(bit)); /* a store's free reads it without the lock */
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
        an_store(w, now);
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

static void split_set(struct analloc_internal *s, unsigned k, uintptr_t j)
{
    size_t bit = split_bit(s, k, j);
    uint64_t *w = &s->words[bv_index(bit)];
    an_store(w, *w | bv_mask(bit));
}

static void split_clear(struct analloc_internal *s, unsigned k, uintptr_t j)
{
    size_t bit = split_bit(s, k, j);
    uint64_t *w = &s->words[bv_index(bit)];
    an_store(w, *w & ~bv_mask(bit));
}

#define SPLIT_PATH(p)                                                                      \
    ((uint64_t)1 << ((64u | (p)) >> 1) | (uint64_t)1 << ((64u | (p)) >> 2) |               \
     (uint64_t)1 << ((64u | (p)) >> 3) | (uint64_t)1 << ((64u | (p)) >> 4) |               \
     (uint64_t)1 << ((64u | (p)) >> 5) | (uint64_t)1 << ((64u | (p)) >> 6))
#define SPLIT_PATH4(p) SPLIT_PATH(p), SPLIT_PATH((p) + 1u), SPLIT_PATH((p) + 2u), SPLIT_PATH((p) + 3u)
#define SPLIT_PATH16(p) SPLIT_PATH4(p), SPLIT_PATH4((p) + 4u), SPLIT_PATH4((p) + 8u), SPLIT_PATH4((p) + 12u)
const uint64_t an_split_path[64] = {SPLIT_PATH16(0u), SPLIT_PATH16(16u), SPLIT_PATH16(32u),
                                    SPLIT_PATH16(48u)};

static void free_insert(struct analloc_internal *s, unsigned k, uintptr_t j)
{
    size_t bit = node_bit(s, k, j);
    index_set(s, bit);
    ORDER_FREE(s, k)++;
    s->free_pages += pages_of(k);
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
    s->free_pages -= pages_of(k);
    if (--ORDER_FREE(s, k) == 0) {
        s->free_orders &= ~bv_mask(k);
        ORDER_LOWEST(s, k) = ORDER_START(s, k + 1u);
    } else if (bit == ORDER_LOWEST(s, k)) {
        ORDER_LOWEST(s, k) = index_next(s, bit + 1u); /* order k still has one above */
    }
}

/* ---- Blocks ---------------------------------------------------------------- */

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
    size_t bit = (size_t)ORDER_LOWEST(s, from);
    ANALLOC_ASSERT(bit >= ORDER_START(s, from) && bit < ORDER_START(s, from + 1u));
    uintptr_t j = (s->lo >> from) + (uintptr_t)(bit - (size_t)ORDER_START(s, from));
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

/* ---- The block cache --------------------------------------------------------
 * A cached block stays encoded as used in the bits (0/0 under a split
 * parent), so that searches never see it.  It sits in its order's list
 * (CACHE_SLOT(s, k, 0) the oldest, slot CACHE_COUNT(s, k) - 1 the newest),
 * and its key sits in one of the two entries of its bucket in the cache
 * table (cache_bucket), so that two comparisons tell whether a block is
 * cached (block_cached); a list slot holds that entry's index + 1.  A block
 * whose bucket is full makes the block in the bucket's first entry merge;
 * a block freed into a full list makes the oldest of the list merge. */

/* The cached block in slot i of list k: its table entry. */
static inline unsigned cache_slot_entry(const struct analloc_internal *s, unsigned k, unsigned i)
{
    return (unsigned)CACHE_SLOT(s, k, i) - 1u;
}

/* Take slot i out of list k (the newer ones move down) and clear the
 * block's table entry.  Returns the block's first page. */
static uintptr_t cache_remove_at(struct analloc_internal *s, unsigned k, unsigned i)
{
    unsigned e = cache_slot_entry(s, k, i), n = (unsigned)CACHE_COUNT(s, k) - 1u;
    uintptr_t pfn = key_page(s, k, CACHE_KEY(s, e));
    CACHE_KEY(s, e) = 0;
    for (; i < n; i++)
        CACHE_SLOT(s, k, i) = CACHE_SLOT(s, k, i + 1u);
    CACHE_SLOT(s, k, n) = 0;
    CACHE_COUNT(s, k) = n;
    return pfn;
}

/* Take the newest cached block of order k (CACHE_COUNT(s, k) > 0). */
static ANALLOC_INLINE uintptr_t cache_pop(struct analloc_internal *s, unsigned k)
{
    unsigned n = (unsigned)CACHE_COUNT(s, k) - 1u, e = cache_slot_entry(s, k, n);
    uintptr_t pfn = key_page(s, k, CACHE_KEY(s, e));
    CACHE_KEY(s, e) = 0;
    CACHE_SLOT(s, k, n) = 0;
    CACHE_COUNT(s, k) = n;
    return pfn;
}

/* The taken order-k block at pfn goes back to the buddy system. */
static void block_give_back(struct analloc_internal *s, unsigned k, uintptr_t pfn)
{
    block_release(s, k, pfn >> k);
    s->taken_blocks--;
}

/* The entry of bucket b (cache_bucket) where a block can go: the first free
 * one; CACHE_WAYS past the bucket if all four are taken. */
static unsigned cache_free_entry(const struct analloc_internal *s, unsigned b)
{
    unsigned w = 0;
    while (w < CACHE_WAYS && CACHE_KEY(s, b + w) != 0)
        w++;
    return b + w;
}

/* Record the order-k block with this key as the newest of list k, the key
 * at table entry e (free), the list not full. */
static ANALLOC_INLINE void cache_put(struct analloc_internal *s, unsigned k, uint64_t key, unsigned e)
{
    unsigned n = (unsigned)CACHE_COUNT(s, k);
    CACHE_SLOT(s, k, n) = e + 1u;
    CACHE_COUNT(s, k) = n + 1u;
    CACHE_KEY(s, e) = key;
}

/* Blocks a refill takes or a spill gives back at once: half of order k's
 * list, at least one, so that either leaves the list half full. */
static unsigned cache_batch(const struct analloc_internal *s, unsigned k)
{
    unsigned cap = (unsigned)ORDER_CAP(s, k);
    return cap > 7u ? cap / 2u : 1u;
}

/* List k is full: its cache_batch oldest blocks merge, oldest first. */
static ANALLOC_NOINLINE void cache_spill(struct analloc_internal *s, unsigned k)
{
    unsigned n = (unsigned)CACHE_COUNT(s, k), out = cache_batch(s, k);
    for (unsigned i = 0; i < out; i++) {
        unsigned e = cache_slot_entry(s, k, i);
        uintptr_t pfn = key_page(s, k, CACHE_KEY(s, e));
        CACHE_KEY(s, e) = 0;
        block_give_back(s, k, pfn);
    }
    for (unsigned i = out; i < n; i++)
        CACHE_SLOT(s, k, i - out) = CACHE_SLOT(s, k, i);
    for (unsigned i = n - out; i < n; i++)
        CACHE_SLOT(s, k, i) = 0;
    CACHE_COUNT(s, k) = n - out;
}

/* Keep the free block of order k at pfn in the cache (order k has a list
 * with room for one at least: order_cached; the block is not cached yet).
 * False, changing nothing, if its bucket is full: the caller merges it. */
static bool cache_push(struct analloc_internal *s, unsigned k, uintptr_t pfn)
{
    uint64_t key = block_key(s, k, pfn);
    unsigned b = key_bucket(s, key), e = cache_free_entry(s, b);
    if (e == b + CACHE_WAYS)
        return false;
    if (CACHE_COUNT(s, k) == ORDER_CAP(s, k))
        cache_spill(s, k);
    cache_put(s, k, key, e);
    return true;
}

/* List k is empty (order_cached): take cache_batch blocks from the buddy
 * system, each the lowest of the smallest fitting free blocks, as single
 * allocations would; hand out the first and keep the others, turned over so
 * that they go out in the same order.  Returns the first page, 0 if none. */
static ANALLOC_NOINLINE uintptr_t cache_refill(struct analloc_internal *s, unsigned k)
{
    uintptr_t first = block_take(s, k);
    for (unsigned i = 1, n = cache_batch(s, k); first != 0 && i < n; i++) {
        uintptr_t pfn = block_take(s, k);
        if (pfn == 0)
            break;
        s->taken_blocks++;
        if (!cache_push(s, k, pfn)) { /* its bucket is full: the batch ends */
            block_give_back(s, k, pfn);
            break;
        }
    }
    for (size_t lo = 0, hi = (size_t)CACHE_COUNT(s, k); hi > lo + 1u; lo++, hi--) {
        uint64_t slot = CACHE_SLOT(s, k, lo);
        CACHE_SLOT(s, k, lo) = CACHE_SLOT(s, k, hi - 1u);
        CACHE_SLOT(s, k, hi - 1u) = slot;
    }
    return first;
}

/* Give every cached block back to the buddy system (merging; the merged
 * state does not depend on the order).  Returns whether there was any, so
 * that a search that failed is worth repeating. */
static bool cache_drain(struct analloc_internal *s)
{
    bool any = false;
    for (unsigned k = 0; k < s->cache_orders; k++)
        while (CACHE_COUNT(s, k) > 0) {
            block_give_back(s, k, cache_pop(s, k));
            any = true;
        }
    return any;
}

/* Would merging the cache be of use to a request of 2^k pages?  Not if all
 * the free and cached pages together are fewer. */
static bool drain_may_help(const struct analloc_internal *s, unsigned k)
{
    return available_pages(s) >= pages_of(k) && cached_blocks(s) != 0;
}

/* The cached block of order k at pfn leaves the cache, taken whole (a
 * growing block absorbs it): found at its bucket and in its list. */
static void cache_take(struct analloc_internal *s, unsigned k, uintptr_t pfn)
{
    uint64_t key = block_key(s, k, pfn);
    unsigned e = key_bucket(s, key), i = 0;
    while (CACHE_KEY(s, e) != key)
        e++;
    while (cache_slot_entry(s, k, i) != e)
        i++;
    cache_remove_at(s, k, i);
    s->taken_blocks--;
}

/*
 * Grow the live block at pfn from order k to order to (> k) in place, if pfn
 * is aligned to the new size and each buddy that follows is a block of its
 * order that is free or cached: the free ones leave the free lists, the
 * cached ones the cache.  (Such a buddy cannot be part of a larger free
 * block: its parent holds our block and is split.)  Returns false, changing
 * nothing, otherwise: smaller blocks in a buddy's place are not merged for
 * it (a realloc then moves, and merges the cache only if that finds no
 * block).
 */
static bool block_grow(struct analloc_internal *s, uintptr_t pfn, unsigned k, unsigned to)
{
    ANALLOC_ASSERT(to <= s->depth);
    if (((pfn >> to) << to) != pfn)
        return false;
    for (unsigned i = k; i < to; i++) {
        uintptr_t next = (pfn >> i) + 1u;
        if (!node_exists(s, i, next) ||
            (!node_free(s, i, next) && (stores_first(s) != NULL || !block_cached(s, i, next << i))))
            return false; /* (with stores attached the cache is off: a held buddy is a store's) */
    }
    for (unsigned i = k; i < to; i++) {
        uintptr_t next = (pfn >> i) + 1u;
        if (node_free(s, i, next))
            free_remove(s, i, next);
        else
            cache_take(s, i, next << i);
        split_clear(s, i + 1u, pfn >> (i + 1u));
    }
    return true;
}

/* ---- Accounting -------------------------------------------------------------- */

/* The live order-k block at pfn is given back: into the cache when its order
 * is cached and the cache is on, else merged at once. */
static ANALLOC_INLINE void block_free(struct analloc_internal *s, unsigned k, uintptr_t pfn, bool cache)
{
    if (!cache || !order_cached(s, k) || !cache_push(s, k, pfn))
        block_give_back(s, k, pfn);
}

/* ---- Pointers ------------------------------------------------------------------ */

#if ANALLOC_STORES
/* The stores' spinlocks, each one bit of a 64-bit word whose other bits
 * are data: set `bit` when it is clear, waiting while someone holds it;
 * clear it, keeping the rest.  (The wait is reached only under contention:
 * the threaded tests reach it, not every run, hence the mark for gcovr.) */
static ANALLOC_NOINLINE uint64_t bit_lock_wait(const struct analloc_internal *s, uint64_t *w,
                                               uint64_t bit)
{
    uint64_t v = an_load(w) & ~bit;
    for (unsigned tries = 1; !an_cas_acquire(w, &v, v | bit); tries++) {
        if (tries % 64u == 0 && s->relax != NULL) /* (analloc_set_relax) */
            s->relax(s->relax_ctx);
        else
            an_spin_pause();
        v &= ~bit;
    }
    return v;
}

static ANALLOC_INLINE uint64_t bit_lock(const struct analloc_internal *s, uint64_t *w, uint64_t bit)
{
    uint64_t v = an_load(w) & ~bit;
    return ANALLOC_LIKELY(an_cas_acquire(w, &v, v | bit)) ? v : bit_lock_wait(s, w, bit);
}

static void bit_unlock(uint64_t *w, uint64_t bit)
{
    an_and_release(w, ~bit);
}

/* A table bucket's lock: bit 63 of its first entry.  Held for a few
 * instructions, by a store's free (check and record) and by a lock section
 * that decides on a block by its record; nothing is taken while it is
 * held. */
static void bucket_lock(const struct analloc_internal *s, uint64_t *bucket)
{
    bit_lock(s, bucket, BUCKET_LOCKED);
}

static void bucket_unlock(uint64_t *bucket)
{
    bit_unlock(bucket, BUCKET_LOCKED);
}
#endif

/* Is the order-k block at pfn in the cache or a store?  While a store is
 * attached, its free may be recording the block at this moment: the answer
 * is read under the bucket's lock, after this lock section's sequence
 * number was published (src/analloc.c, PER-CPU STORES). */
static ANALLOC_INLINE bool block_held(const struct analloc_internal *s, unsigned k, uintptr_t pfn)
{
#if ANALLOC_STORES
    if (ANALLOC_UNLIKELY(stores_first(s) != NULL) && k < s->cache_orders) {
        uint64_t *bucket = &CACHE_KEY(s, key_bucket(s, block_key(s, k, pfn)));
        bucket_lock(s, bucket);
        bool held = block_cached(s, k, pfn);
        bucket_unlock(bucket);
        return held;
    }
#endif
    return block_cached(s, k, pfn);
}

/*
 * Validate addr (src/internal.h, Addresses) as the start of a live block,
 * changing nothing.  On success stores the block's order and first page.
 * The checks run in the order the header gives for analloc_free, cheapest
 * first.  (The bytes setup kept are pointers: an address space's numbers
 * never meet them.)
 */
static ANALLOC_INLINE int block_lookup(const struct analloc *a, uint64_t addr, unsigned *order,
                                       uintptr_t *first)
{
    const struct analloc_internal *s = &a->internal;
    if (addr >= s->held_lo && addr < s->held_hi && s->space == 0)
        return ANALLOC_ERESERVED;
    uintptr_t pfn;
    if (!addr_page(s, addr, &pfn))
        return ANALLOC_ERANGE;
    if (range_holds(s, pfn))
        return ANALLOC_ERESERVED; /* as for the used prefix: before alignment */
    if ((addr & (a->page - 1u)) != 0)
        return ANALLOC_EALIGN;
    unsigned k = block_order(s, pfn);
    uintptr_t j = pfn >> k;
    if (node_free(s, k, j) || block_held(s, k, j << k))
        return ANALLOC_EFREE; /* free, or freed into the cache or a store */
    if ((j << k) != pfn)
        return ANALLOC_EINTERIOR;
    *order = k;
    *first = pfn;
    return ANALLOC_OK;
}

/* block_lookup for the calls off the common path, in one copy. */
static ANALLOC_NOINLINE int block_lookup_cold(const struct analloc *a, uint64_t addr,
                                             unsigned *order, uintptr_t *first)
{
    return block_lookup(a, addr, order, first);
}

/* Tell the error hook: the pointer, or, for an address space, where the
 * address is (analloc_error_hook); an address no pointer can hold, given
 * to an allocator over pointers, as NULL. */
static ANALLOC_NOINLINE int report(const struct analloc_internal *s, int error, uint64_t addr)
{
    const void *what = s->space ? (const void *)&addr
                       : addr <= UINTPTR_MAX ? (const void *)(uintptr_t)addr
                                             : NULL;
    if (s->hook != NULL)
        s->hook(s->hook_ctx, error, what);
    return error;
}

/* The order that holds `size` bytes; depth + 1 if none does. */
static unsigned order_for(const struct analloc *a, uint64_t size)
{
    /* The bit width of (pages - 1), without a branch on the size (mixed
     * sizes would mispredict it): 0 for a page or less, size 0 included. */
    uint64_t pages_minus_one = (size - (size != 0)) >> a->internal.shift;
    unsigned k = (pages_minus_one != 0) + log2_floor(pages_minus_one | 1u);
    return k <= a->internal.depth ? k : a->internal.depth + 1u;
}

/* ---- Debug fills, outside the lock -------------------------------------------
 * `poison` is the allocator's debug word as read inside the last lock
 * section: a concurrent analloc_set_debug may change the field meanwhile. */

/* Pages [pfn, pfn + n) are about to become free (freed, or the tail of a
 * shrink), and are still the caller's: poison them, then tell the
 * sanitizer. */
static void pages_freed(const struct analloc_internal *s, unsigned poison, uintptr_t pfn, size_t n)
{
    void *p = page_ptr(s, pfn);
    size_t bytes = n << s->shift;
    if (poison & ANALLOC_DEBUG_POISON_FREE)
        bytes_fill(p, (unsigned char)(poison >> 8), bytes);
    if (poison & ANALLOC_DEBUG_ANNOTATE)
        ANALLOC_ANNOTATE_FREE(p, bytes);
}

/* Pages [pfn, pfn + n) have just been handed out. */
static void pages_fresh(const struct analloc_internal *s, unsigned poison, uintptr_t pfn, size_t n)
{
    void *p = page_ptr(s, pfn);
    size_t bytes = n << s->shift;
    if (poison & (ANALLOC_DEBUG_ANNOTATE | ANNOTATE_LEAVING))
        ANALLOC_ANNOTATE_USE(p, bytes);
    if (poison & ANALLOC_DEBUG_POISON_FRESH)
        bytes_fill(p, (unsigned char)(poison >> 16), bytes);
}

/* Leave the lock section of an allocation that took `n` pages at pfn (0:
 * none) while the debug aids are on, then prepare them for their new
 * owner outside the lock.  Returns pfn. */
static ANALLOC_NOINLINE uintptr_t unlock_fresh_slow(struct analloc_internal *s, uintptr_t pfn,
                                                    size_t n)
{
    unsigned poison = s->poison;
    unlock(s);
    if (pfn != 0)
        pages_fresh(s, poison, pfn, n);
    return pfn;
}

/* Leave the lock section of an allocation (as above). */
static ANALLOC_INLINE uintptr_t unlock_fresh(struct analloc_internal *s, uintptr_t pfn, size_t n)
{
    if (ANALLOC_UNLIKELY(s->poison != 0))
        return unlock_fresh_slow(s, pfn, n);
    unlock(s);
    return pfn;
}

/* block_lookup_poisoned's `to` for a free: the whole block goes. */
#define WHOLE_BLOCK (~0u)

/*
 * The slow half of block_lookup_poisoned: the block found at ptr has order
 * *k and first page *pfn, and some of its pages are about to become free
 * (all of them, or the tail past order `to`).  Fill them outside the lock
 * while the block is still the caller's, then validate it again in a new
 * section (another thread may have freed it meanwhile: a double free).
 */
static ANALLOC_NOINLINE int poison_outside_lock(const struct analloc *a, uint64_t addr,
                                                unsigned *k, uintptr_t *pfn, unsigned to)
{
    const struct analloc_internal *s = &a->internal;
    unsigned was = *k, poison = s->poison;
    size_t keep = to == WHOLE_BLOCK ? 0 : pages_of(to);
    unlock(s);
    pages_freed(s, poison, *pfn + keep, pages_of(was) - keep);
    lock(s);
    int err = block_lookup_cold(a, addr, k, pfn);
    return err == ANALLOC_OK && *k != was ? ANALLOC_EFREE : err;
}

/*
 * Validate ptr as a live block inside a lock section, as block_lookup, for a
 * free (to == WHOLE_BLOCK) or a resize to order `to`; with free-poisoning
 * on, the pages about to become free are filled first (poison_outside_lock).
 * Entered and left with the lock held.
 */
static ANALLOC_INLINE int block_lookup_poisoned(const struct analloc *a, uint64_t addr,
                                                unsigned *k, uintptr_t *pfn, unsigned to)
{
    int err = block_lookup(a, addr, k, pfn);
    if (ANALLOC_UNLIKELY(err == ANALLOC_OK &&
                         (a->internal.poison & (ANALLOC_DEBUG_POISON_FREE | ANALLOC_DEBUG_ANNOTATE)) != 0 &&
                         (to == WHOLE_BLOCK || to < *k)))
        err = poison_outside_lock(a, addr, k, pfn, to);
    return err;
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
        if (bit == NONE || bit < ORDER_START(s, m) || bit >= ORDER_START(s, m + 1u))
            return false; /* no free block of order m on that side */
        j = (s->lo >> m) + (uintptr_t)(bit - (size_t)ORDER_START(s, m));
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

/* splitmix64's finaliser: every input bit moves about half the output bits. */
static uint64_t seal_mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
    h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9ull;
    h = (h ^ (h >> 27)) * 0x94D049BB133111EBull;
    return h ^ (h >> 31);
}

uint64_t an_seal(const struct analloc *a)
{
    const struct analloc_internal *s = &a->internal;
    uint64_t h = seal_mix(AN_MAGIC, s->shift);
    h = seal_mix(h, (uint64_t)s->depth << 32 | s->levels);
    h = seal_mix(h, s->lo);
    h = seal_mix(h, s->hi);
    h = seal_mix(h, (uintptr_t)s->words);
    h = seal_mix(h, (uintptr_t)s->cache);
    h = seal_mix(h, (uintptr_t)s->table);
    h = seal_mix(h, (uint64_t)s->cache_orders << 32 | s->cache_bits);
    h = seal_mix(h, (uint64_t)s->cache_mul << 32 | s->cache_shift);
    h = seal_mix(h, s->held_lo);
    h = seal_mix(h, s->held_hi);
    for (unsigned l = 0; l < ANALLOC_MAX_LEVELS; l++)
        h = seal_mix(seal_mix(h, s->level_word[l]), s->level_bits[l]);
    h = seal_mix(h, s->split_word);
    h = seal_mix(h, s->meta_bytes);
    h = seal_mix(h, s->origin);
    h = seal_mix(h, s->space);
    h = seal_mix(h, a->page);
    h = seal_mix(h, a->depth);
    h = seal_mix(h, a->managed);
    return seal_mix(h, (uintptr_t)a->start);
}

/*
 * Take over pages [lo, hi) with metadata at `meta` (8-byte aligned, large
 * enough for the exact layout); [held_lo, held_hi) are the bytes setup keeps
 * (used prefix and metadata).  All arguments are valid: nothing can fail.
 * Writes the metadata and *a, and nothing else.
 */
static void setup(struct analloc *a, unsigned shift, uintptr_t lo, uintptr_t hi,
                  const struct layout *L, uint64_t *meta, uintptr_t held_lo, uintptr_t held_hi,
                  uint64_t origin, unsigned space)
{
    struct analloc_internal *s = &a->internal;
    bytes_fill(a, 0, sizeof *a); /* every byte, padding too: snapshots compare bytes */
    for (size_t i = 0; i < L->words; i++) {
        ANALLOC_OPAQUE(meta); /* not a memset call: see ANALLOC_OPAQUE */
        meta[i] = 0;
    }
    s->shift = shift;
    s->depth = L->depth;
    s->levels = L->levels;
    s->lo = lo;
    s->hi = hi;
    s->words = meta;
    s->cache = meta + L->cache_word;
    s->table = meta + L->table_word;
    s->cache_orders = L->cache_orders;
    s->cache_bits = L->cache_bits;
    s->cache_mul = L->cache_mul;
    s->cache_shift = L->cache_shift;
    for (unsigned l = 0; l < ANALLOC_MAX_LEVELS; l++) {
        s->level_word[l] = L->level_word[l];
        s->level_bits[l] = L->level_bits[l];
    }
    s->split_word = L->split_word;
    s->meta_bytes = L->words * sizeof(uint64_t);
    s->held_lo = held_lo;
    s->held_hi = held_hi;
    s->origin = origin;
    s->space = space;
    s->cache_slots = ANALLOC_CACHE_DEFAULT;

    size_t first = 0;
    for (unsigned k = 0; k <= L->depth; k++) {
        ORDER_START(s, k) = first;
        ORDER_BASE(s, k) = (uint64_t)first - (uint64_t)(lo >> k) + L->level_word[0] * WORD_BITS;
        ORDER_SPLIT(s, k) = k == 0 ? 0 : split_origin(lo, hi, L->split_word, k);
        ORDER_LIST(s, k) = k < L->cache_orders ? list_origin(hi - lo, L->cache_word, k) : 0;
        ORDER_CAP(s, k) = k < L->cache_orders ? cache_cap(hi - lo, ANALLOC_CACHE_DEFAULT, k) : 0;
        first += order_nodes(lo, hi, k);
        ORDER_LOWEST(s, k) = first; /* no free block yet */
    }
    ORDER_START(s, L->depth + 1u) = first;
    if (L->depth >= 1)
        STORE_CHECK(s) = ~(uint64_t)0; /* no store: STORE_LIST 0 */

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
    a->managed = bytes_capped(s, hi - lo);
    a->start = space ? NULL : page_ptr(s, lo);
    s->seal = an_seal(a);
    s->magic = mode_magic(s);
}

/* Does the allocator's struct overlap the bytes [lo, hi)?  Setup would then
 * write over the struct it is filling in (or hand its memory out).  By
 * differences: the struct's end may be the top of the address space. */
static bool struct_overlaps(const struct analloc *a, uintptr_t lo, uintptr_t hi)
{
    uintptr_t sa = (uintptr_t)a;
    return sa < hi && (lo <= sa || lo - sa < sizeof *a);
}

int analloc_init(analloc_t a, void *base, size_t total, size_t page, void *meta, size_t meta_size)
{
    if (a == NULL || meta == NULL || !is_pow2(page))
        return ANALLOC_EINVAL;
    uintptr_t b = (uintptr_t)base, m = (uintptr_t)meta;
    if (b + total < b || m + meta_size < m) /* also: ends at the top, wrapping to 0 */
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
    an_layout_exact(lo, hi, &L); /* fits: analloc_meta_size() described more */
    uint64_t *words = (uint64_t *)(void *)((m + META_ALIGN - 1u) & ~(uintptr_t)(META_ALIGN - 1u));
    setup(a, shift, lo, hi, &L, words, m, m + meta_size, 0, 0);
    return ANALLOC_OK;
}

/* The most pages an address space may have: as many as the target can count
 * (pages_fit), with room for the page numbers analloc_space_init gives
 * them (below 2^(M + 1) for 2^M >= the count) and for their byte offsets
 * (below 2^63). */
static bool space_pages_fit(uint64_t n, unsigned shift)
{
    return shift <= 61u && n <= SIZE_MAX / 8u && n <= ((uint64_t)1 << (PFN_BITS - 3u)) &&
           n <= ((uint64_t)1 << (61u - shift));
}

size_t analloc_space_meta_size(uint64_t size, size_t page)
{
    if (!is_pow2(page))
        return 0;
    unsigned shift = log2_floor(page);
    uint64_t n = (size >> shift) + 1u; /* an unaligned base touches one page more */
    return space_pages_fit(n, shift) ? meta_size_for((size_t)n) : 0;
}

/*
 * The space's whole pages are the page numbers [L, H) of the space (address
 * / page, in 64 bits).  The engine numbers them so that none is 0 (its "no
 * block"), every aligned block stays aligned, and the numbers fit in a
 * uintptr_t: with 2^M >= H - L pages, page P gets P - O + (2^M if L is a
 * multiple of 2^M, else 0), where O is L rounded down to a multiple of 2^M.
 * Every block that fits in the space has at most 2^M pages, and both
 * offsets are multiples of 2^M, so alignments are kept; the numbers are
 * then below 2^(M + 1).  origin is the address of number 0: O's address
 * minus the offset, modulo 2^64.
 */
int analloc_space_init(analloc_t a, uint64_t base, uint64_t size, size_t page, void *meta,
                       size_t meta_size)
{
    if (a == NULL || meta == NULL || !is_pow2(page))
        return ANALLOC_EINVAL;
    uintptr_t m = (uintptr_t)meta;
    unsigned shift = log2_floor(page);
    uint64_t end = base + size;
    if (end < base || end > UINT64_MAX - (page - 1u) || m + meta_size < m)
        return ANALLOC_EINVAL; /* reaches the last page of the space, or wraps */
    uint64_t first = (base >> shift) + ((base & (page - 1u)) != 0), last = end >> shift;
    uint64_t n = last > first ? last - first : 1u;
    if (!space_pages_fit(n, shift))
        return ANALLOC_EINVAL;
    if (meta_size < analloc_space_meta_size(size, page))
        return ANALLOC_ETOOSMALL;
    if (struct_overlaps(a, m, m + meta_size))
        return ANALLOC_EOVERLAP;
    if (first >= last)
        return ANALLOC_ETOOSMALL;
    unsigned mb = n == 1u ? 0u : log2_floor(n - 1u) + 1u; /* 2^mb >= n */
    uint64_t o = (first >> mb) << mb;
    uint64_t bias = first == o ? (uint64_t)1 << mb : 0u;
    uintptr_t lo = (uintptr_t)(first - o + bias), hi = (uintptr_t)(last - o + bias);
    struct layout L;
    an_layout_exact(lo, hi, &L); /* fits: analloc_space_meta_size() described more */
    uint64_t *words = (uint64_t *)(void *)((m + META_ALIGN - 1u) & ~(uintptr_t)(META_ALIGN - 1u));
    setup(a, shift, lo, hi, &L, words, m, m + meta_size, (o << shift) - (bias << shift), 1u);
    return ANALLOC_OK;
}

/* Does the metadata for pages [lo, hi), placed at meta, end at or before the
 * start of page lo?  By differences: meta + size may pass the top of the
 * address space, where the sum would wrap to a small number. */
static bool meta_fits_before(uintptr_t meta, uintptr_t lo, uintptr_t hi, unsigned shift,
                             struct layout *L)
{
    an_layout_exact(lo, hi, L);
    uintptr_t first = lo << shift; /* >= meta: lo is a page at or after it */
    return L->words <= (first - meta) / sizeof(uint64_t);
}

int analloc_with_chunk(analloc_t a, void *chunk, size_t total, size_t used, size_t page)
{
    if (a == NULL || chunk == NULL || !is_pow2(page) || used > total)
        return ANALLOC_EINVAL;
    uintptr_t b = (uintptr_t)chunk, end = b + total;
    if (end < b) /* also: ends at the top, wrapping to 0 */
        return ANALLOC_EINVAL;
    unsigned shift = log2_floor(page);
    if (!pages_fit(total >> shift))
        return ANALLOC_EINVAL;
    uintptr_t room = total - used; /* bytes after the prefix */
    uintptr_t pad = ((uintptr_t)0 - (b + used)) & (uintptr_t)(META_ALIGN - 1u);
    if (pad >= room)
        return ANALLOC_ETOOSMALL; /* not even the metadata's start fits */
    uintptr_t meta = b + used + pad;
    uintptr_t lo = ((meta - 1u) >> shift) + 1u; /* the first page that starts at or after meta */
    uintptr_t hi = end >> shift;
    if (lo >= hi)
        return ANALLOC_ETOOSMALL;
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
    an_layout_exact(first, hi, &L);
    setup(a, shift, first, hi, &L, (uint64_t *)meta, b, first << shift, 0, 0);
    return ANALLOC_OK;
}

/* ---- Allocation ------------------------------------------------------------ */

static void stores_give_back(struct analloc_internal *s);

/* After a lock section's search found no block, and the free and cached
 * pages (the stores' included) could hold the request (drain_may_help):
 * with stores attached, give every store back (their locks come before the
 * allocator's, so this one is let go meanwhile) and say whether to search
 * again. */
static bool stores_emptied(struct analloc_internal *s)
{
    if (ANALLOC_LIKELY(stores_first(s) == NULL))
        return false;
    unlock(s);
    stores_give_back(s);
    lock(s);
    return true;
}

/* An order-k block (k <= depth): the newest cached one, else the buddy
 * system's, merging the cache first if it has none.  0 if there is none. */
static ANALLOC_INLINE uintptr_t alloc_locked(struct analloc_internal *s, unsigned k)
{
    bool cached = order_cached(s, k);
    if (cached && CACHE_COUNT(s, k) != 0)
        return cache_pop(s, k);
    uintptr_t pfn = cached ? cache_refill(s, k) : block_take(s, k);
    if (pfn == 0 && drain_may_help(s, k) && cache_drain(s))
        pfn = block_take(s, k);
    s->taken_blocks += pfn != 0;
    return pfn;
}

/* alloc_locked, and once more after every store was given back. */
static uintptr_t alloc_any_locked(struct analloc_internal *s, unsigned k)
{
    uintptr_t pfn = alloc_locked(s, k);
    if (pfn == 0 && drain_may_help(s, k) && stores_emptied(s))
        pfn = alloc_locked(s, k);
    return pfn;
}

/* analloc_alloc and analloc_space_alloc in full: the block's first page, 0
 * if none. */
static uintptr_t alloc_pages(struct analloc *a, uint64_t size)
{
    struct analloc_internal *s = &a->internal;
    unsigned k = order_for(a, size);
    if (k > s->depth)
        return 0; /* no block that large: refused without the lock */
    lock(s);
    return unlock_fresh(s, alloc_any_locked(s, k), pages_of(k));
}

static ANALLOC_NOINLINE void *alloc_slow(struct analloc *a, size_t size)
{
    if (!is_setup_ptr(a))
        return NULL;
    uintptr_t pfn = alloc_pages(a, size);
    return pfn == 0 ? NULL : page_ptr(&a->internal, pfn);
}

/* The common allocation, without a stack frame: no hooks or fills, a
 * cached block of the order; anything else goes to alloc_slow.  An order
 * without a list (or too large: the sentinel row) has ORDER_LIST 0, and
 * word 0 (ORDER_START(0)) is 0: an empty list. */
void *analloc_alloc(analloc_t a, size_t size)
{
    if (a == NULL || a->internal.magic != AN_MAGIC_FAST)
        return alloc_slow(a, size);
    struct analloc_internal *s = &a->internal;
    uint64_t *words = s->words;
    unsigned k = order_for(a, size); /* <= depth + 1 */
    size_t list = (size_t)ORDER_LIST(s, k), n = (size_t)words[list];
    if (n == 0)
        return alloc_slow(a, size);
    unsigned e = (unsigned)words[list + n] - 1u; /* the newest: slot n - 1 */
    uint64_t key = CACHE_KEY(s, e);
    CACHE_KEY(s, e) = 0;
    words[list + n] = 0;
    words[list] = n - 1u;
    return page_ptr(s, key_page(s, k, key));
}

/*
 * Fill *q for an order-k block (k from order_for) at a multiple of `align`
 * bytes inside the addresses [lo, hi).  Returns ANALLOC_EINVAL for
 * arguments no state could satisfy, ANALLOC_ENOMEM if the window holds no
 * aligned place for the block, else 0.
 */
static int place_setup(const struct analloc *a, unsigned k, uint64_t align, uint64_t lo,
                       uint64_t hi, unsigned flags, struct place *q)
{
    const struct analloc_internal *s = &a->internal;
    if ((flags & ~(unsigned)(ANALLOC_LOW | ANALLOC_HIGH)) != 0 ||
        flags == (ANALLOC_LOW | ANALLOC_HIGH) || (align & (align - 1u)) != 0 || lo >= hi ||
        k > s->depth)
        return ANALLOC_EINVAL;
    q->k = k;
    q->ka = k;
    if (align > ((uint64_t)a->page << k)) { /* aligned beyond the block's size */
        q->ka = log2_floor(align) - s->shift;
        if (q->ka > s->depth)
            return ANALLOC_EINVAL; /* no block of the arena has that alignment */
    }
    q->high = (flags & ANALLOC_HIGH) != 0;
    /* The window: whole pages inside [lo, hi) and the arena (whose
     * addresses end below 2^64: no sum here wraps); its start aligned up
     * to 2^ka. */
    uint64_t first = page_addr(s, s->lo), end = page_addr(s, s->hi);
    lo = lo > first ? lo : first;
    hi = hi < end ? hi : end;
    if (lo >= hi)
        return ANALLOC_ENOMEM;
    uintptr_t w0 = (uintptr_t)((lo - s->origin + (a->page - 1u)) >> s->shift);
    uintptr_t w1 = (uintptr_t)((hi - s->origin) >> s->shift);
    uintptr_t pad = ((uintptr_t)0 - w0) & (uintptr_t)(pages_of(q->ka) - 1u); /* to the alignment */
    if (w0 >= w1 || pad >= w1 - w0 || w1 - w0 - pad < pages_of(q->k))
        return ANALLOC_ENOMEM; /* (w0 + pad cannot wrap: it stays below w1) */
    q->w0 = w0 + pad;
    q->w1 = w1;
    return ANALLOC_OK;
}

/* A block placed as *q: merging the cache, then giving the stores back,
 * before it fails.  0 if none. */
static uintptr_t placed_locked(struct analloc_internal *s, const struct place *q)
{
    uintptr_t pfn = block_take_placed(s, q);
    if (pfn == 0 && drain_may_help(s, q->k) && cache_drain(s))
        pfn = block_take_placed(s, q);
    if (pfn == 0 && drain_may_help(s, q->k) && stores_emptied(s))
        pfn = block_take_placed(s, q);
    s->taken_blocks += pfn != 0;
    return pfn;
}

/* analloc_alloc_range and analloc_space_alloc_range: the first page, or 0. */
static uintptr_t alloc_placed(struct analloc *a, uint64_t size, uint64_t align, uint64_t lo,
                              uint64_t hi, unsigned flags)
{
    struct analloc_internal *s = &a->internal;
    struct place q;
    if (place_setup(a, order_for(a, size), align, lo, hi, flags, &q) != ANALLOC_OK)
        return 0;
    lock(s);
    return unlock_fresh(s, placed_locked(s, &q), pages_of(q.k));
}

void *analloc_alloc_range(analloc_t a, size_t size, size_t align, uintptr_t lo, uintptr_t hi,
                          unsigned flags)
{
    if (!is_setup_ptr(a))
        return NULL;
    uintptr_t pfn = alloc_placed(a, size, align, lo, hi, flags);
    return pfn == 0 ? NULL : page_ptr(&a->internal, pfn);
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

/* ---- Exact-size runs -----------------------------------------------------------
 * A run of n pages is cut from a used block of 2^k pages (2^(k-1) < n <= 2^k):
 * at each order the node splits; while the run covers the lower half, that
 * half is a used block of the run and the cut goes on in the upper half;
 * otherwise the upper half becomes free and the cut goes on in the lower.
 * The run is then the used blocks of n's binary digits, largest first; the
 * tail, the free blocks of the digits of 2^k - n.  No free block merges: a
 * free half's buddy is the half the run goes on in. */

/* Cut the used order-k block at pfn down to a run of n pages (1 <= n <=
 * 2^k).  Returns the number of blocks in the run. */
static size_t block_trim(struct analloc_internal *s, uintptr_t pfn, unsigned k, uint64_t n)
{
    size_t blocks = 1;
    while (n < pages_of(k)) {
        split_set(s, k, pfn >> k);
        k--;
        if (n > pages_of(k)) { /* the lower half is a block of the run */
            blocks++;
            n -= pages_of(k);
            pfn += pages_of(k);
        } else {
            free_insert(s, k, (pfn >> k) + 1u);
        }
    }
    return blocks;
}

/* analloc_alloc_exact and analloc_space_alloc_exact: a run of `size` bytes
 * in pages; its first page in *pfn. */
static int alloc_run(struct analloc *a, uint64_t size, uint64_t align, uint64_t lo, uint64_t hi,
                     unsigned flags, uintptr_t *pfn)
{
    struct analloc_internal *s = &a->internal;
    uint64_t n = pages_for(s, size);
    unsigned k = order_for(a, size); /* the block that holds the run; depth + 1 if none */
    struct place q;
    int err = place_setup(a, k, align, lo, hi, flags, &q);
    if (err != ANALLOC_OK)
        return err;
    /* Placed as analloc_alloc places: nothing asked of the place. */
    bool plain = flags == 0 && q.ka == k && lo <= page_addr(s, s->lo) && hi >= page_addr(s, s->hi);
    lock(s);
    uintptr_t p = plain ? alloc_any_locked(s, k) : placed_locked(s, &q);
    if (p != 0)
        s->taken_blocks += block_trim(s, p, k, n) - 1u;
    unlock_fresh(s, p, (size_t)n);
    if (p == 0)
        return ANALLOC_ENOMEM;
    *pfn = p;
    return ANALLOC_OK;
}

/* Validate the run of n pages at addr (inside a lock section): every block
 * of n's binary digits, largest first, live and of its size.  Its first
 * page in *pfn. */
static int run_lookup(const struct analloc *a, uint64_t addr, uint64_t n, uintptr_t *pfn)
{
    unsigned k;
    uintptr_t p;
    for (uint64_t left = n; left != 0; left -= pages_of(k)) {
        unsigned want = log2_floor(left);
        int err = block_lookup_cold(a, addr, &k, &p);
        if (err != ANALLOC_OK)
            return err;
        if (k != want)
            return ANALLOC_ESIZE;
        if (left == n)
            *pfn = p;
        addr += (uint64_t)a->page << k;
    }
    return ANALLOC_OK;
}

/* analloc_free_exact and analloc_space_free_exact: check the whole run,
 * poison it outside the lock if asked (and check it again), then free its
 * blocks lowest first, each as analloc_free would. */
static int free_run(struct analloc *a, uint64_t addr, uint64_t size)
{
    struct analloc_internal *s = &a->internal;
    uint64_t n = pages_for(s, size); /* >= 1: run_lookup sets pfn */
    uintptr_t pfn = 0;
    lock(s);
    int err = run_lookup(a, addr, n, &pfn);
    if (err == ANALLOC_OK && (s->poison & (ANALLOC_DEBUG_POISON_FREE | ANALLOC_DEBUG_ANNOTATE))) {
        unsigned poison = s->poison;
        unlock(s);
        pages_freed(s, poison, pfn, (size_t)n);
        lock(s);
        err = run_lookup(a, addr, n, &pfn);
    }
    if (err != ANALLOC_OK) {
        report(s, err, addr);
        unlock(s);
        return err;
    }
    for (uint64_t left = n; left != 0;) {
        unsigned k = log2_floor(left);
        block_free(s, k, pfn, true);
        pfn += pages_of(k);
        left -= pages_of(k);
    }
    unlock(s);
    return ANALLOC_OK;
}

int analloc_alloc_exact(analloc_t a, size_t size, size_t align, uintptr_t lo, uintptr_t hi,
                        unsigned flags, void **ptr)
{
    if (!is_setup_ptr(a) || ptr == NULL)
        return ANALLOC_EINVAL;
    uintptr_t pfn;
    int err = alloc_run(a, size, align, lo, hi, flags, &pfn);
    if (err == ANALLOC_OK)
        *ptr = page_ptr(&a->internal, pfn);
    return err;
}

int analloc_free_exact(analloc_t a, void *ptr, size_t size)
{
    if (!is_setup_ptr(a))
        return ANALLOC_EINVAL;
    return ptr == NULL ? ANALLOC_OK : free_run(a, (uintptr_t)ptr, size);
}

/* ---- Freeing and resizing -------------------------------------------------- */

/* analloc_free's work inside its lock section(s). */
static ANALLOC_INLINE int free_locked(struct analloc *a, uint64_t addr)
{
    struct analloc_internal *s = &a->internal;
    unsigned k;
    uintptr_t pfn;
    int err = block_lookup_poisoned(a, addr, &k, &pfn, WHOLE_BLOCK);
    if (ANALLOC_UNLIKELY(err != ANALLOC_OK))
        return report(s, err, addr);
    block_free(s, k, pfn, true);
    return ANALLOC_OK;
}

static int free_section(struct analloc *a, uint64_t addr)
{
    struct analloc_internal *s = &a->internal;
    lock(s);
    int err = free_locked(a, addr);
    unlock(s);
    return err;
}

/* analloc_free in full: every check, error, hook and path. */
static ANALLOC_NOINLINE int free_slow(struct analloc *a, void *ptr)
{
    if (!is_setup_ptr(a))
        return ANALLOC_EINVAL;
    if (ptr == NULL)
        return ANALLOC_OK;
    return free_section(a, (uintptr_t)ptr);
}

/*
 * The common free, without a stack frame: no hooks or fills, no reserved
 * ranges, a live block of an order whose list has room (ORDER_CAP 0: no
 * list), and a free entry in its bucket.  It makes the same checks as
 * block_lookup, in the same order, and changes nothing until all have
 * passed; anything else goes to free_slow, which starts over.  (The fast
 * mark is never set on an address space: origin is 0 here.)
 */
_Static_assert(CACHE_WAYS == 4, "analloc_free reads a bucket as four entries");
int analloc_free(analloc_t a, void *ptr)
{
    if (a == NULL || !ANALLOC_LIKELY(ptr != NULL) || a->internal.magic != AN_MAGIC_FAST)
        return free_slow(a, ptr);
    struct analloc_internal *s = &a->internal;
    uint64_t *words = s->words;
    uintptr_t addr = (uintptr_t)ptr, pfn = addr >> s->shift;
    if (pfn - s->lo >= s->hi - s->lo || (addr & (a->page - 1u)) != 0)
        return free_slow(a, ptr);
    /* block_order, its first split word peeled (depth >= 1: mode_magic) */
    uint64_t path = words[(size_t)(ORDER_SPLIT(s, 1) + (uint64_t)(pfn >> SPLIT_SPAN))] &
                    an_split_path[pfn & 63u];
    unsigned k = path != 0 ? path_order(path) : block_order(s, pfn);
    uintptr_t j = pfn >> k;
    if ((j << k) != pfn)
        return free_slow(a, ptr);
    uint64_t key = ORDER_BASE(s, k) + j;
    if (bv_test(words, (size_t)key))
        return free_slow(a, ptr); /* free: a double free */
    unsigned b = key_bucket(s, key);
    const uint64_t *bucket = &CACHE_KEY(s, b);
    if (bucket[0] == key || bucket[1] == key || bucket[2] == key || bucket[3] == key)
        return free_slow(a, ptr); /* cached: a double free */
    /* The first free way (CACHE_WAYS: none), as conditional moves rather
     * than branches: buckets fill at random. */
    unsigned way = bucket[3] == 0 ? 3u : CACHE_WAYS;
    way = bucket[2] == 0 ? 2u : way;
    way = bucket[1] == 0 ? 1u : way;
    way = bucket[0] == 0 ? 0u : way;
    size_t list = (size_t)ORDER_LIST(s, k), n = (size_t)words[list];
    if (way == CACHE_WAYS || n >= ORDER_CAP(s, k))
        return free_slow(a, ptr); /* a cached block must merge first, or no list */
    words[list + 1u + n] = b + way + 1u;
    words[list] = n + 1u;
    CACHE_KEY(s, b + way) = key;
    return ANALLOC_OK;
}

/* The size of the live block at addr, 0 if none. */
static uint64_t block_size_at(const struct analloc *a, uint64_t addr)
{
    unsigned k;
    uintptr_t pfn;
    lock(&a->internal);
    int err = block_lookup_cold(a, addr, &k, &pfn);
    unlock(&a->internal);
    return err == ANALLOC_OK ? (uint64_t)a->page << k : 0;
}

size_t analloc_mem_size(const struct analloc *a, const void *ptr)
{
    if (!is_setup_ptr(a) || ptr == NULL)
        return 0;
    return (size_t)block_size_at(a, (uintptr_t)ptr);
}

/*
 * The first lock section of a resize of the live block at addr to order
 * `to` (entered and left with the lock held): shrink in place, or grow in
 * place if the buddies that follow are free or cached; otherwise, with
 * `move`, take a new block into *moved (alloc_locked merges the cache only
 * if it finds none; in place is then tried again), or, without, merge the
 * cache and try in place again; with stores attached, all of it once more
 * after every store is given back.  *k is the block's order before, *pfn
 * its first page.  Returns 0 (in place, or *moved != 0), the lookup's error
 * (reported), ANALLOC_EINVAL (no block of order `to`) or ANALLOC_ENOMEM.
 */
static int resize_locked(struct analloc *a, uint64_t addr, unsigned to, bool move, unsigned *k,
                         uintptr_t *pfn, uintptr_t *moved)
{
    struct analloc_internal *s = &a->internal;
    *moved = 0;
    for (bool again = false;; again = true) {
        /* Shrinking frees the tail: poisoned first, as a free would be. */
        int err = block_lookup_poisoned(a, addr, k, pfn, to);
        if (err != ANALLOC_OK) /* (again: freed by another thread while the lock was let go) */
            return report(s, err, addr);
        if (to > s->depth)
            return ANALLOC_EINVAL;
        if (to <= *k) {
            block_shrink(s, *pfn, *k, to);
            return ANALLOC_OK;
        }
        if (block_grow(s, *pfn, *k, to))
            return ANALLOC_OK;
        bool merged = move ? (*moved = alloc_locked(s, to)) == 0
                           : drain_may_help(s, to) && cache_drain(s);
        if (*moved != 0 || (merged && block_grow(s, *pfn, *k, to)))
            return ANALLOC_OK;
        if (again || !drain_may_help(s, to) || !stores_emptied(s))
            return ANALLOC_ENOMEM;
    }
}

void *analloc_realloc(analloc_t a, void *ptr, size_t size)
{
    if (ptr == NULL)
        return analloc_alloc(a, size);
    if (!is_setup_ptr(a))
        return NULL;
    struct analloc_internal *s = &a->internal;
    unsigned to = order_for(a, size), k;
    uintptr_t pfn, moved;
    lock(s);
    int err = resize_locked(a, (uintptr_t)ptr, to, true, &k, &pfn, &moved);
    unsigned poison = s->poison;
    unlock(s);
    if (err != ANALLOC_OK)
        return NULL;
    if (moved == 0) { /* in place */
        if (poison != 0 && to > k)
            pages_fresh(s, poison, pfn + pages_of(k), pages_of(to) - pages_of(k));
        return ptr;
    }
    /* Outside the lock: both blocks are ours. */
    if (poison != 0) {
        pages_fresh(s, poison & ~(unsigned)ANALLOC_DEBUG_POISON_FRESH, moved, pages_of(k));
        pages_fresh(s, poison, moved + pages_of(k), pages_of(to) - pages_of(k));
    }
    bytes_copy(page_ptr(s, moved), ptr, a->page << k);
    if (poison != 0)
        pages_freed(s, poison, pfn, pages_of(k));
    lock(s);
    err = block_lookup_cold(a, (uintptr_t)ptr, &k, &pfn);
    if (err == ANALLOC_OK)
        block_free(s, k, pfn, false);
    else
        report(s, err, (uintptr_t)ptr); /* freed by another thread meanwhile */
    unlock(s);
    return page_ptr(s, moved);
}

/* ---- The address-space calls: their pointer twins, with uint64_t addresses */

uint64_t analloc_space_alloc(analloc_t a, uint64_t size)
{
    uintptr_t pfn = is_setup(a) ? alloc_pages(a, size) : 0;
    return pfn == 0 ? ANALLOC_NO_ADDR : page_addr(&a->internal, pfn);
}

uint64_t analloc_space_alloc_range(analloc_t a, uint64_t size, uint64_t align, uint64_t lo,
                                   uint64_t hi, unsigned flags)
{
    uintptr_t pfn = is_setup(a) ? alloc_placed(a, size, align, lo, hi, flags) : 0;
    return pfn == 0 ? ANALLOC_NO_ADDR : page_addr(&a->internal, pfn);
}

int analloc_space_alloc_exact(analloc_t a, uint64_t size, uint64_t align, uint64_t lo,
                              uint64_t hi, unsigned flags, uint64_t *addr)
{
    if (!is_setup(a) || addr == NULL)
        return ANALLOC_EINVAL;
    uintptr_t pfn;
    int err = alloc_run(a, size, align, lo, hi, flags, &pfn);
    if (err == ANALLOC_OK)
        *addr = page_addr(&a->internal, pfn);
    return err;
}

int analloc_space_free_exact(analloc_t a, uint64_t addr, uint64_t size)
{
    if (!is_setup(a))
        return ANALLOC_EINVAL;
    return addr == ANALLOC_NO_ADDR ? ANALLOC_OK : free_run(a, addr, size);
}

int analloc_space_free(analloc_t a, uint64_t addr)
{
    if (!is_setup(a))
        return ANALLOC_EINVAL;
    return addr == ANALLOC_NO_ADDR ? ANALLOC_OK : free_section(a, addr);
}

uint64_t analloc_space_size(const struct analloc *a, uint64_t addr)
{
    return is_setup(a) ? block_size_at(a, addr) : 0;
}

int analloc_space_resize(analloc_t a, uint64_t addr, uint64_t size)
{
    if (!is_setup(a))
        return ANALLOC_EINVAL;
    struct analloc_internal *s = &a->internal;
    unsigned to = order_for(a, size), k;
    uintptr_t pfn, moved;
    lock(s);
    int err = resize_locked(a, addr, to, false, &k, &pfn, &moved);
    unsigned poison = s->poison;
    unlock(s);
    if (err == ANALLOC_OK && poison != 0 && to > k)
        pages_fresh(s, poison, pfn + pages_of(k), pages_of(to) - pages_of(k));
    return err;
}

/* After a change of the settings that decide it, the set-up mark says again
 * whether the inline paths may run.  Written only when it changes: with lock
 * hooks it stays AN_MAGIC, and the inline paths read it without the lock. */
static void mode_update(struct analloc_internal *s)
{
    uint32_t m = mode_magic(s);
    // cppcheck-suppress duplicateConditionalAssign ; a store only when it changes, on purpose
    if (s->magic != m)
        an_store(&s->magic, m); /* read by the inline paths and the stores without the lock */
}

/* Drain the cache and give each list `slots` slots (0: the cache is off). */
static void cache_set_slots(struct analloc_internal *s, unsigned slots)
{
    cache_drain(s);
    s->cache_slots = slots;
    for (unsigned k = 0; k < s->cache_orders; k++)
        ORDER_CAP(s, k) = cache_cap(s->hi - s->lo, slots, k);
    mode_update(s);
}

/* ---- Per-CPU stores ----------------------------------------------------------
 *
 * PER-CPU STORES (include/analloc.h has the contract).  A store is the
 * block cache split per CPU: its lists are in the caller's struct
 * analloc_cpu, and each block it holds is recorded in the allocator's cache
 * table exactly as a cached block is (its key in its bucket), so that
 * block_cached, the walk, the dump and analloc_check see stored blocks as
 * cached, and a double free of one is found in O(1) from any CPU.  The
 * allocator's own cache is off while a store is attached.
 *
 * Who may touch what:
 *  - a store's lists: its owner, under the store's spinlock; others (giving
 *    it back) take that lock too;
 *  - a table entry: written under its bucket's lock (bit 63 of the bucket's
 *    first entry) when a block is recorded; cleared by the store that holds
 *    the block (one atomic AND: it owns the entry);
 *  - the bits (free and split words): only in lock sections, as atomic
 *    stores, so that a store's free may read them without the lock.
 * The lock order is: the list of stores (bit 0 of STORE_LIST), a store,
 * the allocator's lock hooks, a bucket.  Nothing waits for an earlier lock
 * while it holds a later one: a failing allocation lets the allocator's
 * lock go before it takes the list and the stores.
 *
 * A store's free checks without the lock: the block's order from its split
 * word and its free bit, read after the sequence counter STORE_SEQ, which
 * every lock section makes odd on entry and even on exit (a seqlock: a
 * count that is odd or has changed means the bits may be torn, and the
 * free is left to analloc_free, under the lock).  Under the bucket's lock
 * it reads the bucket and then the counter again: if the counter has not
 * moved, no lock section ran since the bits were read, and a lock section that starts now reads the bucket under its lock
 * only after its counter is published (block_held), so it sees the record.
 * Two frees of one block record it once: the second finds the key.
 * Anything unusual (a reserved range, debug fills, an order the store does
 * not keep, a full bucket, a pointer that fails a check) goes to
 * analloc_free, which checks again under the lock and reports the error.
 */
#if ANALLOC_STORES

/* A store's own lock: its word's bit 0. */
static void spin_lock(const struct analloc_internal *s, uint64_t *w)
{
    bit_lock(s, w, 1u);
}

static void spin_unlock(uint64_t *w)
{
    an_store_release(w, (uint64_t)0); /* (the word holds nothing else: no read-modify-write) */
}

/* Take the list of stores; returns its first store. */
static struct analloc_cpu *stores_lock(struct analloc_internal *s)
{
    return (struct analloc_cpu *)(uintptr_t)bit_lock(s, &STORE_LIST(s), STORE_LIST_LOCKED);
}

static void stores_unlock(struct analloc_internal *s)
{
    bit_unlock(&STORE_LIST(s), STORE_LIST_LOCKED);
}

/* A new first store (or none), inside a lock section with the list taken.
 * The sequence counter follows: the section's lock made it odd only if a
 * store was attached, and its unlock will make it even only if one is: the
 * first store makes it odd now; without the last it is 0 again (no store is
 * left to read it). */
static void stores_set_first(struct analloc_internal *s, struct analloc_cpu *first)
{
    bool had = stores_first(s) != NULL;
    STORE_CHECK(s) = ~(uint64_t)(uintptr_t)first;
    an_store(&STORE_LIST(s), (uint64_t)(uintptr_t)first | STORE_LIST_LOCKED);
    if (!had && first != NULL) {
        an_store(&STORE_SEQ(s), an_load(&STORE_SEQ(s)) + 1u);
        an_fence_release();
    } else if (had && first == NULL) {
        an_store_release(&STORE_SEQ(s), (uint64_t)0);
    }
}

/* Record the taken order-k block at pfn as the newest of store c's list k
 * (which has room); false, changing nothing, if its bucket is full. */
static bool store_record(struct analloc_cpu_internal *c, struct analloc_internal *s, unsigned k,
                         uintptr_t pfn)
{
    uint64_t key = block_key(s, k, pfn);
    unsigned b = key_bucket(s, key), way = CACHE_WAYS;
    uint64_t *bucket = &CACHE_KEY(s, b);
    bucket_lock(s, bucket);
    for (unsigned w = CACHE_WAYS; w-- > 0;)
        way = (an_load(&bucket[w]) & ~BUCKET_LOCKED) == 0 ? w : way;
    if (way != CACHE_WAYS)
        an_store(&bucket[way], key | (way == 0 ? BUCKET_LOCKED : 0u));
    bucket_unlock(bucket);
    if (way == CACHE_WAYS)
        return false;
    uint32_t n = c->count[k];
    STORE_SLOT(c, k, n) = (uint16_t)(b + way + 1u);
    an_store(&c->count[k], n + 1u);
    return true;
}

/* The block in slot i of store c's list k: its record cleared (the entry is
 * the store's), its first page returned. */
static uintptr_t store_unrecord(struct analloc_cpu_internal *c, struct analloc_internal *s,
                                unsigned k, unsigned i)
{
    uint64_t key = an_and_release(&CACHE_KEY(s, STORE_SLOT(c, k, i) - 1u), BUCKET_LOCKED) & ~BUCKET_LOCKED;
    STORE_SLOT(c, k, i) = 0;
    return (uintptr_t)(key - c->base[k]) << k;
}

/* List k of store c is empty: in a lock section, take ANALLOC_CPU_BATCH(k)
 * blocks as single allocations would, hand out the first and keep the rest
 * to go out in the same order.  Returns the first page, 0 if none. */
static ANALLOC_NOINLINE uintptr_t store_refill(struct analloc_cpu_internal *c,
                                               struct analloc_internal *s, unsigned k)
{
    lock(s);
    uintptr_t first = block_take(s, k);
    s->taken_blocks += first != 0;
    for (unsigned i = 1; first != 0 && i < ANALLOC_CPU_BATCH(k); i++) {
        uintptr_t pfn = block_take(s, k);
        if (pfn == 0)
            break;
        s->taken_blocks++;
        if (!store_record(c, s, k, pfn)) {
            block_give_back(s, k, pfn);
            break;
        }
    }
    unlock(s);
    for (uint32_t lo = 0, hi = c->count[k]; hi > lo + 1u; lo++, hi--) {
        uint16_t slot = STORE_SLOT(c, k, lo);
        STORE_SLOT(c, k, lo) = STORE_SLOT(c, k, hi - 1u);
        STORE_SLOT(c, k, hi - 1u) = slot;
    }
    return first;
}

/* List k of store c is full: its ANALLOC_CPU_BATCH(k) oldest blocks merge,
 * in a lock section. */
static ANALLOC_NOINLINE void store_spill(struct analloc_cpu_internal *c, struct analloc_internal *s,
                                         unsigned k)
{
    uint32_t n = c->count[k], out = ANALLOC_CPU_BATCH(k);
    lock(s);
    for (unsigned i = 0; i < out; i++)
        block_give_back(s, k, store_unrecord(c, s, k, i));
    unlock(s);
    for (unsigned i = out; i < n; i++) {
        STORE_SLOT(c, k, i - out) = STORE_SLOT(c, k, i);
        STORE_SLOT(c, k, i) = 0;
    }
    an_store(&c->count[k], n - out);
}

/* Every block of store c merges (its lock and a lock section held). */
static void store_empty(struct analloc_cpu_internal *c, struct analloc_internal *s)
{
    for (unsigned k = 0; k < ANALLOC_CPU_ORDERS; k++) {
        for (uint32_t n = c->count[k]; n-- > 0;)
            block_give_back(s, k, store_unrecord(c, s, k, n));
        an_store(&c->count[k], 0u);
    }
}

static void stores_give_back(struct analloc_internal *s)
{
    if (stores_first(s) == NULL)
        return;
    for (struct analloc_cpu *c = stores_lock(s); c != NULL; c = c->internal.next) {
        spin_lock(s, &c->internal.lock);
        lock(s);
        store_empty(&c->internal, s);
        unlock(s);
        spin_unlock(&c->internal.lock);
    }
    stores_unlock(s);
}

/* analloc_check's: take the list and every store (in this order), or give
 * them back. */
const struct analloc_cpu *an_stores_hold(struct analloc_internal *s)
{
    struct analloc_cpu *first = stores_lock(s);
    for (struct analloc_cpu *c = first; c != NULL; c = c->internal.next)
        spin_lock(s, &c->internal.lock);
    return first;
}

void an_stores_let_go(struct analloc_internal *s)
{
    for (struct analloc_cpu *c = stores_first(s); c != NULL; c = c->internal.next)
        spin_unlock(&c->internal.lock);
    stores_unlock(s);
}

/* analloc_cpu_free's work under the store's lock: 0, or 1 to let
 * analloc_free do it (see PER-CPU STORES), which it also does when a lock
 * section ran while the bits were read (they may be torn): rare, since the
 * common path holds no lock and lock sections are the stores' batches. */
static int store_free(struct analloc_cpu_internal *c, struct analloc_internal *s, uintptr_t addr,
                      size_t page)
{
    const uint64_t *words = s->words;
    uintptr_t pfn = addr >> s->shift;
    if (pfn - s->lo >= s->hi - s->lo || (addr & (page - 1u)) != 0)
        return 1;
    for (;;) { /* a second pass after a spill, which leaves room */
        uint64_t seq = an_load_acquire(&STORE_SEQ(s));
        if ((seq & 1u) != 0 || an_load(&s->ranges) != 0 || an_load(&s->poison) != 0)
            return 1;
        /* block_order, its first split word peeled as in analloc_free, from
         * the store's copy of where it starts (the order table's line
         * changes in every lock section) */
        uint64_t path = an_load(&words[(size_t)(c->split1 + (uint64_t)(pfn >> SPLIT_SPAN))]) &
                        an_split_path[pfn & 63u];
        unsigned k = path != 0 ? path_order(path) : block_order(s, pfn);
        if (k >= store_orders(s) || ((pfn >> k) << k) != pfn)
            return 1;
        uint64_t key = c->base[k] + (pfn >> k); /* in the table's range, torn bits or not */
        if ((an_load(&words[bv_index(key)]) & bv_mask(key)) != 0)
            return 1; /* free */
        an_fence_acquire(); /* the bits are read before the counter again */
        unsigned b = key_bucket(s, key);
        uint64_t *bucket = &CACHE_KEY(s, b);
        bucket_lock(s, bucket);
        /* the four entries (the first without its lock bit), as in
         * analloc_free: conditional moves, no loop */
        uint64_t v0 = an_load_acquire(&bucket[0]) & ~BUCKET_LOCKED, v1 = an_load_acquire(&bucket[1]),
                 v2 = an_load_acquire(&bucket[2]), v3 = an_load_acquire(&bucket[3]);
        bool held = v0 == key || v1 == key || v2 == key || v3 == key;
        unsigned way = v3 == 0 ? 3u : CACHE_WAYS;
        way = v2 == 0 ? 2u : way;
        way = v1 == 0 ? 1u : way;
        way = v0 == 0 ? 0u : way;
        /* a lock section since the bits were read; a double free; a full bucket */
        if (an_load(&STORE_SEQ(s)) != seq || held || way == CACHE_WAYS) {
            bucket_unlock(bucket);
            return 1;
        }
        uint32_t n = c->count[k];
        if (n < ANALLOC_CPU_CAP(k)) {
            an_store(&bucket[way], key | (way == 0 ? BUCKET_LOCKED : 0u));
            bucket_unlock(bucket);
            STORE_SLOT(c, k, n) = (uint16_t)(b + way + 1u);
            an_store(&c->count[k], n + 1u);
            return 0;
        }
        bucket_unlock(bucket);
        store_spill(c, s, k); /* after the checks: a refused free changes nothing */
    }
}
#else
static void stores_give_back(struct analloc_internal *s)
{
    (void)s;
}
#endif

static bool store_attached(const struct analloc_cpu *c)
{
    return c != NULL && c->internal.magic == STORE_MAGIC && is_setup(c->a);
}

int analloc_cpu_attach(analloc_t a, struct analloc_cpu *c)
{
    if (!is_setup_ptr(a) || c == NULL)
        return ANALLOC_EINVAL;
    if (c->internal.magic == STORE_MAGIC)
        return ANALLOC_EBUSY;
    struct analloc_internal *s = &a->internal;
    struct analloc_cpu_internal *ci = &c->internal;
    for (unsigned k = 0; k < ANALLOC_CPU_ORDERS; k++) {
        ci->base[k] = k <= s->depth ? ORDER_BASE(s, k) : 0;
        ci->count[k] = 0;
    }
    for (unsigned i = 0; i < ANALLOC_CPU_SLOTS; i++)
        ci->slot[i] = 0;
    ci->split1 = s->depth >= 1 ? ORDER_SPLIT(s, 1) : 0;
    ci->lock = 0;
    ci->next = NULL;
    c->a = a;
#if ANALLOC_STORES
    if (s->depth >= 1) { /* (one page: nothing to keep, and no room in the order table) */
        struct analloc_cpu *first = stores_lock(s);
        lock(s);
        if (first == NULL)
            cache_set_slots(s, 0);
        ci->next = first;
        ci->magic = STORE_MAGIC;
        stores_set_first(s, c);
        unlock(s);
        stores_unlock(s);
        return ANALLOC_OK;
    }
#endif
    ci->magic = STORE_MAGIC;
    return ANALLOC_OK;
}

int analloc_cpu_detach(struct analloc_cpu *c)
{
    if (!store_attached(c))
        return ANALLOC_EINVAL;
#if ANALLOC_STORES
    struct analloc_internal *s = &c->a->internal;
    if (s->depth >= 1) {
        struct analloc_cpu *first = stores_lock(s);
        spin_lock(s, &c->internal.lock);
        lock(s);
        store_empty(&c->internal, s);
        if (first == c) {
            first = c->internal.next;
        } else {
            struct analloc_cpu *p = first;
            while (p->internal.next != c)
                p = p->internal.next;
            p->internal.next = c->internal.next;
        }
        stores_set_first(s, first);
        unlock(s);
        c->internal.magic = 0;
        spin_unlock(&c->internal.lock);
        stores_unlock(s);
        c->a = NULL;
        return ANALLOC_OK;
    }
#endif
    c->internal.magic = 0;
    c->a = NULL;
    return ANALLOC_OK;
}

void analloc_cpu_drain(struct analloc_cpu *c)
{
    if (!store_attached(c))
        return;
#if ANALLOC_STORES
    struct analloc_internal *s = &c->a->internal;
    spin_lock(s, &c->internal.lock);
    lock(s);
    store_empty(&c->internal, s);
    unlock(s);
    spin_unlock(&c->internal.lock);
#endif
}

void *analloc_cpu_alloc(struct analloc_cpu *c, size_t size)
{
    if (!store_attached(c))
        return NULL;
    struct analloc *a = c->a;
#if ANALLOC_STORES
    struct analloc_internal *s = &a->internal;
    struct analloc_cpu_internal *ci = &c->internal;
    unsigned k = order_for(a, size);
    if (k < store_orders(s) && an_load(&s->poison) == 0 && s->depth >= 1) {
        spin_lock(s, &ci->lock);
        uint32_t n = ci->count[k];
        uintptr_t pfn;
        if (ANALLOC_LIKELY(n != 0)) {
            pfn = store_unrecord(ci, s, k, n - 1u);
            an_store(&ci->count[k], n - 1u);
        } else {
            pfn = store_refill(ci, s, k);
        }
        spin_unlock(&ci->lock);
        if (pfn != 0)
            return page_ptr(s, pfn);
    }
#endif
    /* With a store attached the cache is off: analloc_alloc would go to
     * alloc_slow, which gives every store back before it fails.  (Calling
     * it directly keeps analloc_alloc whole: a caller inside the library
     * makes the compiler split it.) */
    return alloc_slow(a, size);
}

int analloc_cpu_free(struct analloc_cpu *c, void *ptr)
{
    if (!store_attached(c))
        return ANALLOC_EINVAL;
    if (ptr == NULL)
        return ANALLOC_OK;
#if ANALLOC_STORES
    struct analloc_internal *s = &c->a->internal;
    if (s->depth >= 1) {
        spin_lock(s, &c->internal.lock);
        int r = store_free(&c->internal, s, (uintptr_t)ptr, c->a->page);
        spin_unlock(&c->internal.lock);
        if (r == 0)
            return ANALLOC_OK;
    }
#endif
    return free_slow(c->a, ptr); /* (as analloc_free would, with the cache off) */
}

/* ---- Reserving and releasing ranges ---------------------------------------- */

/* Pages that the addresses [addr, addr + size) touch: [*r0, *r1), inside
 * the arena. */
static int page_range(const struct analloc *a, uint64_t addr, uint64_t size, uintptr_t *r0,
                      uintptr_t *r1)
{
    const struct analloc_internal *s = &a->internal;
    if (size == 0 || addr + size < addr) /* also catches a range ending at the top */
        return ANALLOC_EINVAL;
    if (addr < page_addr(s, s->lo) || addr + size > page_addr(s, s->hi))
        return ANALLOC_ERANGE; /* (the arena's addresses end below 2^64) */
    *r0 = (uintptr_t)((addr - s->origin) >> s->shift);
    *r1 = (uintptr_t)((addr + size - 1u - s->origin) >> s->shift) + 1u;
    return ANALLOC_OK;
}

/* The pointer calls' own check: a range that wraps the pointer's width. */
static bool ptr_range_ok(const struct analloc *a, uintptr_t addr, size_t size)
{
    return is_setup_ptr(a) && addr + size >= addr;
}

/* Remove entry i of the range table. */
static void range_remove(struct analloc_internal *s, unsigned i)
{
    for (; i + 1u < s->ranges; i++) {
        RANGE_FIRST(s, i) = RANGE_FIRST(s, i + 1u);
        RANGE_END(s, i) = RANGE_END(s, i + 1u);
    }
    an_store(&s->ranges, s->ranges - 1u); /* a store reads it without the lock */
    RANGE_FIRST(s, s->ranges) = RANGE_END(s, s->ranges) = 0;
    mode_update(s);
}

/* Insert [r0, r1) as entry i (the table has room). */
static void range_insert(struct analloc_internal *s, unsigned i, uintptr_t r0, uintptr_t r1)
{
    for (unsigned t = s->ranges; t > i; t--) {
        RANGE_FIRST(s, t) = RANGE_FIRST(s, t - 1u);
        RANGE_END(s, t) = RANGE_END(s, t - 1u);
    }
    RANGE_FIRST(s, i) = r0;
    RANGE_END(s, i) = r1;
    an_store(&s->ranges, s->ranges + 1u);
    mode_update(s);
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
    return ptr_range_ok(a, addr, size) ? analloc_space_reserve(a, addr, size) : ANALLOC_EINVAL;
}

int analloc_space_reserve(analloc_t a, uint64_t addr, uint64_t size)
{
    if (!is_setup(a))
        return ANALLOC_EINVAL;
    struct analloc_internal *s = &a->internal;
    uintptr_t r0, r1;
    int err = page_range(a, addr, size, &r0, &r1);
    if (err != ANALLOC_OK)
        return err;
    lock(s);
    /* Every page must be free, in the buddy system or in the cache (or in
     * a store: then every store is given back, once, and the scan starts
     * over; a block stored again meanwhile is busy). */
    bool in_cache = false;
    for (uintptr_t p = r0; p < r1;) {
        unsigned k = block_order(s, p);
        uintptr_t j = p >> k;
        if (block_cached(s, k, j << k) && !in_cache && stores_emptied(s)) {
            in_cache = true;
            p = r0;
            continue;
        }
        if (block_cached(s, k, j << k) && stores_first(s) == NULL) {
            in_cache = true;
        } else if (!node_free(s, k, j)) {
            unlock(s);
            return ANALLOC_EBUSY; /* allocated, reserved already, or stored again */
        }
        p = (j + 1u) << k;
    }
    /* The table: the new range merges with neighbours that touch it. */
    unsigned i = range_find(s, r0 - 1u); /* r0 >= lo >= 1 */
    bool joins_prev = i < s->ranges && RANGE_END(s, i) == r0;
    unsigned next = joins_prev ? i + 1u : i;
    bool joins_next = next < s->ranges && RANGE_FIRST(s, next) == r1;
    if (!joins_prev && !joins_next && s->ranges == ANALLOC_RESERVE_MAX) {
        unlock(s);
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
        RANGE_END(s, i) = RANGE_END(s, i + 1u);
        range_remove(s, i + 1u);
    } else if (joins_prev) {
        RANGE_END(s, i) = r1;
    } else if (joins_next) {
        RANGE_FIRST(s, next) = r0;
    } else {
        range_insert(s, i, r0, r1);
    }
    s->reserved_pages += (size_t)(r1 - r0);
    unsigned poison = s->poison;
    unlock(s);
#if ANALLOC_CAN_ANNOTATE
    if (poison & (ANALLOC_DEBUG_ANNOTATE | ANNOTATE_LEAVING)) /* the caller's again */
        ANALLOC_ANNOTATE_USE(page_ptr(s, r0), (size_t)(r1 - r0) << s->shift);
#else
    (void)poison;
#endif
    return ANALLOC_OK;
}

/* Can [r0, r1) be released?  0 with the range's table entry in *at, or the
 * error, changing nothing. */
static int release_check(const struct analloc_internal *s, uintptr_t r0, uintptr_t r1, unsigned *at)
{
    unsigned i = range_find(s, r0);
    if (i == s->ranges || RANGE_FIRST(s, i) > r0 || RANGE_END(s, i) < r1)
        return ANALLOC_ENOTRESERVED; /* not wholly inside one reserved range */
    if (RANGE_FIRST(s, i) < r0 && r1 < RANGE_END(s, i) && s->ranges == ANALLOC_RESERVE_MAX)
        return ANALLOC_ELIMIT; /* the range would become two */
    *at = i;
    return ANALLOC_OK;
}

int analloc_release(analloc_t a, uintptr_t addr, size_t size)
{
    return ptr_range_ok(a, addr, size) ? analloc_space_release(a, addr, size) : ANALLOC_EINVAL;
}

int analloc_space_release(analloc_t a, uint64_t addr, uint64_t size)
{
    if (!is_setup(a))
        return ANALLOC_EINVAL;
    struct analloc_internal *s = &a->internal;
    uintptr_t r0, r1;
    int err = page_range(a, addr, size, &r0, &r1);
    if (err != ANALLOC_OK)
        return err;
    unsigned i;
    lock(s);
    err = release_check(s, r0, r1, &i);
#if ANALLOC_CAN_ANNOTATE
    if (err == ANALLOC_OK && (s->poison & ANALLOC_DEBUG_ANNOTATE) != 0) {
        /* Off limits before anyone can take them; never filled: the pages
         * may not be memory yet. */
        unlock(s);
        ANALLOC_ANNOTATE_FREE(page_ptr(s, r0), (size_t)(r1 - r0) << s->shift);
        lock(s);
        err = release_check(s, r0, r1, &i);
    }
#endif
    if (err != ANALLOC_OK) {
        unlock(s);
        return err;
    }
    uintptr_t e0 = RANGE_FIRST(s, i), e1 = RANGE_END(s, i);
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
        range_remove(s, i);
    } else if (e0 == r0) {
        RANGE_FIRST(s, i) = r1;
    } else if (e1 == r1) {
        RANGE_END(s, i) = r0;
    } else { /* the middle: two ranges from one */
        RANGE_END(s, i) = r0;
        range_insert(s, i + 1u, r1, e1);
    }
    s->reserved_pages -= (size_t)(r1 - r0);
    unlock(s);
    return ANALLOC_OK;
}

/* ---- Settings ------------------------------------------------------------------ */


void analloc_drain(analloc_t a)
{
    if (!is_setup(a))
        return;
    stores_give_back(&a->internal);
    lock(&a->internal);
    cache_drain(&a->internal);
    unlock(&a->internal);
}

int analloc_set_cache(analloc_t a, unsigned slots)
{
    if (!is_setup(a) || slots > ANALLOC_CACHE_MAX)
        return ANALLOC_EINVAL;
    lock(&a->internal);
    bool stores = stores_first(&a->internal) != NULL;
    if (!stores)
        cache_set_slots(&a->internal, slots);
    unlock(&a->internal);
    return stores ? ANALLOC_EBUSY : ANALLOC_OK;
}

int analloc_set_lock(analloc_t a, analloc_lock_fn lock_fn, analloc_lock_fn unlock_fn, void *ctx)
{
    if (!is_setup(a) || (lock_fn == NULL) != (unlock_fn == NULL))
        return ANALLOC_EINVAL;
    a->internal.lock = lock_fn;
    a->internal.unlock = unlock_fn;
    a->internal.lock_ctx = ctx;
    mode_update(&a->internal);
    return ANALLOC_OK;
}

int analloc_set_relax(analloc_t a, analloc_lock_fn relax, void *ctx)
{
    if (!is_setup(a))
        return ANALLOC_EINVAL;
    if (stores_first(&a->internal) != NULL)
        return ANALLOC_EBUSY; /* a store's call may be reading the hook */
    a->internal.relax = relax;
    a->internal.relax_ctx = ctx;
    return ANALLOC_OK;
}

void analloc_set_error_hook(analloc_t a, analloc_error_hook hook, void *ctx)
{
    if (!is_setup(a))
        return;
    lock(&a->internal);
    a->internal.hook = hook;
    a->internal.hook_ctx = ctx;
    unlock(&a->internal);
}

#if ANALLOC_CAN_ANNOTATE
/*
 * Tell the sanitizer that every free and cached block is off limits (`on`),
 * or addressable again, one lock section per block: the block at each step
 * is looked at while it cannot change hands.  Blocks freed behind the walk
 * are annotated by their free (the flag is already on); blocks taken ahead
 * of it are lifted by their allocation (ANNOTATE_LEAVING while turning off).
 */
static void annotate_walk(struct analloc_internal *s, bool on)
{
    for (uintptr_t p = s->lo;;) {
        lock(s);
        if (p >= s->hi) {
            unlock(s);
            return;
        }
        unsigned k = block_order(s, p);
        uintptr_t first = (p >> k) << k;
        if (!range_holds(s, first) && block_kind(s, k, first) != ANALLOC_BLOCK_USED) {
            if (on)
                ANALLOC_ANNOTATE_FREE(page_ptr(s, first), pages_of(k) << s->shift);
            else
                ANALLOC_ANNOTATE_USE(page_ptr(s, first), pages_of(k) << s->shift);
        }
        p = first + pages_of(k);
        unlock(s);
    }
}
#endif

int analloc_set_debug(analloc_t a, unsigned flags, unsigned char free_byte, unsigned char fresh_byte)
{
    if (!is_setup(a) || (flags & ~(unsigned)DEBUG_FLAGS) != 0 ||
        ((flags & ANALLOC_DEBUG_ANNOTATE) != 0 && !ANALLOC_CAN_ANNOTATE) ||
        (flags != 0 && a->internal.space != 0))
        return ANALLOC_EINVAL;
    struct analloc_internal *s = &a->internal;
    unsigned word = flags == 0 ? 0 : flags | (unsigned)free_byte << 8 | (unsigned)fresh_byte << 16;
    lock(s);
#if ANALLOC_CAN_ANNOTATE
    bool was = (s->poison & ANALLOC_DEBUG_ANNOTATE) != 0, now = (flags & ANALLOC_DEBUG_ANNOTATE) != 0;
    an_store(&s->poison, was && !now ? word | ANNOTATE_LEAVING : word); /* stores read it */
    mode_update(s);
    unlock(s);
    if (was != now) { /* free memory changes side */
        annotate_walk(s, now);
        if (!now) {
            lock(s);
            an_store(&s->poison, s->poison & ~(unsigned)ANNOTATE_LEAVING);
            mode_update(s);
            unlock(s);
        }
    }
#else
    an_store(&s->poison, word);
    mode_update(s);
    unlock(s);
#endif
    return ANALLOC_OK;
}
