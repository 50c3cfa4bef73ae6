/*
 * analloc.h - a buddy allocator for kernels whose metadata lives in bit
 * vectors, never in the memory it manages.
 *
 * One allocator manages one range of addresses.  Blocks are page * 2^n bytes
 * and are aligned to their size in absolute addresses.  All functions run in
 * O(log N) word operations for N pages and never read or write a byte of the
 * managed range (analloc_realloc's copy when a block moves aside).
 *
 * The allocator is single-threaded: a caller that shares one between CPUs or
 * threads serialises every call with its own lock (a spinlock with interrupts
 * off in a kernel, a mutex in user space).  Distinct allocators are
 * independent.
 *
 * Error codes are the negative ANALLOC_E* constants below.  A call that fails
 * changes nothing.  The library never prints; analloc_set_error_hook lets a
 * caller hear about rejected pointers.
 */
#ifndef ANALLOC_H
#define ANALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ANALLOC_VERSION_MAJOR 1
#define ANALLOC_VERSION_MINOR 0

/* Error codes: every failing call returns one of these (all negative). */
enum analloc_error {
    ANALLOC_OK = 0,
    ANALLOC_EINVAL = -1,    /* bad argument: NULL allocator or chunk, page not a power of two,
                               used > total, a range that wraps the address space,
                               or an allocator that was never set up */
    ANALLOC_ETOOSMALL = -2, /* chunk cannot hold its metadata and one page, or the
                               metadata buffer is smaller than analloc_meta_size() */
    ANALLOC_EOVERLAP = -3,  /* the metadata buffer overlaps the managed range, or the
                               struct analloc overlaps the metadata or the managed range */
    ANALLOC_ERANGE = -4,    /* pointer outside the managed range */
    ANALLOC_ERESERVED = -5, /* pointer in the used prefix, the metadata or a reserved range */
    ANALLOC_EALIGN = -6,    /* pointer not aligned to a page */
    ANALLOC_EINTERIOR = -7, /* pointer inside a live block but not at its start */
    ANALLOC_EFREE = -8,     /* pointer to memory that is free (a double free) */
    ANALLOC_ECORRUPT = -9,  /* analloc_check found metadata that breaks an invariant */
    ANALLOC_EBUSY = -10,    /* analloc_reserve: a page of the range is allocated or reserved */
    ANALLOC_ENOTRESERVED = -11, /* analloc_release: a page of the range is not reserved */
    ANALLOC_ELIMIT = -12    /* analloc_reserve/release: the table of reserved ranges is full */
};

/* The most levels the free-block index can have: 64-ary summaries over at
 * most 2^66 bits.  Not a tunable. */
#define ANALLOC_MAX_LEVELS 11

/* The block cache: freed blocks of the ANALLOC_CACHE_ORDERS smallest orders
 * kept aside, unmerged, for the next allocations of their order (see
 * analloc_set_cache).  ANALLOC_CACHE_MAX slots per order live in the struct;
 * setup enables ANALLOC_CACHE_DEFAULT of them. */
/* They shape the struct: a build that changes them must change them for
 * every file that includes this header. */
#ifndef ANALLOC_CACHE_ORDERS
#define ANALLOC_CACHE_ORDERS 4
#endif
#ifndef ANALLOC_CACHE_MAX
#define ANALLOC_CACHE_MAX 8
#endif
#ifndef ANALLOC_CACHE_DEFAULT
#define ANALLOC_CACHE_DEFAULT ANALLOC_CACHE_MAX
#endif

/* Reserved page ranges (analloc_reserve) a struct can hold, after merging
 * adjacent ones; shapes the struct like the cache's macros. */
#ifndef ANALLOC_RESERVE_MAX
#define ANALLOC_RESERVE_MAX 16
#endif

/* Lock hooks (analloc_set_lock). */
typedef void (*analloc_lock_fn)(void *ctx);

/* Called by analloc_free and analloc_realloc with the error they return for
 * a pointer that is not the start of a live block (not for setup errors, nor
 * for an allocation that finds no memory; analloc_mem_size is silent). */
typedef void (*analloc_error_hook)(void *ctx, int error, const void *ptr);

/*
 * The allocator.  A complete type, so a caller can put it anywhere: in static
 * storage, on the stack, or inside the chunk it manages (in the used prefix).
 * Its size is fixed.  The first fields are public and read-only; `internal`
 * belongs to the engine.
 */
