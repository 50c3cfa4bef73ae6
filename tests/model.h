/*
 * model.h - the shadow-model engine shared by the randomized model test
 * (tests/test_model.c, cmocka, tests/testutil.h's generator) and the libFuzzer harness
 * (tests/fuzz_analloc.c, the fuzz input as a byte stream).
 *
 * One call of model_run_one() draws a configuration (page size, arena size,
 * used prefix, start offset, with_chunk or analloc_init with an external
 * metadata buffer, real memory or a never-touched fake range, or an address
 * space set up by analloc_space_init), sets the allocator up, runs a
 * sequence of alloc, free, realloc, mem_size, exact runs and bad calls, each
 * compared with an exact shadow model, then frees everything and compares
 * the struct and the metadata with a snapshot taken after setup.  The
 * description of the checks is at the top of model.c.
 *
 * The engine has no test framework in it: it takes its randomness from a
 * model_source and reports a broken expectation through a model_failure
 * callback, which must not return (cmocka's fail_msg, or abort()).
 *
 * tests/model.c is its own compilation unit: the Makefile links it into
 * test_model, test_engine, test_placement, test_ranges, fuzz_replay and the
 * libFuzzer target.  It is the tests' one reference model: the hand-written
 * suites use it step by step (model_arena_*, below).
 */
#ifndef ANALLOC_TESTS_MODEL_H
#define ANALLOC_TESTS_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Where the randomness comes from.  draw(ctx, n) returns a number in [0, n),
 * or any 64-bit number when n is 0.  exhausted, if not NULL, says that the
 * source has run dry: the run then stops after the current step and goes on
 * to its final checks (a source that has run dry must keep answering, e.g.
 * with zeros, so that the step in progress and the final frees complete).
 */
struct model_source {
    uint64_t (*draw)(void *ctx, uint64_t n);
    bool (*exhausted)(void *ctx);
    void *ctx;
};

/*
 * A broken expectation: msg describes it, with the configuration, the step
 * and the operation.  The callback must not return; if it does, the model
 * calls abort().
 */
struct model_failure {
    void (*report)(void *ctx, const char *msg);
    void *ctx;
};

/* How a configuration obtains its memory. */
enum model_kind {
    MODEL_REAL,  /* real memory: with_chunk or analloc_init, one draw picks */
    MODEL_FAKE,  /* analloc_init over a range nobody maps */
    MODEL_CHUNK, /* real memory, always analloc_with_chunk */
    MODEL_INIT,  /* real memory, always analloc_init with an external buffer */
    MODEL_SPACE  /* analloc_space_init over a space nobody touches: base 0 (or
                    inside page 0), small unaligned bases, bases above 4 GiB
                    (2^32, 2^40, 2^52 plus odd pages and bytes) and right
                    below the top of the 64-bit space; addresses are uint64_t
                    on every target, and the size may pass SIZE_MAX */
};

/* What a run drives besides the calls every run makes (model_class.api). */
#define MODEL_TWINS 0x1u /* each call of an allocator over pointers goes, at random,
                            through the pointer call or its address-space twin
                            (analloc_space_alloc, _free, _size, _alloc_range,
                            _reserve, _release, _walk, _alloc_exact, _free_exact;
                            analloc_space_resize for realloc, which then never
                            moves): the same prediction, address = pointer value */
#define MODEL_EXACT 0x2u /* exact runs: analloc_alloc_exact (every argument) and
                            analloc_free_exact (right and wrong sizes, bad
                            addresses), beside frees of a run's blocks one by
                            one with analloc_free and mem_size on them */

/* A family of configurations. */
struct model_class {
    const char *name;
    unsigned id;
    size_t min_pages, max_pages;    /* arena size, drawn log-uniformly */
    unsigned share_permille;        /* of the total operations (test_model's budget) */
    size_t ops_min, ops_max;        /* per configuration */
    size_t live_cap;                /* most live blocks (keeps the model's scans short) */
    enum model_kind kind;
    size_t real_max_bytes;          /* largest real arena in bytes; 0: 16 MiB */
    size_t check_pages;             /* analloc_check (O(pages)) after every step up to this
                                       many pages, else every pages / check_pages steps
                                       (rounded up); 0: every step up to 4096 pages, else
                                       every 1000 steps */
    size_t lean_pages;              /* above this many pages (0: no limit), analloc_check
                                       never runs: the results are still compared with the
                                       model at every step, and after the final frees the
                                       struct and metadata must equal, byte for byte, their
                                       state after setup */
    unsigned stores;                /* per-CPU stores the run drives from its one thread
                                       (analloc_cpu_*; 0: none, up to MODEL_STORES): it
                                       attaches 1 to `stores` of them after setup, then
                                       mixes attach, detach, drain, alloc and free through
                                       them (cross-store and double frees included) with
                                       the plain calls; each store's lists are compared
                                       with the model's after every step */
    unsigned api;                   /* MODEL_TWINS | MODEL_EXACT, or 0: the calls of
                                       version 2 alone, drawn as then (the fuzz corpus's
                                       older inputs keep their meaning).  An address space
                                       (MODEL_SPACE) always goes through the space calls,
                                       and now and then through a pointer call, which
                                       must refuse it */
};

