/*
 * layout.h - the build's tunables and the metadata layout they shape.
 * Included by src/internal.h; tests that look inside the metadata include
 * it too.  `n` is an arena's number of pages.
 */
#ifndef ANALLOC_LAYOUT_H
#define ANALLOC_LAYOUT_H

#include "analloc.h"

/* ---- Tunables: may be modified ---------------------------------------------
 * Define them when compiling src/ (a kernel with its own flags may); programs
 * that only include analloc.h need not agree, since none of them changes
 * struct analloc.  They size the tables at the start of the metadata, so
 * analloc_meta_size() follows them; analloc_stats() reports the values a
 * library was built with. */

/* The block cache: freed blocks of the ANALLOC_CACHE_ORDERS smallest orders
 * wait unmerged in a list per order, for the next allocations of their
 * order.  The list of order k holds up to cache_slots >> (k / 2) blocks
 * (rarer and larger blocks wait in shorter lists); setup sets cache_slots
 * to ANALLOC_CACHE_DEFAULT, analloc_set_cache to anything up to
 * ANALLOC_CACHE_MAX.  A table where each cached block's key sits in one of
 * the four entries of its bucket tells in O(1) whether a block is cached;
 * it has up to ANALLOC_CACHE_TABLE entries (a power of two; fewer for a
 * small arena: room for every node). */
#ifndef ANALLOC_CACHE_ORDERS
#define ANALLOC_CACHE_ORDERS 8
#endif
#ifndef ANALLOC_CACHE_MAX
#define ANALLOC_CACHE_MAX 128
#endif
#ifndef ANALLOC_CACHE_DEFAULT
#define ANALLOC_CACHE_DEFAULT ANALLOC_CACHE_MAX
#endif
#ifndef ANALLOC_CACHE_TABLE
#define ANALLOC_CACHE_TABLE 4096
#endif
/* Separate reserved page ranges an allocator can hold (analloc_reserve). */
#ifndef ANALLOC_RESERVE_MAX
#define ANALLOC_RESERVE_MAX 16
#endif

/* ---- Do not modify ---------------------------------------------------------- */

_Static_assert(ANALLOC_CACHE_ORDERS >= 1 && ANALLOC_CACHE_ORDERS <= 32,
               "ANALLOC_CACHE_ORDERS: 1 to 32");
_Static_assert(ANALLOC_CACHE_MAX >= 1 && ANALLOC_CACHE_MAX <= 128, "ANALLOC_CACHE_MAX: 1 to 128");
_Static_assert(ANALLOC_CACHE_DEFAULT <= ANALLOC_CACHE_MAX, "ANALLOC_CACHE_DEFAULT too large");
_Static_assert(ANALLOC_CACHE_TABLE >= 4 && ANALLOC_CACHE_TABLE <= 4096 &&
                   (ANALLOC_CACHE_TABLE & (ANALLOC_CACHE_TABLE - 1)) == 0,
               "ANALLOC_CACHE_TABLE: a power of two, 4 to 4096");

_Static_assert(ANALLOC_RESERVE_MAX >= 1 && ANALLOC_RESERVE_MAX <= 64,
               "ANALLOC_RESERVE_MAX: 1 to 64");

/*
 * The metadata is one array of 64-bit words, and every part of it is read and
 * written as uint64_t only (one type per object: no aliasing question, with
 * or without LTO, whatever the caller declared the buffer as):
 *     [order table][cache lists][cache table][range table][index levels][split bits]
 *   order table, at `words`: a row per order k: the index bit where order k's
 *     run starts (ORDER_START), the number of free order-k blocks
 *     (ORDER_FREE), the index bit of the lowest of them (ORDER_LOWEST; the
 *     next order's start if none), two sums that make a node's bits one
 *     addition away: bit ORDER_BASE + j of the metadata (counted from
 *     `words`) is the free bit of node (k, j), and ORDER_SPLIT + (j >> s)
 *     the word of its split bit (src/internal.h, split_bit; both modulo
 *     2^64), the word where order k's cache list starts (ORDER_LIST, 0 if
 *     the order has none), the list's capacity at the present setting
 *     (ORDER_CAP: cache_cap(n, cache_slots, k), 0 if none), and a zero, so
 *     that a row is 64 bytes; the row after the last order holds the end
 *     of the index and zeros.
 *   cache lists, at `cache`: per cached order k (cache_orders of them:
 *     cache_list_orders), CACHE_COUNT (blocks in the list) and
 *     cache_cap(n, ANALLOC_CACHE_MAX, k) slots CACHE_SLOT(s, k, i): 1 + the
 *     table entry of the list's i-th block (0 the oldest); 0 in every slot
 *     not in use.
 *   cache table, at `table`: 2^cache_bits entries: CACHE_KEY(s, e), the key
 *     of a cached block, in one of the CACHE_WAYS entries of its bucket
 *     (cache_bucket), or 0.  The key is the block's node's free bit counted
 *     from `words` (ORDER_BASE + j: never 0, the order table comes first).
 *   range table, right after it: RANGE_FIRST(s, i) and RANGE_END(s, i), the
 *     pages [first, end) of the i-th reserved range, sorted, disjoint and
 *     never adjacent; 0 in every entry not in use.
 */
#define ORDER_ROW 8u
#define SPLIT_SPAN 6u /* orders per split word (src/internal.h, split_bit) */
#define CACHE_WAYS 4u /* entries per bucket of the cache table */
#define RANGE_WORDS ((size_t)ANALLOC_RESERVE_MAX * 2u)