struct analloc {
    size_t page;     /* smallest block, bytes (a power of two) */
    size_t depth;    /* page << depth is the largest block the arena can hold */
    size_t managed;  /* bytes of allocatable pages (page * number of pages) */
    void *start;     /* address of the first allocatable page */

    struct analloc_internal {
        uint32_t magic;          /* set by a successful setup */
        unsigned shift;          /* log2(page) */
        unsigned depth;          /* the engine's copy of depth */
        unsigned levels;         /* levels of the free-block index */
        uintptr_t lo, hi;        /* allocatable page numbers: [lo, hi) */
        uint64_t *words;         /* the metadata, in 64-bit words */
        size_t *orders;          /* per order k: first index bit, then free count */
        size_t level_word[ANALLOC_MAX_LEVELS];  /* word offset of each index level */
        size_t level_bits[ANALLOC_MAX_LEVELS];  /* bits in each index level */
        size_t split_word;       /* word offset of the split bits */
        size_t meta_bytes;       /* bytes of metadata in use */
        uint64_t free_orders;    /* bit k set: some order-k block is free */
        size_t free_pages;       /* pages in free blocks */
        size_t live_blocks;      /* blocks handed out and not yet freed */
        uintptr_t reserved_lo, reserved_hi; /* used prefix + metadata, or external metadata */
        analloc_error_hook hook;
        void *hook_ctx;
        unsigned cache_slots;    /* capacity of each order's cache (analloc_set_cache) */
        unsigned cached_blocks;  /* blocks in all of them */
        unsigned cached[ANALLOC_CACHE_ORDERS]; /* blocks in each: [k][0] oldest */
        uintptr_t cache[ANALLOC_CACHE_ORDERS][ANALLOC_CACHE_MAX]; /* first pages; unused: 0 */
        unsigned reserved;       /* reserved page ranges, sorted, disjoint, not adjacent */
        unsigned poison;         /* analloc_set_debug: flags | free byte << 8 | fresh << 16 */
        size_t reserved_pages;   /* pages in the reserved ranges */
        uintptr_t reserve[ANALLOC_RESERVE_MAX][2]; /* [first page, end page); unused: 0 */
        analloc_lock_fn lock, unlock; /* analloc_set_lock; NULL: no locking */
        void *lock_ctx;
    } internal;
};

typedef struct analloc *analloc_t;

/*
 * Manage [chunk, chunk + total).  The first `used` bytes are the caller's and
 * stay allocated; the metadata is placed right after them (8-byte aligned)
 * and is reserved too.  Every whole page after that, to the end of the chunk,
 * is allocatable.  `page` is a power of two (any, from 1).
 * The struct analloc may lie in the used prefix or outside the chunk, not
 * after the prefix.
 * Returns 0, ANALLOC_EINVAL (also: more pages than this target can describe),
 * ANALLOC_ETOOSMALL or ANALLOC_EOVERLAP (the struct after the used prefix).
 */
int analloc_with_chunk(analloc_t a, void *chunk, size_t total, size_t used, size_t page);

/*
 * Bytes of metadata needed to manage `total` bytes with pages of `page`
 * bytes, for any start address (an upper bound; alignment slack included).
 * 0 if `page` is not a power of two or the arena is too large to describe.
 */
size_t analloc_meta_size(size_t total, size_t page);

/*
 * A constant upper bound of analloc_meta_size(total, page) for static
 * buffers: 3 bits per page, 1/128 byte per page for the summaries, and 2 KiB
 * for the order table, word rounding and alignment slack.
 */
#define ANALLOC_META_SIZE_MAX(total, page) \
    ((size_t)(total) / (size_t)(page) / 8u * 3u + (size_t)(total) / (size_t)(page) / 128u + 2048u)

/*
 * Manage [base, base + total) with the metadata in a separate buffer
 * [meta, meta + meta_size), for memory the CPU must not or cannot touch.
 * `base` may be any address, even one that is not mapped; whole pages inside
 * the range are allocatable, except the page at address 0, which is never
 * handed out (it would read as NULL).
 * Returns 0, ANALLOC_EINVAL (also: a range or buffer that wraps or ends at
 * the top of the address space, more pages than this target can describe),
 * ANALLOC_ETOOSMALL (meta_size below analloc_meta_size, checked first; or no
 * whole page) or ANALLOC_EOVERLAP (metadata and range overlap, or the struct
 * overlaps either).
 */