/* Counters, summed over the configurations run. */
#define MODEL_ERRORS 16
struct model_totals {
    size_t configs, ops, alloc_ok, alloc_fail, frees, re_in_place, re_move, re_fail, bad, checks;
    size_t mem_sizes, nulls; /* valid mem_size calls; free(NULL) and mem_size(NULL) */
    size_t placed_ok, placed_fail; /* analloc_alloc_flags/_aligned/_range */
    size_t reserves, releases, range_refused; /* analloc_reserve/release: done, refused */
    size_t stats;             /* analloc_stats + frag_index + walk, compared */
    size_t cpu_alloc_ok, cpu_alloc_fail, cpu_frees, cpu_bad; /* through a per-CPU store */
    size_t cpu_refills, cpu_spills, cpu_full_buckets, cpu_give_backs; /* slow paths predicted */
    size_t cpu_attach, cpu_detach, cpu_drain;
    size_t bad_error[MODEL_ERRORS]; /* bad calls by the error expected: [-ANALLOC_ERANGE]... */
    size_t exact_ok, exact_fail, exact_frees, exact_refused; /* alloc_exact, free_exact */
    size_t twin_calls;        /* address-space calls on an allocator over pointers */
    size_t space_calls;       /* calls on an address-space allocator */
    size_t resize_ok, resize_fail; /* analloc_space_resize: in place, or refused */
    size_t ptr_refused;       /* pointer calls refused by an address-space allocator */
    size_t zero_blocks;       /* blocks handed out at address 0 */
};

/*
 * Run configuration `index` of class k (index only names it in messages)
 * with the randomness of src; add its counters to *t.  If desc is not NULL,
 * the configuration's description is written there (NUL-terminated).
 * Returns the number of steps run.
 */
size_t model_run_one(const struct model_class *k, size_t index, const struct model_source *src,
                     const struct model_failure *failure, struct model_totals *t, char *desc,
                     size_t desc_size);

/* A model_source drawing from r, tests/testutil.h's generator (which must
 * outlive the source): draw(n) is the next number modulo n.  Never runs dry. */
struct rng;
struct model_source model_source_prng(struct rng *r);

/*
 * A model_source reading the bytes [data, data + size): a draw of [0, n)
 * takes as many bytes as n - 1 needs (none for n == 1, 8 for n == 0), little
 * endian, modulo n.  Past the end it draws zeros and is exhausted.  *stream
 * holds the position and must outlive the source.
 */
struct model_bytes {
    const uint8_t *data;
    size_t size, pos;
    bool dry;
};
struct model_source model_source_bytes(struct model_bytes *stream, const uint8_t *data,
                                       size_t size);

/* ==== The model, step by step ===========================================
 *
 * The same model as an oracle for hand-written tests (test_engine,
 * test_placement, test_ranges): create it for an allocator that was just set
 * up (every page free, nothing reserved), then for each call ask the model
 * first - it predicts the result and takes the step - make the call on the
 * engine and compare.  The model never asks the engine.  A contradiction in
 * the model itself (a test freeing a block the model does not hold live, say)
 * goes to `failure`.  The allocator is one over pointers (analloc_init,
 * analloc_with_chunk; address spaces are model_run_one's): addresses are
 * bytes, pages absolute page numbers (address / page). */
struct analloc;
struct analloc_stats;
struct model_arena;

/* The outcome of an allocation or a realloc. */
enum model_got {
    MODEL_BLOCK, /* a block: *addr */
    MODEL_NONE,  /* NULL after a search (and a drain of the cache, if it held blocks) */
    MODEL_BAD    /* NULL on the arguments alone: no search, nothing changes, the cache neither */
};

/* A model of a, just set up, with cache_slots slots per cached order
 * (ANALLOC_CACHE_DEFAULT after a setup); its depth must be a->depth. */