#define ORDER_START(s, k) ((s)->words[ORDER_ROW * (size_t)(k)])
#define ORDER_FREE(s, k) ((s)->words[ORDER_ROW * (size_t)(k) + 1u])
#define ORDER_LOWEST(s, k) ((s)->words[ORDER_ROW * (size_t)(k) + 2u])
#define ORDER_BASE(s, k) ((s)->words[ORDER_ROW * (size_t)(k) + 3u])
#define ORDER_SPLIT(s, k) ((s)->words[ORDER_ROW * (size_t)(k) + 4u])
#define ORDER_LIST(s, k) ((s)->words[ORDER_ROW * (size_t)(k) + 5u])
#define ORDER_CAP(s, k) ((s)->words[ORDER_ROW * (size_t)(k) + 6u])
#define ORDER_SPARE(s, k) ((s)->words[ORDER_ROW * (size_t)(k) + 7u]) /* zero */
#define CACHE_COUNT(s, k) ((s)->words[ORDER_LIST(s, k)])
#define CACHE_SLOT(s, k, i) ((s)->words[ORDER_LIST(s, k) + 1u + (i)])
#define CACHE_KEY(s, e) ((s)->table[(e)])
#define RANGE_FIRST(s, i) ((s)->table[((size_t)1 << (s)->cache_bits) + 2u * (size_t)(i)])
#define RANGE_END(s, i) ((s)->table[((size_t)1 << (s)->cache_bits) + 2u * (size_t)(i) + 1u])

/* The capacity of order k's cache list in an arena of n pages with `slots`
 * slots per list: halving every two orders, and no more blocks than fill a
 * sixteenth of the arena, plus two.  (k < 32.) */
static inline unsigned cache_cap(size_t n, size_t slots, unsigned k)
{
    size_t cap = slots >> (k / 2u), fit = 2u + (n >> (k + 4u));
    return (unsigned)(cap < fit ? cap : fit);
}

/* The orders with a cache list in an arena of n pages and depth D: the
 * lowest ones, up to ANALLOC_CACHE_ORDERS, while a list has a slot. */
static inline unsigned cache_list_orders(size_t n, unsigned depth)
{
    unsigned k = 0;
    while (k < ANALLOC_CACHE_ORDERS && k <= depth && cache_cap(n, ANALLOC_CACHE_MAX, k) != 0)
        k++;
    return k;
}

/* log2 of the cache table's entries for an arena of n pages (n >= 1) and
 * depth D: room for every node (fewer than 2n) or about eight entries for
 * each list slot (a power of two from six per slot), whichever is fewer;
 * at least one bucket, at most ANALLOC_CACHE_TABLE entries.  A bucket is
 * then full for about one free in 12,000 under the benchmark's W2 (with
 * about four entries per slot: one in 1,200).  (It grows with D, which
 * analloc_meta_size's bound relies on.) */
static inline unsigned cache_table_bits(size_t n, unsigned depth)
{
    size_t slots = 0;
    for (unsigned k = 0, orders = cache_list_orders(n, depth); k < orders; k++)
        slots += cache_cap(n, ANALLOC_CACHE_MAX, k);
    size_t want = 2u * n < 6u * slots ? 2u * n : 6u * slots;
    unsigned bits = 2;
    while (((size_t)1 << bits) < want && (2u << bits) <= ANALLOC_CACHE_TABLE)
        bits++;
    return bits;
}

/*
 * The bucket of a cached block in the table: the first of CACHE_WAYS
 * entries, from its node's free bit counted from `words` (node_free's
 * ORDER_BASE + j; the same for arenas of the same shape at any address):
 *     ((node * mul) mod 2^32) >> shift, rounded down to a bucket,
 * with shift = 32 - log2(entries).  A table with room for every node takes
 * the node modulo the entries (mul 2^shift), so a bucket serves four nodes
 * and never overflows; a larger arena's nodes are spread by Fibonacci
 * hashing (mul 0x9E3779B1).  32-bit arithmetic on every target.
 */
#define CACHE_FIB 0x9E3779B1u
static inline unsigned cache_bucket(uint64_t node, uint32_t mul, unsigned shift)
{
    return (unsigned)(((uint32_t)node * mul) >> shift) & ~(CACHE_WAYS - 1u);
}

/* A per-CPU store's slots (struct analloc_cpu): the lists of its orders
 * one after the other, order k's from store_first_slot[k], after the
 * capacities of the orders below it (ANALLOC_CPU_CAP: 32, 32, 16, 16, 8,
 * 8, 4, 4); the last entry is the end. */
static const uint8_t store_first_slot[ANALLOC_CPU_ORDERS + 1] = {0, 32, 64, 80, 96, 104, 112, 116, 120};
_Static_assert(ANALLOC_CPU_ORDERS == 8u && ANALLOC_CPU_SLOTS == 120u && ANALLOC_CPU_CAP(7) == 4u &&
                   ANALLOC_CPU_CAP(6) == 4u && ANALLOC_CPU_CAP(0) == 32u,
               "store_first_slot follows ANALLOC_CPU_CAP");
#define STORE_SLOT(c, k, i) ((c)->slot[store_first_slot[k] + (i)])

#endif /* ANALLOC_LAYOUT_H */