int analloc_init(analloc_t a, void *base, size_t total, size_t page, void *meta, size_t meta_size);

/*
 * A block of page * 2^n >= size bytes, aligned to its size, at the lowest
 * address among the smallest free blocks that fit; NULL if there is none.
 * Size 0 asks for the smallest block (one page), so every non-NULL result
 * can be freed.  Sizes larger than the largest block fail cleanly.
 */
void *analloc_alloc(analloc_t a, size_t size);

/*
 * Free the live block that starts at ptr.  free(NULL) does nothing and
 * returns 0 (ANALLOC_EINVAL if the allocator was never set up).  Any other pointer that is not the start of a live block
 * returns ANALLOC_ERANGE, ANALLOC_ERESERVED, ANALLOC_EALIGN,
 * ANALLOC_EINTERIOR or ANALLOC_EFREE and changes nothing.
 */
int analloc_free(analloc_t a, void *ptr);

/*
 * Resize the live block at ptr to hold `size` bytes.  In place whenever the
 * buddy system allows it: shrinking always does, growing does when ptr is
 * aligned to the new size and the buddies that follow are free.  Otherwise a
 * new block is allocated, the old contents copied and the old block freed.
 * realloc(NULL, size) is analloc_alloc(size); size 0 means one page, as in
 * analloc_alloc (use analloc_free to free).  On failure (no memory, or ptr
 * not a live block) returns NULL and the old block is unchanged and still
 * allocated.
 */
void *analloc_realloc(analloc_t a, void *ptr, size_t size);

/* Size in bytes of the live block that starts at ptr; 0 if there is none. */
size_t analloc_mem_size(analloc_t a, const void *ptr);

/*
 * Walk all metadata and check every invariant (encoding, summaries, counts,
 * buddy merging, edges).  Returns 0 or ANALLOC_ECORRUPT (ANALLOC_EINVAL for
 * an allocator that was never set up).  O(N).
 */
int analloc_check(analloc_t a);

/* Bytes in free blocks (cached blocks included). */
size_t analloc_free_bytes(analloc_t a);

/* Size of the largest block analloc_alloc can return now; 0 if none.
 * Drains the block cache first (analloc_drain), so the answer counts the
 * blocks that cached blocks merge into. */
size_t analloc_largest_free(analloc_t a);

/*
 * The block cache.  A freed block of one of the ANALLOC_CACHE_ORDERS smallest
 * orders (1 to 8 pages, by default) is kept, unmerged and still marked used in
 * the bit vectors, in a list of up to `slots` blocks of its order inside the
 * struct; the next allocation of that order takes the most recently freed
 * one (a few instructions, and memory likely still in the CPU's caches).
 * Freeing into a full list gives its oldest block back to the buddy system.
 * Every allocation (and realloc) that would fail drains the cache and tries
 * again, so requests fail only when no block exists with everything merged.
 * Without the cache (slots 0), every allocation is lowest-address-first and
 * every free merges at once.
 * analloc_set_cache drains the cache and sets the slots per order: 0 to
 * ANALLOC_CACHE_MAX (setup sets ANALLOC_CACHE_DEFAULT).  Returns 0, or
 * ANALLOC_EINVAL (not set up, or more slots than ANALLOC_CACHE_MAX) and
 * changes nothing.
 * analloc_drain gives every cached block back to the buddy system (merging);
 * nothing happens to an allocator that was never set up.
 */
int analloc_set_cache(analloc_t a, unsigned slots);
void analloc_drain(analloc_t a);

/* ---- Placement, ranges, alignment ----------------------------------------- */

/* Placement flags.  0: the default of analloc_alloc (the block cache first
 * for orders 0-3, then the lowest-addressed of the smallest fitting free
 * blocks: best fit).  ANALLOC_LOW: the lowest address where the block fits,
 * in a free block of any order, skipping the cache.  ANALLOC_HIGH: the
 * highest address, the block carved from the top of its free block, skipping
 * the cache (the original analloc's `high`: low memory stays free for devices
 * that need it).  LOW and HIGH together are refused. */
#define ANALLOC_LOW 0x1u
#define ANALLOC_HIGH 0x2u

