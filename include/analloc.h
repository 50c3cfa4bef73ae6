/*
 * analloc.h - a buddy allocator for kernels whose metadata lives in bit
 * vectors, never in the memory it manages.
 *
 * This header is the reference for every function's contract.  How the
 * engine works is described once, at the top of src/analloc.c.
 *
 * One allocator manages one range of addresses, cut into pages of `page`
 * bytes.  Blocks are page * 2^k bytes (k is the block's order) and are
 * aligned to their size in absolute addresses.  The library never reads or
 * writes a byte of the managed range, with three exceptions the caller asks
 * for: analloc_realloc's copy when a block moves, and the debug aids of
 * analloc_set_debug.
 *
 * COST.  Allocation, free, realloc in place, mem_size, exact runs, reserve
 * and release of one block, stats and the getters take O(depth x levels) word operations
 * at worst (depth <= 60 orders; levels <= 11, and 4 up to 2^24 pages), with
 * no loop over pages or blocks; most allocations and frees take a block
 * from or give it to the block cache in O(1).  The cache adds bounded slow
 * paths, each a number of blocks fixed by the build, never by how many
 * blocks are live or free: half a list taken or merged at once (at most 64
 * blocks at the defaults) when an order's list runs empty or full,
 * and, before an allocation fails, the merge of every cached block (at most
 * 480 at the defaults: about 143,000 instructions, the worst single call).
 * Four calls are O(N) for N pages and exist for debugging: analloc_check,
 * analloc_walk, analloc_dump, and analloc_set_debug when it turns sanitizer
 * annotations on or off.
 *
 * ERRORS.  Functions that return int return 0 or one of the negative
 * ANALLOC_E* codes below; allocating functions return NULL (or, for an
 * address space, ANALLOC_NO_ADDR) and getters 0.
 * A call that fails changes nothing, with one deliberate exception: an
 * allocation (alloc, alloc_flags, alloc_range, alloc_aligned, alloc_exact,
 * their address-space twins, or realloc and analloc_space_resize growing)
 * that finds no block first merges the block cache (analloc_drain) and
 * searches again, so a request fails only when no block exists with every
 * cached block merged; it still fails if that finds none.
 * (The cache is not merged when the free and cached pages together are
 * fewer than the request: that could not help.)
 * Getters change nothing.  When several errors apply, the first of the order
 * given at each function wins.
 *
 * LOCKING.  The engine keeps no global state: distinct allocators are
 * independent.  One allocator shared between CPUs or threads needs a lock:
 * give it hooks with analloc_set_lock.  Every call that reads or changes an
 * allocator's state after setup then runs between lock(ctx) and unlock(ctx),
 * in one section, except these, which take two: analloc_free and a shrinking
 * analloc_realloc when free-poisoning is on, a moving analloc_realloc,
 * analloc_release when sanitizer annotations are on; analloc_set_debug's
 * annotation walk, one section per block; and, while per-CPU stores are
 * attached, an allocation that finds no block and analloc_drain, which
 * give each store back in a section of its own before searching again.
 * Per-CPU stores (below) serve most calls with no section at all.  A lock
 * section does metadata
 * work only: it never copies, fills or reads managed memory, and its length
 * does not depend on the size of any block (copies and fills run outside).
 * These take no lock: analloc_with_chunk, analloc_init (set up before you
 * share), analloc_meta_size, analloc_meta_bytes, analloc_set_lock,
 * analloc_set_relax,
 * analloc_strerror, analloc_version, and every call refused on its
 * arguments alone (an allocator never set up, free(NULL), unknown flags, a
 * size no block has, ...): those read only what setup fixed.  The error
 * hook, the walk callback and the dump's output function run inside a lock
 * section and must not call into the same allocator.  In a kernel the hooks
 * are a spinlock taken with interrupts off; everything that runs under them
 * is bounded as above, and the O(N) calls are for debugging, not for
 * interrupt context on a large arena.
 */
#ifndef ANALLOC_H
#define ANALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ANALLOC_VERSION_MAJOR 4
#define ANALLOC_VERSION_MINOR 0
#define ANALLOC_VERSION_PATCH 0
/* (major << 16) | (minor << 8) | patch; the shared library's SONAME carries
 * the major version, which changes whenever struct analloc, struct
 * analloc_cpu or a signature does. */
#define ANALLOC_VERSION                                                        \
    ((ANALLOC_VERSION_MAJOR << 16) | (ANALLOC_VERSION_MINOR << 8) | ANALLOC_VERSION_PATCH)

/* The version of the library linked in, as ANALLOC_VERSION: compare the two
 * to detect a header and a library of different releases. */
unsigned analloc_version(void);

/* Error codes: every failing call returns one of these (all negative). */
enum analloc_error {
    ANALLOC_OK = 0,
    ANALLOC_EINVAL = -1,        /* bad argument, or an allocator never set up */
    ANALLOC_ETOOSMALL = -2,     /* no room for the metadata and one page */
    ANALLOC_EOVERLAP = -3,      /* metadata, range and struct overlap */
    ANALLOC_ERANGE = -4,        /* pointer or range outside the arena */
    ANALLOC_ERESERVED = -5,     /* pointer in the used prefix, the metadata or a reserved range */
    ANALLOC_EALIGN = -6,        /* pointer not aligned to a page */
    ANALLOC_EINTERIOR = -7,     /* pointer inside a live block, not at its start */
    ANALLOC_EFREE = -8,         /* pointer to free memory: a double free */
    ANALLOC_ECORRUPT = -9,      /* analloc_check: the state breaks an invariant */
    ANALLOC_EBUSY = -10,        /* analloc_reserve: a page is allocated or reserved */
    ANALLOC_ENOTRESERVED = -11, /* analloc_release: a page is not reserved */
    ANALLOC_ELIMIT = -12,       /* analloc_reserve/release: the range table is full */
    ANALLOC_ENOMEM = -13,       /* exact allocation, resize: no free block that holds it */
    ANALLOC_ESIZE = -14         /* exact free: the size does not match the run at that address */
};

