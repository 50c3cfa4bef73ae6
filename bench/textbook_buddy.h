/*
 * textbook_buddy.h - a comparator for the benchmarks: the classic binary
 * buddy allocator as Linux's page allocator builds it (mm/page_alloc.c,
 * struct free_area), written from scratch.
 *
 *  - one doubly-linked free list per order, threaded THROUGH the free blocks
 *    themselves: the first bytes of every free block hold its list node, so
 *    the allocator reads and writes the memory it manages;
 *  - one byte per page (Linux keeps the order in struct page): for the first
 *    page of a free block TB_FREE | order ("PageBuddy"), for the first page of
 *    an allocated block its order, which is how tb_free learns the size;
 *  - allocation takes the head of the smallest non-empty list at or above the
 *    order (searching the orders upward, as __rmqueue_smallest does) and
 *    splits it, putting the upper halves on their lists (expand());
 *  - free merges with the buddy pfn ^ (1 << order) while that buddy is a free
 *    block of the same order (__free_one_page).
 *
 * Page numbers are relative to the arena's base; blocks are aligned to their
 * size relative to it.  Single-threaded, no checks on free (as Linux without
 * debug options): freeing a pointer that is not a live block corrupts it.
 */
#ifndef TEXTBOOK_BUDDY_H
#define TEXTBOOK_BUDDY_H

#include <stddef.h>
#include <stdint.h>

#define TB_MAX_ORDERS 48
#define TB_FREE 0x80u

struct tb_node {
    struct tb_node *next, *prev;
};

struct tb {
    unsigned char *base;            /* first page of the arena */
    size_t pages;                   /* pages in the arena */
    unsigned shift;                 /* log2(page) */
    unsigned max_order;             /* largest order of a block */
    uint8_t *order;                 /* one byte per page, caller's buffer */
    struct tb_node head[TB_MAX_ORDERS]; /* list sentinels, per order */
    size_t nr_free[TB_MAX_ORDERS];  /* free blocks per order */
    size_t free_pages;
};

/* Bytes of the per-page order array for `pages` pages. */
size_t tb_order_bytes(size_t pages);

/*
 * Manage `pages` pages of 2^shift bytes from `base` (real, writable memory:
 * the list nodes live in it).  `order_bytes` has tb_order_bytes(pages)
 * bytes.  Returns 0, or -1 for bad arguments.
 */
int tb_init(struct tb *t, void *base, size_t pages, unsigned shift, uint8_t *order_bytes);

/* A block of 2^order pages, or NULL. */
void *tb_alloc(struct tb *t, unsigned order);

/* Free the block at p (returned by tb_alloc); tb_free(NULL) does nothing. */
void tb_free(struct tb *t, void *p);

/* Pages in the largest free block (0 if none). */
size_t tb_largest_free(const struct tb *t);

/* Bytes of metadata: the order array and the struct (the list heads). */
size_t tb_meta_bytes(const struct tb *t);

/*
 * Walk every list and the order array and check the invariants: every list
 * node lies at the start of an aligned free block inside the arena, marked
 * TB_FREE with its order; no byte is marked free without being on its list;
 * free blocks do not overlap; no two free buddies of one order coexist below
 * the largest order; counts match.  O(pages).  Returns 0 or a negative
 * number that says which check failed.
 */
int tb_check(const struct tb *t);

#endif /* TEXTBOOK_BUDDY_H */
