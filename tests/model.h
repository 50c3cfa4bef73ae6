/*
 * model.h - the shadow-model engine shared by the randomized model test
 * (tests/test_model.c, cmocka, tests/testutil.h's generator) and the libFuzzer harness
 * (tests/fuzz_analloc.c, the fuzz input as a byte stream).
 *
 * One call of model_run_one() draws a configuration (page size, arena size,
 * used prefix, start offset, with_chunk or analloc_init with an external
 * metadata buffer, real memory or a never-touched fake range), sets the
 * allocator up, runs a sequence of alloc, free, realloc, mem_size and bad
 * calls, each compared with an exact shadow model, then frees everything and
 * compares the struct and the metadata with a snapshot taken after setup.
 * The description of the checks is at the top of model.c.
 *
 * The engine has no test framework in it: it takes its randomness from a
 * model_source and reports a broken expectation through a model_failure
 * callback, which must not return (cmocka's fail_msg, or abort()).
 *
 * tests/model.c is its own compilation unit: the Makefile links it into
 * test_model, fuzz_replay and the libFuzzer target.
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
    MODEL_INIT   /* real memory, always analloc_init with an external buffer */
};

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
};

/* Counters, summed over the configurations run. */
#define MODEL_ERRORS 16
struct model_totals {
    size_t configs, ops, alloc_ok, alloc_fail, frees, re_in_place, re_move, re_fail, bad, checks;
    size_t mem_sizes, nulls; /* valid mem_size calls; free(NULL) and mem_size(NULL) */
    size_t placed_ok, placed_fail; /* analloc_alloc_flags/_aligned/_range */
    size_t reserves, releases, range_refused; /* analloc_reserve/release: done, refused */
    size_t stats;             /* analloc_stats + frag_index + walk, compared */
    size_t bad_error[MODEL_ERRORS]; /* bad calls by the error expected: [-ANALLOC_ERANGE]... */
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

#endif /* ANALLOC_TESTS_MODEL_H */