/* A short English description of an error code ("unknown error" if none). */
const char *analloc_strerror(int error);

/* The most levels the free-block index can have: 64-ary summaries over at
 * most 2^66 bits.  Not a tunable. */
#define ANALLOC_MAX_LEVELS 11
/* The most bytes of fixed tables (the block cache's lists and table, the
 * reserved ranges) at the start of any build's metadata: 32 lists of
 * 1 + (128 >> (k / 2)) words, 4096 table entries, 64 ranges. */
#define ANALLOC_META_FIXED_MAX 38128u

/* Lock hooks (analloc_set_lock) and the relax hook (analloc_set_relax). */
typedef void (*analloc_lock_fn)(void *ctx);

/* Called with the error that a free, a realloc or a resize returns for an
 * address that is not the start of a live block (or run); nothing else
 * calls it.  `ptr` is the rejected pointer; for an allocator set up by
 * analloc_space_init, it points to the rejected address, a uint64_t valid
 * during the call.  (An address-space call on an allocator over pointers
 * passes the address as the pointer, or NULL if no pointer can hold it.) */
typedef void (*analloc_error_hook)(void *ctx, int error, const void *ptr);

/*
 * The allocator: a complete type of a fixed size (it depends on the target's
 * pointer size only, never on how src/ was configured), so a caller can put
 * it anywhere: static storage, the stack, or inside the chunk it manages (in
 * the used prefix).  The first four fields are public and read-only;
 * `internal` belongs to the engine (src/analloc.c documents it).
 */
struct analloc {
    size_t page;    /* smallest block, bytes (a power of two) */
    size_t depth;   /* page << depth is the largest block the arena can hold */
    size_t managed; /* bytes of allocatable pages: page * their number (at most SIZE_MAX) */
    void *start;    /* address of the first allocatable page (NULL: an address space) */

    struct analloc_internal {
        uint32_t magic;        /* set by a successful setup; tells if the inline paths may run */
        unsigned shift;        /* log2(page) */
        unsigned depth;        /* the largest order */
        unsigned levels;       /* levels of the free-block index */
        uintptr_t lo, hi;      /* allocatable page numbers: [lo, hi) */
        uint64_t *words;       /* the metadata (the order table first) */
        uint64_t *cache;       /* ... the block cache's lists in it */
        uint64_t *table;       /* ... its table, then the range table */
        unsigned cache_orders; /* orders with a list */
        unsigned cache_bits;   /* log2 of the table's entries */
        uint32_t cache_mul;    /* a node's bucket: (node * cache_mul) >> cache_shift */
        unsigned cache_shift;
        uint64_t free_orders;  /* bit k set: some order-k block is free */
        size_t free_pages;     /* pages in free blocks (cached ones are not) */
        size_t taken_blocks;   /* blocks handed out or cached (not reserved) */
        size_t cache_slots;    /* analloc_set_cache's: order k's list holds up to cache_slots >> (k / 2) */
        unsigned ranges;       /* reserved ranges */
        unsigned poison;       /* debug flags | free byte << 8 | fresh byte << 16 */
        size_t reserved_pages; /* pages in reserved ranges */
        uintptr_t held_lo, held_hi; /* bytes setup kept: used prefix + metadata */
        analloc_lock_fn lock, unlock;
        void *lock_ctx;
        analloc_error_hook hook;
        void *hook_ctx;
        analloc_lock_fn relax; /* analloc_set_relax's */
        void *relax_ctx;
        size_t level_word[ANALLOC_MAX_LEVELS]; /* word offset of each index level */
        size_t level_bits[ANALLOC_MAX_LEVELS]; /* bits in each index level */
        size_t split_word;     /* word offset of the split bits */
        size_t meta_bytes;     /* bytes of metadata in use */
        uint64_t seal;         /* hash of what setup fixed (analloc_check) */
        uint64_t origin;       /* the address of page number 0 (modulo 2^64): 0 for pointers */
        uint64_t space;        /* 1: set up by analloc_space_init; pointer calls are refused */
    } internal;
};

typedef struct analloc *analloc_t;

/* ---- Setting up ---------------------------------------------------------------- */

/*
 * Manage [chunk, chunk + total).  The first `used` bytes are the caller's
 * and stay allocated; the metadata is placed right after them (8-byte
 * aligned) and is kept too.  Every whole page after that, to the end of the
 * chunk, is allocatable: the first is the lowest page that the exact
 * metadata leaves free.  `page` is any power of two, from 1.  The struct may
 * lie in the used prefix or outside the chunk, not after the prefix.
 * Pointers into the used prefix and the metadata are refused by free
 * (ANALLOC_ERESERVED).
 * Returns 0, or, writing nothing: ANALLOC_EINVAL (a or chunk NULL, page not
 * a power of two, used > total, the chunk wraps or ends at the top of the
 * address space, more pages than the target can count), ANALLOC_ETOOSMALL
 * (no room for the metadata and one page), ANALLOC_EOVERLAP (the struct lies
 * after the used prefix).
 */
int analloc_with_chunk(analloc_t a, void *chunk, size_t total, size_t used, size_t page);