void *analloc_alloc_flags(analloc_t a, size_t size, unsigned flags);

/*
 * A block of `size` bytes (rounded up to page * 2^n as always) that starts at
 * a multiple of `align` and lies wholly inside the addresses [lo, hi).
 * `align` 0 or up to the block's size: the block's natural alignment; larger
 * (a power of two): the block is aligned further, and only the block itself
 * is taken, the rest of the aligned free block stays free.  Among the
 * positions that fit, the lowest (ANALLOC_LOW, or flags 0 here) or the
 * highest (ANALLOC_HIGH) is taken, whatever the order of its free block.
 * Cost: only free blocks at least `align` large are searched (a smaller free
 * block that happens to start at an aligned address is not found), at most
 * two searches of 2 x levels words per order: O(depth x levels) word reads.
 * The cache is never used (its blocks are merged first if the request would
 * fail otherwise).  NULL, changing nothing, if no block fits, or for bad
 * arguments: unknown flags, LOW with HIGH, `align` not a power of two,
 * lo >= hi, or a size or alignment no block of the arena has.
 */
void *analloc_alloc_range(analloc_t a, size_t size, size_t align, uintptr_t lo, uintptr_t hi,
                          unsigned flags);

/* analloc_alloc_range over the whole arena. */
void *analloc_alloc_aligned(analloc_t a, size_t size, size_t align, unsigned flags);

/*
 * Take the pages that [addr, addr + size) touches out of use (a hole in the
 * memory map, firmware tables, MMIO, the kernel image), or give reserved
 * pages back.  Reserved pages are neither free nor allocated: analloc_free
 * of a pointer into them returns ANALLOC_ERESERVED.  Adjacent reservations
 * merge; analloc_release may return any part of one reserved range (at
 * either end, which is how an arena grows: set it up over the largest span
 * and reserve what is not there yet).  At most ANALLOC_RESERVE_MAX separate
 * ranges.  O(blocks in the range x depth).  Returns 0, or, changing nothing:
 * ANALLOC_EINVAL (not set up, size 0, the range wraps), ANALLOC_ERANGE (a page
 * outside the arena), ANALLOC_EBUSY (reserve: a page is allocated or already
 * reserved), ANALLOC_ENOTRESERVED (release: a page is not reserved, or the
 * pages span two ranges), ANALLOC_ELIMIT (the table is full).
 */
int analloc_reserve(analloc_t a, uintptr_t addr, size_t size);
int analloc_release(analloc_t a, uintptr_t addr, size_t size);

/* ---- Statistics and walking ------------------------------------------------- */

/*
 * A snapshot of the allocator.  The caller sets `size` to
 * sizeof(struct analloc_stats); the library fills at most that many bytes and
 * sets `size` to the number it filled, so a program built against an older,
 * shorter struct keeps working when fields are added at the end.
 */
struct analloc_stats {
    size_t size;           /* in: the caller's sizeof; out: bytes filled */
    size_t page;           /* bytes */
    size_t managed_bytes;  /* allocatable pages, in bytes */
    size_t free_bytes;     /* free, cached blocks included (= analloc_free_bytes) */
    size_t used_bytes;     /* in live blocks */
    size_t reserved_bytes; /* in reserved ranges */
    size_t cached_bytes;   /* in the block cache (part of free_bytes) */
    size_t live_blocks;
    size_t cached_blocks;
    size_t largest_free;   /* the largest free block, O(1), cached blocks not merged
                              (analloc_largest_free merges them first) */
    size_t meta_bytes;
    unsigned depth;
    unsigned reserved_ranges;
    size_t free_blocks_of_order[64];   /* free blocks in the buddy system, per order */
    size_t cached_blocks_of_order[8];  /* blocks in the cache, per order */
};

/* Fill *st (see above).  Returns 0, or ANALLOC_EINVAL (not set up, st NULL,
 * st->size smaller than the size field itself). */
int analloc_stats(analloc_t a, struct analloc_stats *st);

/*
 * Linux's external fragmentation index for a request of 2^order pages
 * (mm/vmstat.c, __fragmentation_index), in thousandths: -1000 if a free
 * block of that order or larger exists (the request would succeed); 0 if
 * nothing is free; otherwise 1000 - (1000 + 1000 * free_pages / 2^order) /
 * free_blocks, clamped to 0 to 1000 (Linux's value dips below 0 when less
 * memory is free than requested): towards 0 the request fails for lack of
 * memory, towards 1000 because free memory is fragmented.  Cached blocks
 * count as the free blocks they are.  ANALLOC_EINVAL (-1, never an index)
 * if not set up or order > depth.
 */