struct model_arena *model_arena_new(struct analloc *a, unsigned cache_slots,
                                    const struct model_failure *failure);
void model_arena_delete(struct model_arena *m);

/* Make dst's state src's: both model the same allocator (dst made by
 * model_arena_new for it); for tests that go back to an earlier state. */
void model_arena_assign(struct model_arena *dst, const struct model_arena *src);

unsigned model_arena_depth(const struct model_arena *m);
uintptr_t model_arena_lo(const struct model_arena *m); /* the first page */
size_t model_arena_pages(const struct model_arena *m);

/* Live blocks: how many, and the i-th in address order (its order in *order). */
size_t model_arena_live(const struct model_arena *m);
uintptr_t model_arena_live_at(const struct model_arena *m, size_t i, unsigned *order);

/* The block holding page pfn (in the arena): its kind, ANALLOC_BLOCK_USED,
 * _CACHED, _RESERVED (the whole range; order 0) or _FREE (the free block a
 * fully merging buddy system holds there), its first page and order. */
unsigned model_arena_page(struct model_arena *m, uintptr_t pfn, uintptr_t *first, unsigned *order);

/* analloc_alloc(size), and analloc_alloc_flags(size, 0): the newest cached
 * block of the order, else the lowest of the smallest free blocks, else the
 * same after draining the cache.  *order: the order size asks for;
 * *drained: the cache was drained. */
enum model_got model_arena_alloc(struct model_arena *m, size_t size, uintptr_t *addr,
                                 unsigned *order, bool *drained);

/* analloc_alloc_range(size, align, lo, hi, flags); analloc_alloc_aligned is
 * the window [0, UINTPTR_MAX), analloc_alloc_flags with flags other than 0
 * the same with align 0. */
enum model_got model_arena_alloc_range(struct model_arena *m, size_t size, size_t align,
                                       uintptr_t lo, uintptr_t hi, unsigned flags,
                                       uintptr_t *addr, unsigned *order, bool *drained);

/* analloc_free of the live block that starts at addr. */
void model_arena_free(struct model_arena *m, uintptr_t addr);

/* analloc_realloc of the live block at addr to size: MODEL_BLOCK with *to
 * (addr when in place), MODEL_NONE (no room), MODEL_BAD (no block of the
 * arena holds size). */
enum model_got model_arena_realloc(struct model_arena *m, uintptr_t addr, size_t size,
                                   uintptr_t *to, bool *drained);

/* analloc_reserve and analloc_release: the code they must return; the model
 * takes the step when it is ANALLOC_OK. */
int model_arena_reserve(struct model_arena *m, uintptr_t addr, size_t size);
int model_arena_release(struct model_arena *m, uintptr_t addr, size_t size);

/* analloc_drain (every per-CPU store is given back too); analloc_set_cache(slots):
 * ANALLOC_OK (it drains and sets the slots) or, while a store is attached,
 * ANALLOC_EBUSY (nothing changes). */
void model_arena_drain(struct model_arena *m);
int model_arena_set_cache(struct model_arena *m, unsigned slots);

/* analloc_largest_free (it drains the cache first), analloc_free_bytes. */
size_t model_arena_largest(struct model_arena *m);
size_t model_arena_free_bytes(const struct model_arena *m);

/* The error analloc_free gives for addr, an address inside the arena:
 * ANALLOC_OK for a live block's start, ANALLOC_EINTERIOR, _EFREE, _EALIGN,
 * _ERESERVED (a reserved range). */
int model_arena_classify(struct model_arena *m, uintptr_t addr);

/* analloc_stats (every field but size and meta_bytes), analloc_frag_index. */
void model_arena_stats(struct model_arena *m, struct analloc_stats *st);
int model_arena_frag_index(struct model_arena *m, unsigned order);

/* analloc_walk: fn for every block of the kinds asked, in address order
 * (a reserved range is one call); stops at fn's first nonzero return and
 * returns it. */
int model_arena_walk(struct model_arena *m, unsigned kinds,
                     int (*fn)(void *ctx, void *block, size_t bytes, unsigned kind), void *ctx);

/* The reserved ranges, [first page, end page), sorted (at most max stored);
 * returns how many there are. */
unsigned model_arena_reserved(const struct model_arena *m, uintptr_t (*ranges)[2], unsigned max);

/* The block cache of order k, oldest first (first pages; at most
 * ANALLOC_CACHE_MAX); returns how many. */
unsigned model_arena_cached(const struct model_arena *m, unsigned k, uintptr_t *pages);