/*
 * Bytes of metadata needed to manage `total` bytes with pages of `page`
 * bytes, for any start address (alignment slack included): about 3 bits per
 * page, plus the order table and the fixed tables of this build.
 * 0 if `page` is not a power of two or the arena is too large to describe.
 */
size_t analloc_meta_size(size_t total, size_t page);

/*
 * A constant upper bound of analloc_meta_size(total, page) for any build, for
 * static buffers (declare them as uint64_t arrays): 3 bits per page, 1/128
 * byte per page for the summaries, 4 KiB for the order table, rounding and
 * alignment, and ANALLOC_META_FIXED_MAX.
 */
#define ANALLOC_META_SIZE_MAX(total, page)                                     \
    ((size_t)(total) / (size_t)(page) / 8u * 3u + (size_t)(total) / (size_t)(page) / 128u + \
     4096u + ANALLOC_META_FIXED_MAX)

/*
 * Manage [base, base + total) with the metadata in a separate buffer
 * [meta, meta + meta_size), for memory the CPU must not or cannot touch.
 * `base` may be any address, even one that is not mapped: whole pages inside
 * the range are allocatable, except the page at address 0, which is never
 * handed out (it would read as NULL) and does not count in `managed`.  The
 * last page of the address space cannot be managed (a range must not end at
 * the top: base + total must not wrap to 0).
 * Returns 0, or, writing nothing, in this order: ANALLOC_EINVAL (a or meta
 * NULL, page not a power of two, the range or the buffer wraps or ends at
 * the top of the address space, more pages than the target can count),
 * ANALLOC_ETOOSMALL (meta_size below analloc_meta_size(total, page)),
 * ANALLOC_EOVERLAP (the buffer overlaps the range, or the struct overlaps
 * either), ANALLOC_ETOOSMALL (no whole page in the range).
 */
int analloc_init(analloc_t a, void *base, size_t total, size_t page, void *meta, size_t meta_size);

/* ---- Allocating and freeing -------------------------------------------------- */

/*
 * A block of page * 2^k >= size bytes, aligned to its size: for the orders
 * the block cache covers (1 to 8 pages by default), the block of that order
 * freed most recently if the cache holds one; otherwise the lowest-addressed
 * block among the free blocks of the smallest order that has one (best fit),
 * split down to the size.  NULL if there is none after merging the cache, or
 * if no block of the arena is that large.  Size 0 asks for one page, so that
 * every non-NULL result can be freed.
 */
void *analloc_alloc(analloc_t a, size_t size);

/*
 * Free the live block that starts at ptr.  With the block cache on, a block
 * of a cached order waits unmerged in its order's list (its oldest entry is
 * merged when the list is full); otherwise it merges with its free buddies
 * at once.  free(NULL) returns 0.  Any other pointer that is not the start
 * of a live block changes nothing, calls the error hook, and returns, in
 * this order: ANALLOC_EINVAL (allocator never set up), ANALLOC_ERESERVED (in
 * the used prefix or the metadata), ANALLOC_ERANGE (outside the arena),
 * ANALLOC_ERESERVED (in a reserved range, aligned or not), ANALLOC_EALIGN
 * (not at a page start), ANALLOC_EFREE (in a free or cached block: a double
 * free), ANALLOC_EINTERIOR (inside a live block, not at its start).
 */
int analloc_free(analloc_t a, void *ptr);

/*
 * Resize the live block at ptr to hold `size` bytes (size 0: one page).
 * Shrinking is always in place: the upper halves become free blocks.
 * Growing is in place when ptr is aligned to the new size and the blocks
 * that follow it are its buddies, each free or in the cache.  Otherwise a
 * new block is allocated as by analloc_alloc (which merges the cache only
 * if it finds no block; growing in place is then tried again), the old contents
 * copied outside the lock, and the old block freed (merging at once, not
 * into the cache); while the copy runs, both blocks are allocated, and a
 * concurrent caller sees the new block live and the free bytes lower by its
 * size (if another thread frees the old block meanwhile, a caller's bug, the
 * error hook hears ANALLOC_EFREE and the new block is returned).
 * realloc(NULL, size) is analloc_alloc(size).
 * NULL on failure, with the old block unchanged and still allocated: no
 * block for the new size (after merging the cache), or ptr not the start of
 * a live block (the error hook hears the error analloc_free would return).
 */
void *analloc_realloc(analloc_t a, void *ptr, size_t size);

/* Size in bytes of the live block that starts at ptr; 0 if ptr is not the
 * start of a live block (NULL, bad, freed or cached). */
size_t analloc_mem_size(const struct analloc *a, const void *ptr);

/* ---- Placement, ranges, alignment ------------------------------------------- */

/* Placement flags.  0: as analloc_alloc.  ANALLOC_LOW: the lowest address
 * where the block fits, in a free block of any order.  ANALLOC_HIGH: the
 * highest, carved from the top of its free block (the original analloc's
 * `high`: low memory stays free for devices that need it).  Both bypass the
 * block cache; LOW and HIGH together are refused. */
#define ANALLOC_LOW 0x1u
#define ANALLOC_HIGH 0x2u

void *analloc_alloc_flags(analloc_t a, size_t size, unsigned flags);

