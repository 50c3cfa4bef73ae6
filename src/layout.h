/*
 * layout.h - the build's tunables and the metadata layout they shape.
 * Included by src/internal.h; tests that look inside the metadata include
 * it too.
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
 * wait unmerged in per-order lists of up to ANALLOC_CACHE_MAX blocks; setup
 * enables ANALLOC_CACHE_DEFAULT slots per order (analloc_set_cache). */
#ifndef ANALLOC_CACHE_ORDERS
#define ANALLOC_CACHE_ORDERS 4
#endif
#ifndef ANALLOC_CACHE_MAX
#define ANALLOC_CACHE_MAX 8
#endif
#ifndef ANALLOC_CACHE_DEFAULT
#define ANALLOC_CACHE_DEFAULT ANALLOC_CACHE_MAX
#endif
/* Separate reserved page ranges an allocator can hold (analloc_reserve). */
#ifndef ANALLOC_RESERVE_MAX
#define ANALLOC_RESERVE_MAX 16
#endif

/* ---- Do not modify ---------------------------------------------------------- */

_Static_assert(ANALLOC_CACHE_ORDERS >= 1 && ANALLOC_CACHE_ORDERS <= ANALLOC_CACHED_ORDERS_CAP,
               "ANALLOC_CACHE_ORDERS: 1 to 8");
_Static_assert(ANALLOC_CACHE_MAX >= 1 && ANALLOC_CACHE_MAX <= 32, "ANALLOC_CACHE_MAX: 1 to 32");
_Static_assert(ANALLOC_CACHE_DEFAULT <= ANALLOC_CACHE_MAX, "ANALLOC_CACHE_DEFAULT too large");
_Static_assert(ANALLOC_RESERVE_MAX >= 1 && ANALLOC_RESERVE_MAX <= 64,
               "ANALLOC_RESERVE_MAX: 1 to 64");

/*
 * The metadata is one array of 64-bit words, and every part of it is read and
 * written as uint64_t only (one type per object: no aliasing question, with
 * or without LTO, whatever the caller declared the buffer as):
 *     [cache slots][range table][order table][index levels][split bits]
 * The first two have fixed sizes, so every access to them and to the order
 * table is at a constant offset from `words`.
 *   cache slots: CACHE_SLOT(s, k, i), the first page of the i-th cached block
 *     of order k (0 oldest); 0 in every slot not in use.
 *   range table: RANGE_FIRST(s, i) and RANGE_END(s, i), the pages
 *     [first, end) of the i-th reserved range, sorted, disjoint and never
 *     adjacent; 0 in every entry not in use.
 *   order table: a row per order k: the index bit where order k's run starts
 *     (ORDER_START), the number of free order-k blocks (ORDER_FREE) and the
 *     index bit of the lowest of them (ORDER_LOWEST; the next order's start
 *     if none); the row after the last order holds the end of the index and
 *     zeros.
 */
#define CACHE_WORDS ((size_t)ANALLOC_CACHE_ORDERS * ANALLOC_CACHE_MAX)
#define RANGE_WORDS ((size_t)ANALLOC_RESERVE_MAX * 2u)
#define ORDER_TABLE_AT (CACHE_WORDS + RANGE_WORDS)
#define ORDER_ROW 3u
_Static_assert(ORDER_TABLE_AT * 8u <= ANALLOC_META_FIXED_MAX,
               "the fixed tables outgrow ANALLOC_META_FIXED_MAX");

#define CACHE_SLOT(s, k, i) ((s)->words[(size_t)(k) * ANALLOC_CACHE_MAX + (i)])
#define RANGE_FIRST(s, i) ((s)->words[CACHE_WORDS + 2u * (size_t)(i)])
#define RANGE_END(s, i) ((s)->words[CACHE_WORDS + 2u * (size_t)(i) + 1u])
#define ORDER_START(s, k) ((s)->words[ORDER_TABLE_AT + ORDER_ROW * (size_t)(k)])
#define ORDER_FREE(s, k) ((s)->words[ORDER_TABLE_AT + ORDER_ROW * (size_t)(k) + 1u])
#define ORDER_LOWEST(s, k) ((s)->words[ORDER_TABLE_AT + ORDER_ROW * (size_t)(k) + 2u])

#endif /* ANALLOC_LAYOUT_H */