/* ---- Per-CPU stores (include/analloc.h, "Per-CPU stores") ----------------
 *
 * The model knows MODEL_STORES stores by number, 0 to MODEL_STORES - 1; the
 * test keeps the struct analloc_cpu of each and makes the same call on it.
 * What the model predicts, as src/analloc.c does it:
 *  - attaching the first store turns the block cache off (drained; the cache
 *    stays off after the last detach);
 *  - a store keeps the orders below min(ANALLOC_CPU_ORDERS, the cache's
 *    orders), none in a one-page arena; up to ANALLOC_CPU_CAP(k) of order k;
 *  - store alloc pops the newest of its order; an empty list refills: up to
 *    ANALLOC_CPU_BATCH(k) blocks as single allocations take them, the first
 *    handed out, the others recorded in the cache table (first free way of
 *    the bucket; a full bucket gives that block back and ends the refill),
 *    turned over to go out lowest first; with none, analloc_alloc, which
 *    gives every store back before it fails;
 *  - store free of a live block of a kept order below the arena's largest:
 *    a full list first spills its ANALLOC_CPU_BATCH(k) oldest (merging; even
 *    for a double free, which is then refused), then the block is recorded
 *    in the freeing store unless its bucket is full (then it merges at
 *    once); anything else (bad pointers, other orders, any reserved range)
 *    is analloc_free's;
 *  - a reserve whose scan meets a stored block first gives every store back;
 *  - a build without stores (stats.cpu_stores 0): every call is the
 *    allocator's own, and attaching leaves the cache as it is;
 *  - detach and drain give the store's blocks back; analloc_drain and a
 *    failing search give every store back.
 * Stored blocks count as cached: walk (ANALLOC_BLOCK_CACHED), stats,
 * largest_free, frag_index, classify (a double free: ANALLOC_EFREE). */
#define MODEL_STORES 4u

/* analloc_cpu_attach(a, store i): ANALLOC_OK, or ANALLOC_EBUSY (attached). */
int model_arena_store_attach(struct model_arena *m, unsigned i);

/* analloc_cpu_detach(store i): ANALLOC_OK, or ANALLOC_EINVAL (not attached). */
int model_arena_store_detach(struct model_arena *m, unsigned i);

/* analloc_cpu_drain(store i). */
void model_arena_store_drain(struct model_arena *m, unsigned i);

/* analloc_cpu_alloc(store i, size), as model_arena_alloc: MODEL_BAD when the
 * store is not attached or no block holds size; *gave_back: every store was
 * given back on the way. */
enum model_got model_arena_store_alloc(struct model_arena *m, unsigned i, size_t size,
                                       uintptr_t *addr, unsigned *order, bool *gave_back);

/* analloc_cpu_free(store i, addr) for any addr: the code it must return
 * (ANALLOC_EINVAL for a store not attached; analloc_free's error for a bad
 * pointer, as model_arena_classify, an address outside the arena included);
 * the model takes the step.  *changed (if not NULL): the call changes the
 * allocator (a refused free into a full list still spills it first). */
int model_arena_store_free(struct model_arena *m, unsigned i, uintptr_t addr, bool *changed);

/* Is store i attached; how many are. */
bool model_arena_store_attached(const struct model_arena *m, unsigned i);
unsigned model_arena_stores(const struct model_arena *m);

/* Store i's list of order k, oldest first: first pages, and (if entries is
 * not NULL) each block's cache table entry; at most ANALLOC_CPU_CAP(k).
 * Returns how many. */
unsigned model_arena_store_list(const struct model_arena *m, unsigned i, unsigned k,
                                uintptr_t *pages, unsigned *entries);

/* The engine's side of a store (testcheck.h-style, reading the private
 * struct analloc_cpu_internal and the allocator's cache table): the count of
 * list k, and slot x's table entry and first page. */
struct analloc_cpu;
unsigned model_cpu_count(const struct analloc_cpu *c, unsigned k);
unsigned model_cpu_entry(const struct analloc_cpu *c, unsigned k, unsigned x);
uintptr_t model_cpu_page(const struct analloc *a, const struct analloc_cpu *c, unsigned k,
                         unsigned x);

/* Compare store c (the engine's store i) with the model: NULL if they agree,
 * else a description of the first difference (in a static buffer). */
const char *model_arena_store_compare(const struct model_arena *m, unsigned i,
                                      const struct analloc_cpu *c);

#endif /* ANALLOC_TESTS_MODEL_H */