/*
 * A block of `size` bytes (rounded up to page * 2^k as always) that starts at
 * a multiple of `align` and lies wholly inside the addresses [lo, hi).
 * `align` 0 or up to the block's size means the block's natural alignment;
 * larger (a power of two), the block is aligned further, and only the block
 * itself is taken: the rest of the aligned free block stays free.  Among the
 * positions that fit, the lowest (flags 0 or ANALLOC_LOW) or the highest
 * (ANALLOC_HIGH) is taken, whatever the order of its free block.  Only free
 * blocks at least `align` large are searched: a smaller free block that
 * happens to start at an aligned address is not found.  The block cache is
 * bypassed (and merged before the request fails).  Cost: at most two index
 * searches per order, O(depth x levels).
 * `hi` is exclusive: UINTPTR_MAX reaches the end of every arena (no arena
 * holds the last page of the address space).
 * NULL, changing nothing, if no block fits, or for bad arguments: unknown
 * flags, LOW with HIGH, `align` not 0 nor a power of two, lo >= hi, a size or
 * alignment no block of the arena has.
 */
void *analloc_alloc_range(analloc_t a, size_t size, size_t align, uintptr_t lo, uintptr_t hi,
                          unsigned flags);

/* analloc_alloc_range over the whole arena. */
void *analloc_alloc_aligned(analloc_t a, size_t size, size_t align, unsigned flags);

/*
 * Take the pages that [addr, addr + size) touches out of use (a hole in the
 * memory map, firmware tables, MMIO, the kernel image), or give reserved
 * pages back.  Reserved pages are neither free nor allocated: freeing a
 * pointer into them returns ANALLOC_ERESERVED.  Pages in cached blocks count
 * as free: reserving them merges the cache first (or gives every per-CPU
 * store back, once: a page stored again meanwhile is busy).  Adjacent reservations
 * merge into one range; analloc_release may return any part of one range
 * (either end or the middle, which is how an arena grows: set it up over
 * the largest span and reserve what is not there yet).  At most
 * stats.reserve_max separate ranges (16 by default).  Cost: O(blocks in the
 * range x depth).
 * Returns 0, or, changing nothing, in this order: ANALLOC_EINVAL (not set
 * up, size 0, addr + size wraps or ends at the top of the address space),
 * ANALLOC_ERANGE (a page outside the arena, the used prefix and the
 * metadata included: they were never part of it), ANALLOC_EBUSY (reserve: a
 * page is allocated or already reserved), ANALLOC_ENOTRESERVED (release: a
 * page is not reserved, or the pages span two ranges), ANALLOC_ELIMIT (the
 * table is full: a new range, or a release that would split one in two).
 */
int analloc_reserve(analloc_t a, uintptr_t addr, size_t size);
int analloc_release(analloc_t a, uintptr_t addr, size_t size);

/* ---- Exact-size runs ------------------------------------------------------------ */

/*
 * A run of exactly ceil(size / page) pages (size 0: one page), as Linux's
 * alloc_pages_exact: the block of 2^k pages that holds it (the smallest k)
 * is taken as analloc_alloc_range would take it (its arguments: lo, hi,
 * align, flags; flags 0 with the whole arena is best fit, as
 * analloc_alloc), and the pages past the run go back to the free lists at
 * once, as the free blocks of the binary digits of the tail.  The run is
 * then made of used blocks, one per binary digit of its page count,
 * largest first: a run of 3 pages is a block of 2 pages and a block of 1.
 * Free it with analloc_free_exact and the same size, or block by block with
 * analloc_free (analloc_mem_size at its start gives the first block's
 * size).  The run comes from one free block: it never spans two free
 * blocks, so it needs a free block of 2^k pages (after merging the cache),
 * and a request larger than the largest block of the arena is refused.
 * Cost: an allocation's, plus one step per order of the block, O(depth x
 * levels); the tail is never wasted: the run holds `size` rounded up to a
 * page, where a block would hold it rounded up to a power of two.
 * Returns 0 with the run's start in *ptr, or, changing nothing and leaving
 * *ptr as it was: ANALLOC_EINVAL (not set up, an address-space allocator,
 * ptr NULL, or alloc_range's bad arguments: flags, align, lo >= hi, a size
 * or alignment no block of the arena has), ANALLOC_ENOMEM (no free block of
 * 2^k pages fits the range and the alignment, with the cache merged).
 */
int analloc_alloc_exact(analloc_t a, size_t size, size_t align, uintptr_t lo, uintptr_t hi,
                        unsigned flags, void **ptr);

/*
 * Free the run of ceil(size / page) pages at ptr (size 0: one page): every
 * block a run of that size is made of (analloc_alloc_exact) is checked to
 * be live and of its size, then each is freed as analloc_free would, lowest
 * first.  Runs are not recorded (no metadata per run): the check sees
 * blocks, so a wrong size whose blocks all happen to be live where the run
 * would have them (a size that is a prefix of the run's digits, or a
 * neighbour's blocks) is not caught, and those blocks are freed.
 * free_exact(NULL) returns 0, as free(NULL).  Returns 0, or, changing
 * nothing and calling the error hook: analloc_free's errors for the first
 * block that is not the start of a live block (ANALLOC_EINVAL if the
 * allocator is not set up, without the hook), or ANALLOC_ESIZE (a block
 * where the run would have one is live but of another size).
 */
int analloc_free_exact(analloc_t a, void *ptr, size_t size);

/* ---- Address spaces ------------------------------------------------------------ */