int analloc_frag_index(analloc_t a, unsigned order);

/* Kinds of block for analloc_walk. */
#define ANALLOC_BLOCK_USED 0x1u     /* allocated */
#define ANALLOC_BLOCK_FREE 0x2u     /* free in the buddy system */
#define ANALLOC_BLOCK_CACHED 0x4u   /* free, in the block cache */
#define ANALLOC_BLOCK_RESERVED 0x8u /* a reserved range (one call per range) */
#define ANALLOC_BLOCK_ALL 0xfu

/* Called by analloc_walk; a nonzero return stops the walk, which returns it. */
typedef int (*analloc_walk_fn)(void *ctx, void *block, size_t bytes, unsigned kind);

/* Visit every block whose kind is in `kinds`, in address order.  The
 * callback runs under the allocator's lock and must not call into it.
 * Returns 0, the callback's nonzero value, or ANALLOC_EINVAL (not set up,
 * fn NULL, unknown kinds). */
int analloc_walk(analloc_t a, unsigned kinds, analloc_walk_fn fn, void *ctx);

/* ---- Sharing and debugging ------------------------------------------------- */

/*
 * Make an allocator safe to share: every later call on it that reads or
 * changes its state (all but analloc_set_lock itself and analloc_meta_bytes)
 * runs between one lock(ctx) and one unlock(ctx): a spinlock taken with
 * interrupts off in a kernel, a mutex in user space.  A call refused on its
 * arguments alone (free(NULL), bad flags, size 0, ...) reads only what setup
 * fixed and takes no lock.  Set both or neither (NULL, NULL: no locking), before the
 * allocator is shared.  The error hook, the walk callback and the dump's
 * output run under the lock.  Returns 0 or ANALLOC_EINVAL (not set up, one
 * hook NULL and the other not).
 */
int analloc_set_lock(analloc_t a, analloc_lock_fn lock, analloc_lock_fn unlock, void *ctx);

/* Debug aids, all off after setup.  They touch managed memory, so they are
 * for allocators over real memory. */
#define ANALLOC_DEBUG_POISON_FREE 0x1u  /* fill freed blocks with free_byte */
#define ANALLOC_DEBUG_POISON_FRESH 0x2u /* fill blocks handed out with fresh_byte */
#define ANALLOC_DEBUG_ANNOTATE 0x4u     /* tell AddressSanitizer or valgrind that free
                                           memory is off limits (builds with
                                           ANALLOC_ANNOTATE only) */

/* Set the debug flags (0: all off).  Turning ANALLOC_DEBUG_ANNOTATE on or
 * off walks every free block once.  Released ranges are annotated, never
 * filled.  Returns 0, or ANALLOC_EINVAL (not set up, unknown flags,
 * ANALLOC_DEBUG_ANNOTATE in a build without ANALLOC_ANNOTATE). */
int analloc_set_debug(analloc_t a, unsigned flags, unsigned char free_byte,
                      unsigned char fresh_byte);

/* Bytes of metadata the allocator uses (the bit vectors and order table). */
size_t analloc_meta_bytes(analloc_t a);

/* Install (or remove, with NULL) a hook that hears about rejected calls. */
void analloc_set_error_hook(analloc_t a, analloc_error_hook hook, void *ctx);

/* A short English description of an error code ("unknown error" if none). */
const char *analloc_strerror(int error);

/*
 * Write a picture of the arena through `out`, one NUL-terminated line per
 * call (the core has no stdio): a summary, then one line per order from the
 * largest to the page, one character per block position of that order, in
 * the seed's terms:
 *   'F' free, 'S' split, 'U' used (allocated), 'c' a block in the block
 *   cache, '-' inside a larger block, ' ' outside the arena.
 * At most `width` positions per line (0 means 64; the most is 128); longer
 * orders end with "..." instead of the closing '|'.
 */
void analloc_dump(analloc_t a, void (*out)(void *ctx, const char *line), void *ctx,
                  size_t width);

#ifdef __cplusplus
}
#endif

#endif /* ANALLOC_H */