/*
 * The same allocator over numbers instead of pointers: a GPU's VRAM by
 * offset, guest-physical memory, I/O virtual addresses, physical memory
 * above 4 GiB on a 32-bit kernel.  The space is [base, base + size) of a
 * 64-bit address space on every target; addresses are uint64_t, address 0
 * is an ordinary block, and ANALLOC_NO_ADDR says "none".  Blocks are
 * aligned to their size in the space's addresses, as pointers are.  The
 * library never touches the space (it may not be memory at all): the
 * metadata lives in a buffer of CPU memory.
 *
 * Every call below is its pointer counterpart, with the same contract,
 * bounds and errors (the engine is one; these only convert addresses; they
 * have no inline fast path, so a cached one-page free and allocation cost
 * about 414 instructions where the pointer calls take 242: bench/opcost.c):
 *     analloc_space_alloc          analloc_alloc
 *     analloc_space_alloc_range    analloc_alloc_range (and _flags, _aligned:
 *                                  lo 0, hi ANALLOC_SPACE_END)
 *     analloc_space_free           analloc_free
 *     analloc_space_resize         analloc_realloc, in place only (below)
 *     analloc_space_size           analloc_mem_size
 *     analloc_space_alloc_exact    analloc_alloc_exact
 *     analloc_space_free_exact     analloc_free_exact
 *     analloc_space_reserve        analloc_reserve
 *     analloc_space_release        analloc_release
 *     analloc_space_walk           analloc_walk
 * (analloc_space_free and analloc_space_free_exact of ANALLOC_NO_ADDR
 * return 0, as free(NULL)), and these take any allocator as they are: analloc_stats (its space_*
 * fields give the exact 64-bit figures), analloc_frag_index, analloc_check,
 * analloc_dump, analloc_set_cache and analloc_drain (the block cache works
 * the same), analloc_set_lock, analloc_set_error_hook (the hook gets a
 * pointer to the address).  analloc_set_debug takes only 0 (its fills and
 * annotations are for CPU memory) and analloc_cpu_attach refuses an
 * address-space allocator (per-CPU stores hand out pointers).  Every other
 * pointer call refuses it (ANALLOC_EINVAL, NULL or 0), since its addresses
 * are not pointers.  The address-space calls also take an allocator set
 * up over pointers: its addresses are then the pointers' values.
 *
 * On a 32-bit target the space may be larger than 4 GiB: up to 2^29 pages
 * (2 TiB of 4 KiB pages), with no 64-bit division (only shifts).
 */
#define ANALLOC_NO_ADDR UINT64_MAX   /* no block (never a block's address) */
#define ANALLOC_SPACE_END UINT64_MAX /* a `hi` past the end of every space */

/*
 * Manage the addresses [base, base + size) with the metadata in the buffer
 * [meta, meta + meta_size), at least analloc_space_meta_size(size, page)
 * bytes.  Whole pages inside the range are allocatable, address 0
 * included.  The range must not reach the last page of the 64-bit space
 * (base + size <= 2^64 - page).  Returns 0, or, writing nothing, in this
 * order: ANALLOC_EINVAL (a or meta NULL, page not a power of two, the range
 * reaches the top of the space or the buffer wraps, more pages than the
 * target can count: 2^29 on 32-bit targets, 2^61 on 64-bit),
 * ANALLOC_ETOOSMALL (meta_size too small), ANALLOC_EOVERLAP (the struct
 * overlaps the buffer), ANALLOC_ETOOSMALL (no whole page in the range).
 */
int analloc_space_init(analloc_t a, uint64_t base, uint64_t size, size_t page, void *meta,
                       size_t meta_size);

/* analloc_meta_size for a space of `size` bytes: enough for any base; 0
 * where analloc_space_init would refuse the page or the size. */
size_t analloc_space_meta_size(uint64_t size, size_t page);

/* A constant upper bound of analloc_space_meta_size for a space of `pages`
 * pages, for static buffers (uint64_t arrays): ANALLOC_META_SIZE_MAX's
 * terms for one page more (an unaligned base). */
#define ANALLOC_SPACE_META_SIZE_MAX(pages)                                     \
    (((size_t)(pages) + 1u) / 8u * 3u + ((size_t)(pages) + 1u) / 128u + 4096u + ANALLOC_META_FIXED_MAX)

uint64_t analloc_space_alloc(analloc_t a, uint64_t size);
uint64_t analloc_space_alloc_range(analloc_t a, uint64_t size, uint64_t align, uint64_t lo,
                                   uint64_t hi, unsigned flags);
int analloc_space_free(analloc_t a, uint64_t addr);
uint64_t analloc_space_size(const struct analloc *a, uint64_t addr);

/*
 * Resize the live block at addr in place, as analloc_realloc does when it
 * need not move (the library cannot copy a space's contents: to move a
 * buffer, allocate, copy it yourself, then free).  Shrinking always
 * succeeds; growing needs the block aligned to the new size and its buddies
 * free or cached (the cache is merged, and stores given back, before it
 * fails).  Returns 0, or, changing nothing: analloc_free's errors (the hook
 * hears them), ANALLOC_EINVAL (a size no block of the arena has),
 * ANALLOC_ENOMEM (the block cannot grow where it is).
 */
int analloc_space_resize(analloc_t a, uint64_t addr, uint64_t size);

int analloc_space_alloc_exact(analloc_t a, uint64_t size, uint64_t align, uint64_t lo,
                              uint64_t hi, unsigned flags, uint64_t *addr);
int analloc_space_free_exact(analloc_t a, uint64_t addr, uint64_t size);
int analloc_space_reserve(analloc_t a, uint64_t addr, uint64_t size);
int analloc_space_release(analloc_t a, uint64_t addr, uint64_t size);

/* analloc_walk's callback for analloc_space_walk. */
typedef int (*analloc_space_walk_fn)(void *ctx, uint64_t addr, uint64_t bytes, unsigned kind);
int analloc_space_walk(const struct analloc *a, unsigned kinds, analloc_space_walk_fn fn,
                       void *ctx);

/* ---- The block cache ---------------------------------------------------------- */

/*
 * The block cache keeps freed blocks of the smallest orders (stats.
 * cache_orders of them, 8 by default) unmerged for the next allocation of
 * their order, newest first: O(1) for both, and memory likely still in the
 * CPU's caches.  With `slots` slots, the list of order k holds up to
 * slots >> (k / 2) blocks (and no more than a sixteenth of the arena, plus
 * two).  A free into a full list first merges the list's oldest half; an
 * allocation that finds its list empty takes half a list from the buddy
 * system, the blocks single allocations would have taken, and hands them out
 * in the same order.  A freed block whose entry in the cache's table (four
 * per bucket) cannot be had is not cached: it merges at once.  Cached blocks count as free (free_bytes) but are not
 * merged into larger free blocks until they are drained, which any
 * allocation that would fail does first (ERRORS, above).  analloc_set_cache
 * drains the cache and sets the slots, from 0 (off: every allocation is best
 * fit, lowest address first, and every free merges) to the build's maximum
 * (stats.cache_slots_max, 128 by default); setup sets the build's default.
 * Returns 0, or ANALLOC_EINVAL (not set up, too many slots), changing
 * nothing.  analloc_drain merges every cached block into the buddy system;
 * nothing happens to an allocator never set up.
 */
int analloc_set_cache(analloc_t a, unsigned slots);
void analloc_drain(analloc_t a);

/* ---- Per-CPU stores ------------------------------------------------------------ */

/*
 * A per-CPU store is a small cache of free blocks owned by one CPU (or
 * thread): the caller provides one struct analloc_cpu per CPU (static, or in
 * its per-CPU data; the library allocates nothing) and passes it to
 * analloc_cpu_alloc and analloc_cpu_free.  Their common path takes no lock
 * of the allocator: it pops or pushes a block of the store and claims or
 * releases the block's record in the allocator's table with one atomic
 * operation (a free also reads the block's split word and free bit, which
 * change only under the allocator's lock, and validates them with a
 * sequence counter).  The store keeps blocks of the ANALLOC_CPU_ORDERS
 * smallest orders, up to ANALLOC_CPU_CAP(k) of order k (32 of one and of
 * two pages, halving every two orders: 4 of 128 pages); an empty list
 * takes ANALLOC_CPU_BATCH(k) blocks (half a list) from the buddy system at
 * once and a full one gives its ANALLOC_CPU_BATCH(k) oldest back (merging),
 * under the allocator's lock.  Larger orders, and every call while debug
 * fills are on, go to analloc_alloc and analloc_free.  A store holds at
 * most 32 x (1 + 2) + 16 x (4 + 8) + 8 x (16 + 32) + 4 x (64 + 128) = 1440
 * pages.
 *
 * Guarantees: every check of analloc_free is made, and a double free is
 * found in O(1) wherever the block waits: in this store, in another CPU's,
 * or merged.  Any CPU may free a block that another allocated (it goes to
 * the freeing CPU's store).  An allocation that finds no block gives every
 * store back (each store's lock in turn, then the allocator's lock) and
 * searches again: it fails only when no block of its size exists after
 * every store was emptied during the call (blocks that other CPUs take or
 * cache meanwhile are theirs).  No managed memory is read or written.
 *
 * A block never stays in a store for sure: any CPU's failing allocation,
 * analloc_drain and detaching give stores back.  Stored blocks count as
 * cached everywhere: analloc_walk (ANALLOC_BLOCK_CACHED), analloc_dump
 * ('c'), analloc_stats (cached_bytes, part of free_bytes) and
 * analloc_largest_free.  Attaching the first store turns the allocator's
 * own block cache off (it is drained: the stores replace it, as Linux's
 * per-CPU lists are its only cache); analloc_set_cache refuses
 * (ANALLOC_EBUSY) while a store is attached, and the cache stays off after
 * the last detach until it is set again.  analloc_drain gives every store
 * back too.
 *
 * Locking: install the lock hooks (analloc_set_lock) before attaching
 * stores that other CPUs use; the slow paths run under them.  Each store
 * has a spinlock of its own (an atomic word in the struct) that its owner
 * takes on every call, uncontended; other CPUs take it to give the store
 * back (a failing allocation, analloc_drain, detaching) and analloc_check
 * holds every store while it reads them.  The order is: the list of
 * stores, then a store, then the allocator's lock hooks; a call that holds
 * one never waits for an earlier one, so nothing can deadlock.  A per-CPU
 * call must not be interrupted by another call on the same store, nor by
 * a call that gives stores back: in a kernel, disable preemption (or
 * interrupts, if interrupt handlers allocate) around it, as Linux does
 * around its per-CPU lists.  Detaching a store from another CPU (hot-
 * unplug) needs its owner's last call to happen before it (the CPU went
 * offline, or a barrier).  Cost of the common path (callgrind, x86-64,
 * bench/opcost.c): a free with three atomic read-modify-writes (the
 * store's lock, the bucket's lock and its release) and an allocation with
 * two (the store's lock, the record's release), 291 instructions for a
 * one-page pair, where the allocator's own cache takes 160 without lock
 * hooks and 354 with them (empty).  The error hook runs in the freeing
 * call, under the allocator's lock, as for analloc_free.
 *
 * 32-bit targets, and targets without lock-free 64-bit atomic operations,
 * build the same calls without the stores (stats.cpu_stores is 0): every
 * per-CPU call is the allocator's own call, under its lock, and attaching
 * leaves the block cache as it is.
 */
#define ANALLOC_CPU_ORDERS 8u /* orders a store keeps: 1 to 128 pages */
#define ANALLOC_CPU_SLOTS 120u /* blocks a store holds: the sum of the lists' capacities */
/* The most blocks of order k (k < ANALLOC_CPU_ORDERS) in a store, and the
 * blocks a refill or a spill of order k moves. */
#define ANALLOC_CPU_CAP(k) (32u >> ((unsigned)(k) / 2u))
#define ANALLOC_CPU_BATCH(k) (ANALLOC_CPU_CAP(k) / 2u)

struct analloc_cpu {
    struct analloc *a; /* the allocator it is attached to (read-only); NULL if none */
    struct analloc_cpu_internal {
        uint64_t magic;            /* attached */
        uint64_t lock;             /* the store's spinlock: 0 free, 1 held */
        struct analloc_cpu *next;  /* the allocator's list of stores */
        uint64_t base[ANALLOC_CPU_ORDERS]; /* the allocator's ORDER_BASE, copied */
        uint64_t split1;           /* the allocator's ORDER_SPLIT of order 1, copied */
        uint32_t count[ANALLOC_CPU_ORDERS];
        uint16_t slot[ANALLOC_CPU_SLOTS]; /* per order, 1 + a table entry, oldest first */
    } internal;
};

/*
 * Attach the store c (its contents ignored) to the set-up allocator a.
 * Returns 0, or, changing nothing: ANALLOC_EINVAL (a not set up, c NULL),
 * ANALLOC_EBUSY (c is attached already, to a or another allocator).
 * Detach gives every block of the store back (merging) and takes it off
 * the list: for CPU hot-unplug, from any CPU once the store's owner has
 * stopped using it.  Returns 0 or ANALLOC_EINVAL (c NULL or not attached).
 * analloc_cpu_drain gives the store's blocks back and keeps it attached;
 * nothing happens to a store not attached.
 */
int analloc_cpu_attach(analloc_t a, struct analloc_cpu *c);
int analloc_cpu_detach(struct analloc_cpu *c);
void analloc_cpu_drain(struct analloc_cpu *c);

/*
 * analloc_alloc and analloc_free through the store c: the same results and
 * errors (a store not attached: NULL and ANALLOC_EINVAL, even for a NULL
 * pointer), the block taken
 * from and freed into c for the orders it keeps.  A block that c hands out
 * is the newest of its order in c; an empty list of order k takes
 * ANALLOC_CPU_BATCH(k) blocks first, each as analloc_alloc would, handed
 * out lowest first.  A free into a full list gives the list's
 * ANALLOC_CPU_BATCH(k) oldest blocks back first; a free whose record finds its table bucket full merges at
 * once (as analloc_free without the cache).
 */
void *analloc_cpu_alloc(struct analloc_cpu *c, size_t size);
int analloc_cpu_free(struct analloc_cpu *c, void *ptr);

/* ---- Statistics, walking, checking ------------------------------------------ */

/* Bytes in free blocks, cached blocks included; 0 if not set up.  This and
 * the next getter cap their result at SIZE_MAX (stats.space_* do not). */
size_t analloc_free_bytes(const struct analloc *a);

/* Size of the largest block an allocation gets without merging the cache:
 * the largest free block in the buddy system or in the cache, in
 * O(ANALLOC_CACHE_ORDERS); 0 if none or not set up.  Cached blocks are not
 * merged for it: an allocation of a larger block can still succeed after
 * the cache is merged; call analloc_drain first for the largest block after
 * merging.  Equals stats.largest_free. */
size_t analloc_largest_free(const struct analloc *a);

/* Bytes of metadata the allocator uses; 0 if not set up. */
size_t analloc_meta_bytes(const struct analloc *a);

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
    size_t largest_free;   /* = analloc_largest_free: the cache not merged */
    size_t meta_bytes;     /* all of it, the fixed part included */
    unsigned depth;
    unsigned reserved_ranges;
    size_t free_blocks_of_order[64];   /* free blocks in the buddy system, per order */
    size_t cached_blocks_of_order[64]; /* blocks in the cache, per order */
    /* The library's build: */
    unsigned cache_orders;    /* orders the block cache covers */
    unsigned cache_slots_max; /* most slots (analloc_set_cache) */
    unsigned cache_slots;     /* slots now: order k's list holds up to slots >> (k / 2) */
    unsigned reserve_max;     /* most separate reserved ranges */
    size_t meta_fixed_bytes;  /* metadata that does not grow with the pages: the
                                 order table, the cache's lists and table, the
                                 range table */
    unsigned cpu_stores;      /* 1: per-CPU stores keep blocks; 0: this target
                                 has none, and their calls are the allocator's
                                 own (the cache stays as set) */
    /* The byte counts above are capped at SIZE_MAX (an address space on a
     * 32-bit target may hold more); these are exact on every target: */
    unsigned space;           /* 1: set up by analloc_space_init */
    uint64_t space_start;     /* address of the first allocatable page */
    uint64_t space_managed;   /* = managed_bytes, */
    uint64_t space_free;      /* free_bytes, */
    uint64_t space_used;      /* used_bytes, */
    uint64_t space_reserved;  /* reserved_bytes, */
    uint64_t space_cached;    /* cached_bytes, */
    uint64_t space_largest_free; /* largest_free, uncapped */
};

/* Fill *st (see above).  Returns 0, or ANALLOC_EINVAL (not set up, st NULL,
 * st->size smaller than the size field itself). */
int analloc_stats(const struct analloc *a, struct analloc_stats *st);

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
int analloc_frag_index(const struct analloc *a, unsigned order);

/* Kinds of block for analloc_walk. */
#define ANALLOC_BLOCK_USED 0x1u     /* allocated */
#define ANALLOC_BLOCK_FREE 0x2u     /* free in the buddy system */
#define ANALLOC_BLOCK_CACHED 0x4u   /* free, in the block cache */
#define ANALLOC_BLOCK_RESERVED 0x8u /* a reserved range (one call per range) */
#define ANALLOC_BLOCK_ALL 0xfu

/* Called by analloc_walk; a nonzero return stops the walk, which returns it. */
typedef int (*analloc_walk_fn)(void *ctx, void *block, size_t bytes, unsigned kind);

/* Visit every block whose kind is in `kinds`, in address order, in one lock
 * section: O(blocks + ranges x log ranges).  Kinds 0 visits nothing and
 * returns 0 at once.  Returns 0, the callback's nonzero value, or
 * ANALLOC_EINVAL (not set up, fn NULL, unknown kinds). */
int analloc_walk(const struct analloc *a, unsigned kinds, analloc_walk_fn fn, void *ctx);

/*
 * Check every invariant of the struct and the metadata (the fields setup
 * fixed, the encoding, summaries, counts, merging, edges, the cache lists
 * and the range table), validating each field before it is used, so that a
 * corrupted allocator gives ANALLOC_ECORRUPT, never undefined behaviour.
 * What it cannot validate it calls or ignores: the lock, unlock and error
 * hooks and their contexts (it refuses a lock hook without an unlock hook),
 * and the debug fill bytes.  Returns 0, ANALLOC_ECORRUPT, or ANALLOC_EINVAL
 * (a NULL pointer or an allocator never set up: a broken set-up mark).
 * O(N): one lock section for the whole walk.
 */
int analloc_check(const struct analloc *a);

/*
 * Write a picture of the arena through `out`, one NUL-terminated line per
 * call (the core has no stdio): a summary (pages, free, largest block, live
 * and cached blocks, metadata), then one line per order from the largest to
 * the page, one character per block position of that order:
 *   'F' free, 'S' split, 'U' used (allocated), 'c' in the block cache,
 *   'R' part of a reserved range, '-' inside a larger block.
 * At most `width` positions per line (0 means 64; the most is 128); a line
 * with more ends with "..." instead of the closing '|'.  An allocator never
 * set up gives the one line "analloc: not set up".  O(N), one lock section.
 */
void analloc_dump(const struct analloc *a, void (*out)(void *ctx, const char *line), void *ctx,
                  size_t width);

/* ---- Sharing and debugging ------------------------------------------------- */

/*
 * Install lock hooks (see LOCKING above); set both, or neither (NULL, NULL:
 * no locking), before the allocator is shared.  Takes no lock itself.
 * Returns 0 or ANALLOC_EINVAL (not set up, one hook NULL and the other not).
 */
int analloc_set_lock(analloc_t a, analloc_lock_fn lock, analloc_lock_fn unlock, void *ctx);

/*
 * Install (or remove, with NULL) the relax hook: a CPU that finds one of
 * the library's own spinlocks taken (a per-CPU store's, a bucket of the
 * cache's table, the list of stores: each held for a few dozen
 * instructions) 64 times in a row calls relax(ctx), then tries again;
 * without a hook it only spins, with the CPU's pause instruction.  A kernel
 * whose per-CPU calls run with preemption off, as they must (Per-CPU
 * stores), needs none: no holder is ever descheduled.  A program whose
 * threads share CPUs (user space, more threads than CPUs) should pass one
 * that yields the CPU (sched_yield), or a waiter may spin for the rest of
 * its time slice while the holder waits to run.  Set it before stores are
 * attached.  Takes no lock.  Returns 0, or, changing nothing:
 * ANALLOC_EINVAL (a not set up), ANALLOC_EBUSY (a store is attached).
 */
int analloc_set_relax(analloc_t a, analloc_lock_fn relax, void *ctx);

/* Install (or remove, with NULL) a hook that hears about rejected pointers;
 * nothing happens to an allocator never set up. */
void analloc_set_error_hook(analloc_t a, analloc_error_hook hook, void *ctx);

/* Debug aids, all off after setup.  They touch managed memory (outside the
 * lock), so they are for allocators over real memory. */
#define ANALLOC_DEBUG_POISON_FREE 0x1u  /* fill freed blocks with free_byte */
#define ANALLOC_DEBUG_POISON_FRESH 0x2u /* fill blocks handed out with fresh_byte */
#define ANALLOC_DEBUG_ANNOTATE 0x4u     /* tell AddressSanitizer or valgrind that free
                                           memory is off limits (builds with
                                           ANALLOC_ANNOTATE only) */

/* Set the debug flags (0: all off).  A freed block is filled before it
 * becomes free, a fresh one after it is taken; reserved and released ranges
 * are annotated, never filled (they may be MMIO).  Turning
 * ANALLOC_DEBUG_ANNOTATE on or off walks every block, one lock section per
 * block.  Returns 0, or ANALLOC_EINVAL (not set up, unknown flags,
 * ANALLOC_DEBUG_ANNOTATE in a build without ANALLOC_ANNOTATE). */
int analloc_set_debug(analloc_t a, unsigned flags, unsigned char free_byte,
                      unsigned char fresh_byte);

#ifdef __cplusplus
}
#endif

#endif /* ANALLOC_H */
