/*
 * test_limits.c - the edges of the engine: arenas too large to describe,
 * ranges at the top of the address space, every shape of small arena, and
 * analloc_check against each field of the struct corrupted in turn.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "analloc.h"
#include "layout.h"
#include "testutil.h"
#include "testcheck.h"

/* An address range that is never touched (the library does not touch managed
 * memory and these tests do not either). */
static void *far_base(void)
{
    return (void *)(uintptr_t)(UINTPTR_MAX > 0xffffffffu ? (uintptr_t)1 << 40 : 0x40000000u);
}

/* ---- too large to describe -------------------------------------------- */

static void test_meta_size_too_large(void **state)
{
    (void)state;
    /* More pages than the target can count bits for: 0, "cannot describe". */
    assert_int_equal(analloc_meta_size(SIZE_MAX, 1), 0);
    assert_int_equal(analloc_meta_size(SIZE_MAX / 4u, 1), 0);
    assert_int_equal(analloc_meta_size(SIZE_MAX / 2u, 2), 0);
    /* A little below the limit is described. */
    assert_true(analloc_meta_size(SIZE_MAX / 16u, 2) > 0);
    /* Not a power of two: 0 too. */
    assert_int_equal(analloc_meta_size(4096, 0), 0);
    assert_int_equal(analloc_meta_size(4096, 48), 0);
}

static void test_init_too_large(void **state)
{
    (void)state;
    struct analloc a;
    uint64_t meta[64];
    memset(&a, 0x5a, sizeof a);
    struct analloc before = a;
    /* The range does not wrap, but it has too many pages to describe. */
    assert_int_equal(analloc_init(&a, (void *)(uintptr_t)4096u, SIZE_MAX / 2u, 1, meta, sizeof meta),
                     ANALLOC_EINVAL);
    assert_memory_equal(&a, &before, sizeof a);
}

static void test_with_chunk_too_large(void **state)
{
    (void)state;
    struct analloc a;
    memset(&a, 0x5a, sizeof a);
    struct analloc before = a;
    /* Rejected before anything is written, so the chunk need not exist. */
    assert_int_equal(analloc_with_chunk(&a, (void *)(uintptr_t)4096u, SIZE_MAX / 2u, 0, 1),
                     ANALLOC_EINVAL);
    assert_memory_equal(&a, &before, sizeof a);
}

/* ---- the top of the address space ------------------------------------- */

static void test_meta_buffer_wraps(void **state)
{
    (void)state;
    struct analloc a;
    memset(&a, 0x5a, sizeof a);
    struct analloc before = a;
    size_t need = analloc_meta_size(64u * 4096u, 4096);
    void *meta = (void *)(UINTPTR_MAX - need / 2u);
    assert_int_equal(analloc_init(&a, far_base(), 64u * 4096u, 4096, meta, need), ANALLOC_EINVAL);
    assert_memory_equal(&a, &before, sizeof a);
}

static void test_chunk_metadata_would_wrap(void **state)
{
    (void)state;
    struct analloc a;
    memset(&a, 0x5a, sizeof a);
    struct analloc before = a;
    /* The chunk ends 2 bytes before the top; aligning the metadata start up
     * to 8 bytes would wrap: too small, and nothing touched. */
    void *chunk = (void *)(UINTPTR_MAX - 20u);
    assert_int_equal(analloc_with_chunk(&a, chunk, 18, 17, 1), ANALLOC_ETOOSMALL);
    assert_memory_equal(&a, &before, sizeof a);
}

/* A chunk in the last bytes of the address space, with pages of one byte:
 * the metadata of even one page would run past the top.  An address sum
 * (metadata start + metadata size) wraps to a small number there and made
 * the bisection accept metadata that overlaps the first page; setup then
 * wrote past the top.  The chunk is not mapped: the call must refuse it
 * without touching it, so it runs in a child that a stray write would kill. */
static void test_chunk_metadata_at_top_of_address_space(void **state)
{
    (void)state;
    /* The metadata of one page: the smallest any arena needs.  A chunk of
     * `room` - 1 bytes that ends one byte below the top holds at most
     * `room` - 2 bytes of metadata before its last page. */
    size_t one_page = analloc_meta_size(1, 1) - 7u;
    for (size_t room = 8; room - 2u < one_page; room *= 2) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            signal(SIGSEGV, SIG_DFL); /* not cmocka's handler: die of it */
            signal(SIGBUS, SIG_DFL);
            struct analloc a;
            int rc = analloc_with_chunk(&a, (void *)(UINTPTR_MAX - room + 1u), room - 1u, 0, 1);
            _exit(rc == ANALLOC_ETOOSMALL ? 0 : 100 + (rc < 0 ? -rc : 50));
        }
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            fail_msg("chunk of %zu bytes below the top: %s %d (want ETOOSMALL, nothing written)",
                     room - 1u, WIFEXITED(status) ? "exit" : "killed by signal",
                     WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    }
}

static void test_range_ending_at_top_of_address_space(void **state)
{
    (void)state;
    /* base + total would be exactly 2^bits: that wraps to 0 and is refused.
     * The struct and the metadata are static: a 32-bit process's stack can
     * lie in the top 256 KiB, inside the range (EOVERLAP, rightly). */
    static struct analloc a;
    static uint64_t meta[ANALLOC_META_SIZE_MAX(128u * 4096u, 4096) / 8u];
    void *base = (void *)(UINTPTR_MAX - 64u * 4096u + 1u);
    assert_int_equal(analloc_init(&a, base, 64u * 4096u, 4096, meta, sizeof meta), ANALLOC_EINVAL);
    /* One page less fits, and the last page is allocatable. */
    assert_int_equal(analloc_init(&a, base, 63u * 4096u, 4096, meta, sizeof meta), ANALLOC_OK);
    assert_int_equal(analloc_check(&a), 0);
    assert_int_equal(a.managed, 63u * 4096u);
    uintptr_t last = 0;
    void *p;
    while ((p = analloc_alloc(&a, 4096)) != NULL)
        last = (uintptr_t)p > last ? (uintptr_t)p : last;
    assert_true(last == UINTPTR_MAX - 2u * 4096u + 1u);
    assert_int_equal(analloc_check(&a), 0);
}

/* Pages of one byte at the very top of the address space: aligning a start
 * up would wrap, and the engine must notice. */
static void test_byte_pages_at_top_of_address_space(void **state)
{
    (void)state;
    struct analloc a;
    uint64_t meta[ANALLOC_META_SIZE_MAX(128u * 4096u, 4096) / 8u];
    void *base = (void *)(UINTPTR_MAX - 100u);
    assert_int_equal(analloc_init(&a, base, 100, 1, meta, sizeof meta), ANALLOC_OK);
    assert_int_equal(a.managed, 100u);
    assert_int_equal(analloc_check(&a), 0);
    size_t got = 0;
    void *p;
    while ((p = analloc_alloc(&a, analloc_largest_free(&a))) != NULL) {
        assert_true((uintptr_t)p % analloc_mem_size(&a, p) == 0);
        got += analloc_mem_size(&a, p);
    }
    assert_int_equal(got, 100u);
    assert_int_equal(analloc_check(&a), 0);
}

/* ---- every small shape ------------------------------------------------- */

/* Every arena of 1 to 2000 pages at several starts: setup, check, fill with
 * the largest blocks, check, free all, check.  Catches layouts whose vectors
 * end exactly on a word boundary, and edges of every alignment. */
static void test_every_small_shape(void **state)
{
    (void)state;
    size_t meta_size = analloc_meta_size(2000u * 64u, 64);
    uint64_t *meta = malloc(meta_size);
    void **live = malloc(2000u * sizeof *live);
    assert_non_null(meta);
    assert_non_null(live);
    static const uintptr_t starts[] = {0, 1, 3, 64, 127, 1000};
    for (size_t s = 0; s < sizeof starts / sizeof starts[0]; s++) {
        for (size_t pages = 1; pages <= 2000; pages++) {
            struct analloc a;
            void *base = (char *)far_base() + starts[s] * 64u;
            assert_int_equal(analloc_init(&a, base, pages * 64u, 64, meta, meta_size), 0);
            assert_int_equal(a.managed, pages * 64u);
            assert_int_equal(analloc_check(&a), 0);
            size_t n = 0, got = 0;
            void *p;
            while ((p = analloc_alloc(&a, analloc_largest_free(&a))) != NULL) {
                got += analloc_mem_size(&a, p);
                live[n++] = p;
            }
            assert_int_equal(got, a.managed);
            assert_int_equal(analloc_check(&a), 0);
            while (n > 0)
                assert_int_equal(analloc_free(&a, live[--n]), 0);
            assert_int_equal(analloc_free_bytes(&a), a.managed);
            assert_int_equal(analloc_check(&a), 0);
        }
    }
    free(live);
    free(meta);
}

/* ---- analloc_check against a corrupted struct --------------------------- */

struct fixture {
    struct analloc a;
    uint64_t *meta;
    size_t meta_size;
};

static int fixture_setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    size_t total = 5000u * 4096u;
    f->meta_size = analloc_meta_size(total, 4096);
    f->meta = malloc(f->meta_size);
    if (f->meta == NULL ||
        analloc_init(&f->a, (char *)far_base() + 3u * 4096u, total, 4096, f->meta, f->meta_size))
        return -1;
    /* Some live blocks of several orders, so every order has both states. */
    for (unsigned i = 0; i < 40; i++)
        if (analloc_alloc(&f->a, (size_t)4096u << (i % 7u)) == NULL)
            return -1;
    *state = f;
    return analloc_check(&f->a) == 0 ? 0 : -1;
}

static int fixture_teardown(void **state)
{
    struct fixture *f = *state;
    free(f->meta);
    free(f);
    return 0;
}

static void rebuild_summaries(struct analloc_internal *s);

static void set_bit(uint64_t *v, size_t bit) { v[bit / 64u] |= (uint64_t)1 << (bit % 64u); }

/* Apply a corruption; check must say ECORRUPT; then restore the struct and
 * the metadata and check must pass again. */
#define EXPECT_CORRUPT(f, stmt)                                                 \
    do {                                                                        \
        struct analloc saved_ = (f)->a;                                         \
        unsigned char *meta_copy_ = malloc((f)->meta_size);                     \
        assert_non_null(meta_copy_);                                            \
        memcpy(meta_copy_, (f)->meta, (f)->meta_size);                          \
        struct analloc *a_ = &(f)->a;                                           \
        stmt;                                                                   \
        int err_ = analloc_check(a_);                                           \
        (f)->a = saved_;                                                        \
        memcpy((f)->meta, meta_copy_, (f)->meta_size);                          \
        free(meta_copy_);                                                       \
        if (err_ != ANALLOC_ECORRUPT)                                           \
            fail_msg("%s: analloc_check returned %d", #stmt, err_);             \
        assert_int_equal(analloc_check(&(f)->a), 0);                            \
    } while (0)

static void test_check_corrupted_fields(void **state)
{
    struct fixture *f = *state;
    struct analloc_internal *s = &f->a.internal;
    EXPECT_CORRUPT(f, a_->internal.lo = 0);
    EXPECT_CORRUPT(f, a_->internal.lo = a_->internal.hi);
    EXPECT_CORRUPT(f, a_->internal.hi = a_->internal.lo + SIZE_MAX / 4u);
    EXPECT_CORRUPT(f, a_->internal.hi -= 1);
    EXPECT_CORRUPT(f, a_->page *= 2u);
    EXPECT_CORRUPT(f, a_->depth += 1u);
    EXPECT_CORRUPT(f, a_->managed -= 4096u);
    EXPECT_CORRUPT(f, a_->start = (char *)a_->start + 4096);
    EXPECT_CORRUPT(f, a_->internal.depth -= 1u);
    EXPECT_CORRUPT(f, (a_->depth -= 1u, a_->internal.depth -= 1u));
    EXPECT_CORRUPT(f, a_->internal.levels += 1u);
    EXPECT_CORRUPT(f, a_->internal.split_word += 1u);
    EXPECT_CORRUPT(f, a_->internal.meta_bytes += 8u);
    for (unsigned l = 0; l < s->levels; l++) {
        EXPECT_CORRUPT(f, a_->internal.level_word[l] += 1u);
        EXPECT_CORRUPT(f, a_->internal.level_bits[l] += 1u);
    }
    EXPECT_CORRUPT(f, a_->internal.free_orders |= (uint64_t)1 << (a_->depth + 1u));
    EXPECT_CORRUPT(f, a_->internal.free_orders ^= 1u);
    EXPECT_CORRUPT(f, a_->internal.free_pages += 1u);
    EXPECT_CORRUPT(f, a_->internal.taken_blocks += 1u);
    /* The order table: rows of (first index bit, free count, lowest free). */
    EXPECT_CORRUPT(f, ORDER_START(&a_->internal, 0) += 1u);
    EXPECT_CORRUPT(f, ORDER_FREE(&a_->internal, 0) += 1u);
    EXPECT_CORRUPT(f, ORDER_LOWEST(&a_->internal, 0) += 1u);
    EXPECT_CORRUPT(f, ORDER_LOWEST(&a_->internal, 0) -= 1u);
    EXPECT_CORRUPT(f, ORDER_FREE(&a_->internal, 1) -= 1u);
    for (unsigned k = 0; k <= f->a.depth + 1u; k++) { /* the bases, every row */
        EXPECT_CORRUPT(f, ORDER_BASE(&a_->internal, k) += 1u);
        EXPECT_CORRUPT(f, ORDER_SPLIT(&a_->internal, k) ^= 64u);
    }
    for (unsigned k = 0; k <= f->a.depth; k++) { /* every lowest-free entry is exact */
        EXPECT_CORRUPT(f, ORDER_LOWEST(&a_->internal, k) ^= 1u);
        if (ORDER_LOWEST(s, k) != ORDER_START(s, k)) /* the run's start, when the lowest is higher */
            EXPECT_CORRUPT(f, ORDER_LOWEST(&a_->internal, k) = ORDER_START(&a_->internal, k));
        if (ORDER_FREE(s, k) != 0) /* "none", when there is one */
            EXPECT_CORRUPT(f, ORDER_LOWEST(&a_->internal, k) = ORDER_START(&a_->internal, k + 1u));
    }
    /* Padding bits past the end of each index level and of the split bits. */
    for (unsigned l = 0; l < s->levels; l++)
        if (s->level_bits[l] % 64u != 0)
            EXPECT_CORRUPT(f, set_bit(a_->internal.words + a_->internal.level_word[l],
                                      a_->internal.level_bits[l]));
    /* In the split words: bit 0 (no node), and the bit of the order-1 node
     * past the arena's end, in the last word of order 1. */
    EXPECT_CORRUPT(f, set_bit(a_->internal.words + a_->internal.split_word, 0));
    uintptr_t past = ((s->hi - 1u) >> 1) + 1u;
    assert_true(past % 32u != 0);
    EXPECT_CORRUPT(f, set_bit(a_->internal.words, ti_split_bit(a_, 1, past)));
    EXPECT_CORRUPT(f, ORDER_START(&a_->internal, a_->depth + 1u) += 1u);
    EXPECT_CORRUPT(f, ORDER_FREE(&a_->internal, a_->depth + 1u) = 1u);
    EXPECT_CORRUPT(f, ORDER_LOWEST(&a_->internal, a_->depth + 1u) = 1u);
    /* The same allocator, uncorrupted, is fine. */
    assert_int_equal(analloc_check(&f->a), 0);
}

/* ---- every byte of the struct, corrupted ------------------------------------
 * analloc_check validates each field before it uses it: a corrupted struct
 * gives ECORRUPT, never undefined behaviour or a crash (the sanitizer builds
 * run this too).  Each byte of struct analloc is flipped with several masks;
 * what check must answer depends on the field it belongs to. */

enum field_kind {
    MUST_CORRUPT, /* any change is reported */
    SETUP_MARK,   /* the set-up mark: EINVAL */
    OPAQUE,       /* the caller's hooks and contexts: not validated */
    DEBUG_WORD,   /* reported unless the new value is a valid debug word */
    CACHE_SLOTS,  /* reported unless the new value is a valid setting */
};

struct field {
    const char *name;
    size_t at, size;
    enum field_kind kind;
};

#define FIELD(f, kind) {#f, offsetof(struct analloc, f), sizeof(((struct analloc *)0)->f), kind}

static const struct field struct_fields[] = {
    FIELD(page, MUST_CORRUPT),
    FIELD(depth, MUST_CORRUPT),
    FIELD(managed, MUST_CORRUPT),
    FIELD(start, MUST_CORRUPT),
    FIELD(internal.magic, SETUP_MARK),
    FIELD(internal.shift, MUST_CORRUPT),
    FIELD(internal.depth, MUST_CORRUPT),
    FIELD(internal.levels, MUST_CORRUPT),
    FIELD(internal.lo, MUST_CORRUPT),
    FIELD(internal.hi, MUST_CORRUPT),
    FIELD(internal.words, MUST_CORRUPT),
    FIELD(internal.cache, MUST_CORRUPT),
    FIELD(internal.table, MUST_CORRUPT),
    FIELD(internal.cache_orders, MUST_CORRUPT),
    FIELD(internal.cache_bits, MUST_CORRUPT),
    FIELD(internal.cache_mul, MUST_CORRUPT),
    FIELD(internal.cache_shift, MUST_CORRUPT),
    FIELD(internal.free_orders, MUST_CORRUPT),
    FIELD(internal.free_pages, MUST_CORRUPT),
    FIELD(internal.taken_blocks, MUST_CORRUPT),
    FIELD(internal.cache_slots, CACHE_SLOTS),
    FIELD(internal.ranges, MUST_CORRUPT),
    FIELD(internal.poison, DEBUG_WORD),
    FIELD(internal.reserved_pages, MUST_CORRUPT),
    FIELD(internal.held_lo, MUST_CORRUPT),
    FIELD(internal.held_hi, MUST_CORRUPT),
    FIELD(internal.lock, MUST_CORRUPT), /* NULL here: one hook without the other */
    FIELD(internal.unlock, MUST_CORRUPT),
    FIELD(internal.lock_ctx, OPAQUE),
    FIELD(internal.hook, OPAQUE),
    FIELD(internal.hook_ctx, OPAQUE),
    FIELD(internal.relax, OPAQUE),
    FIELD(internal.relax_ctx, OPAQUE),
    FIELD(internal.level_word, MUST_CORRUPT),
    FIELD(internal.level_bits, MUST_CORRUPT),
    FIELD(internal.split_word, MUST_CORRUPT),
    FIELD(internal.meta_bytes, MUST_CORRUPT),
    FIELD(internal.seal, MUST_CORRUPT),
    FIELD(internal.origin, MUST_CORRUPT),
    FIELD(internal.space, MUST_CORRUPT),
};

/* A debug word setup or analloc_set_debug can produce (as src/check.c reads
 * the header's flags: ANALLOC_ANNOTATE is not defined for the unit tests). */
static bool valid_debug_word(unsigned w)
{
    unsigned flags = w & 0xffu;
    return (flags & ~(unsigned)(ANALLOC_DEBUG_POISON_FREE | ANALLOC_DEBUG_POISON_FRESH)) == 0 &&
           (w >> 24) == 0 && (flags != 0 || w == 0);
}

static int expected_check(const struct analloc *a, const struct field *f)
{
    switch (f->kind) {
    case SETUP_MARK: /* bit 0 tells the mode: the other mode's mark is set up, but wrong */
        return (a->internal.magic | 1u) == 0x616e6133u ? ANALLOC_ECORRUPT : ANALLOC_EINVAL;
    case OPAQUE:
        return ANALLOC_OK;
    case DEBUG_WORD:
        /* (an address space has no debug aids: src/check.c) */
        return valid_debug_word(a->internal.poison) && (a->internal.space == 0 || a->internal.poison == 0)
                   ? ANALLOC_OK
                   : ANALLOC_ECORRUPT;
    case CACHE_SLOTS:
        if (a->internal.cache_slots > ANALLOC_CACHE_MAX)
            return ANALLOC_ECORRUPT;
        for (unsigned k = 0; k < a->internal.cache_orders; k++)
            if (CACHE_COUNT(&a->internal, k) > a->internal.cache_slots)
                return ANALLOC_ECORRUPT;
        return ANALLOC_OK;
    case MUST_CORRUPT:
        break;
    }
    return ANALLOC_ECORRUPT;
}

static void corrupt_every_byte(struct analloc *a, const char *label)
{
    static const unsigned char masks[] = {0x01, 0x02, 0x10, 0x80, 0xff};
    unsigned char *bytes = (unsigned char *)a;
    size_t covered = 0, wrong = 0, flips = 0;
    assert_int_equal(analloc_check(a), 0);
    for (size_t f = 0; f < sizeof struct_fields / sizeof struct_fields[0]; f++) {
        const struct field *fd = &struct_fields[f];
        assert_int_equal(fd->at, covered); /* fields in order, no padding between */
        covered += fd->size;
        for (size_t i = fd->at; i < fd->at + fd->size; i++) {
            for (size_t m = 0; m < sizeof masks; m++) {
                bytes[i] ^= masks[m];
                int want = expected_check(a, fd);
                int got = analloc_check(a);
                bytes[i] ^= masks[m];
                flips++;
                if (got != want && wrong++ < 10)
                    print_error("%s: byte %zu of %s ^ %#x: analloc_check %d, expected %d\n", label,
                                i - fd->at, fd->name, masks[m], got, want);
            }
        }
    }
    assert_int_equal(covered, sizeof *a); /* every byte belongs to a field */
    assert_int_equal(analloc_check(a), 0);
    printf("   %s: %zu single-byte corruptions of the struct, %zu answered wrongly\n", label, flips,
           wrong);
    if (wrong != 0)
        fail_msg("%s: %zu corruptions of struct analloc answered wrongly", label, wrong);
}

/* Cached blocks, a reserved range and live blocks, so that every count is
 * nonzero and every table has entries. */
static void populate(struct analloc *a)
{
    /* Through the address-space calls, which take every allocator. */
    struct analloc_stats st;
    st.size = sizeof st;
    assert_int_equal(analloc_stats(a, &st), 0);
    uint64_t p[6];
    assert_int_equal(analloc_space_reserve(a, st.space_start + st.space_managed - 5u * a->page,
                                           3u * a->page), 0);
    for (unsigned i = 0; i < 6; i++)
        assert_true((p[i] = analloc_space_alloc(a, a->page << (i % 3u))) != ANALLOC_NO_ADDR);
    for (unsigned i = 0; i < 6; i += 2)
        assert_int_equal(analloc_space_free(a, p[i]), 0);
    assert_int_equal(a->internal.cache_slots, ANALLOC_CACHE_MAX);
    assert_true(ti_cached_blocks(a) > 0);
    assert_int_equal(a->internal.ranges, 1);
}

static void test_check_every_struct_byte(void **state)
{
    (void)state;
    /* External metadata over addresses nobody touches. */
    struct analloc a;
    size_t total = 600u * 4096u, meta_size = analloc_meta_size(total, 4096);
    uint64_t *meta = malloc(meta_size);
    assert_non_null(meta);
    assert_int_equal(analloc_init(&a, (char *)far_base() + 4096u, total, 4096, meta, meta_size), 0);
    populate(&a);
    corrupt_every_byte(&a, "analloc_init");
    free(meta);
    /* Metadata inside the chunk, after a used prefix that holds the struct. */
    size_t csize = 700u * 256u;
    unsigned char *chunk = aligned_alloc(256, csize);
    assert_non_null(chunk);
    struct analloc *b = (struct analloc *)(void *)chunk;
    assert_int_equal(analloc_with_chunk(b, chunk, csize, sizeof *b + 1000u, 256), 0);
    populate(b);
    corrupt_every_byte(b, "analloc_with_chunk");
    free(chunk);
    /* An address space above 4 GiB, its metadata on the heap. */
    struct analloc c;
    meta_size = analloc_space_meta_size(total, 4096);
    meta = malloc(meta_size);
    assert_non_null(meta);
    assert_int_equal(analloc_space_init(&c, ((uint64_t)3 << 32) + 4096u, total, 4096, meta, meta_size), 0);
    populate(&c);
    corrupt_every_byte(&c, "analloc_space_init");
    free(meta);
}

/* Claim the order-k block at page pfn as cached in slot i of list k: its
 * key in a free entry of its bucket, the slot naming that entry. */
static void claim_cached(struct analloc_internal *s, unsigned k, unsigned i, uintptr_t pfn)
{
    uint64_t key = ORDER_BASE(s, k) + (pfn >> k);
    unsigned b = cache_bucket(key, s->cache_mul, s->cache_shift);
    unsigned e = CACHE_KEY(s, b) == 0 ? b : b + 1u;
    CACHE_KEY(s, e) = key;
    CACHE_SLOT(s, k, i) = e + 1u;
}

/* A table entry that holds no key, outside bucket `avoid`. */
static unsigned unused_entry(const struct analloc_internal *s, unsigned avoid)
{
    unsigned e = 0;
    while (CACHE_KEY(s, e) != 0 || (e & ~1u) == avoid)
        e++;
    return e;
}

/* The block cache: three cached pages and a cached two-page block, then
 * every way its fields can lie. */
static void test_check_corrupted_cache(void **state)
{
    struct fixture *f = *state;
    struct analloc_internal *s = &f->a.internal;
    void *p[4], *two[2];
    for (unsigned i = 0; i < 4; i++)
        assert_non_null(p[i] = analloc_alloc(&f->a, 4096));
    for (unsigned i = 0; i < 2; i++)
        assert_non_null(two[i] = analloc_alloc(&f->a, 2u * 4096u));
    analloc_drain(&f->a); /* what the allocations took beyond these, into the lists */
    for (unsigned i = 0; i < 3; i++)
        assert_int_equal(analloc_free(&f->a, p[i]), 0);
    assert_int_equal(analloc_free(&f->a, two[0]), 0);
    assert_int_equal(CACHE_COUNT(s, 0), 3u);
    assert_int_equal(CACHE_COUNT(s, 1), 1u);
    assert_int_equal(analloc_check(&f->a), 0);
    uintptr_t live = (uintptr_t)p[3] / 4096u;      /* a live one-page block */
    uintptr_t live2 = (uintptr_t)two[1] / 4096u;   /* a live two-page block */
    unsigned spare = unused_entry(s, ((unsigned)CACHE_SLOT(s, 0, 0) - 1u) & ~1u);
    size_t entries = (size_t)1 << s->cache_bits;
    EXPECT_CORRUPT(f, CACHE_COUNT(&a_->internal, 0) = 4);             /* a zero slot counted */
    EXPECT_CORRUPT(f, CACHE_COUNT(&a_->internal, 0) = 2);             /* a key left unlisted */
    EXPECT_CORRUPT(f, CACHE_COUNT(&a_->internal, 1) = 0);
    EXPECT_CORRUPT(f, CACHE_COUNT(&a_->internal, 2) = 1);
    EXPECT_CORRUPT(f, a_->internal.cache_slots = 2);           /* more blocks than slots */
    EXPECT_CORRUPT(f, a_->internal.cache_slots = ANALLOC_CACHE_MAX + 1u);
    EXPECT_CORRUPT(f, CACHE_SLOT(&a_->internal, 0, 5) = spare + 1u);  /* an unused slot not zero */
    EXPECT_CORRUPT(f, CACHE_SLOT(&a_->internal, 3, 0) = spare + 1u);
    EXPECT_CORRUPT(f, CACHE_SLOT(&a_->internal, 0, 1) = CACHE_SLOT(&a_->internal, 0, 0)); /* twice */
    EXPECT_CORRUPT(f, CACHE_SLOT(&a_->internal, 0, 2) = entries + 1u);  /* past the table */
    EXPECT_CORRUPT(f, CACHE_SLOT(&a_->internal, 0, 2) = spare + 1u);    /* an empty entry */
    EXPECT_CORRUPT(f, CACHE_KEY(&a_->internal, spare) = 1u);            /* a key no list names */
    /* Keys of nodes outside the arena, of another order, or in a bucket
     * that is not theirs. */
    unsigned e0 = (unsigned)CACHE_SLOT(s, 0, 0) - 1u;
    EXPECT_CORRUPT(f, CACHE_KEY(&a_->internal, e0) = ORDER_BASE(&a_->internal, 0) + a_->internal.lo - 1u);
    EXPECT_CORRUPT(f, CACHE_KEY(&a_->internal, e0) = ORDER_BASE(&a_->internal, 0) + a_->internal.hi);
    EXPECT_CORRUPT(f, CACHE_KEY(&a_->internal, e0) = ORDER_BASE(&a_->internal, 1) + (live2 >> 1));
    EXPECT_CORRUPT(f, (CACHE_KEY(&a_->internal, spare) = CACHE_KEY(&a_->internal, e0),
                       CACHE_KEY(&a_->internal, e0) = 0, CACHE_SLOT(&a_->internal, 0, 0) = spare + 1u));
    /* A block in the list of another order, or at a wrong address. */
    EXPECT_CORRUPT(f, (claim_cached(&a_->internal, 1, 1, live), CACHE_COUNT(&a_->internal, 1) = 2));
    EXPECT_CORRUPT(f, (claim_cached(&a_->internal, 0, 3, live2), CACHE_COUNT(&a_->internal, 0) = 4));
    EXPECT_CORRUPT(f, (claim_cached(&a_->internal, 0, 3, live2 + 1u), CACHE_COUNT(&a_->internal, 0) = 4));
    /* The first page and an inner page of a larger block, and a free page:
     * none looks like a live one-page block.  (A live block of the same
     * order claimed as cached cannot be told apart: both are encoded as
     * used, and the cache is the only record of which is which.) */
    uintptr_t big = (uintptr_t)analloc_alloc(&f->a, 32u * 4096u) / 4096u;
    assert_true(big != 0);
    EXPECT_CORRUPT(f, (claim_cached(&a_->internal, 0, 3, big), CACHE_COUNT(&a_->internal, 0) = 4));
    EXPECT_CORRUPT(f, (claim_cached(&a_->internal, 0, 3, big + 5u), CACHE_COUNT(&a_->internal, 0) = 4));
    uintptr_t free_page = (uintptr_t)analloc_alloc(&f->a, 4096) / 4096u;
    assert_int_equal(analloc_set_cache(&f->a, 0), 0); /* drains */
    assert_int_equal(analloc_free(&f->a, (void *)(free_page * 4096u)), 0);
    assert_int_equal(ti_cached_blocks(&f->a), 0u);
    EXPECT_CORRUPT(f, (a_->internal.cache_slots = 1, claim_cached(&a_->internal, 0, 0, free_page),
                       CACHE_COUNT(&a_->internal, 0) = 1));
    assert_int_equal(analloc_check(&f->a), 0);
}

/* Recompute every summary level from the level below (the engine's rule:
 * bit i of level l+1 is set iff word i of level l is nonzero). */
static void rebuild_summaries(struct analloc_internal *s)
{
    for (unsigned l = 1; l < s->levels; l++) {
        uint64_t *below = s->words + s->level_word[l - 1u];
        uint64_t *here = s->words + s->level_word[l];
        for (size_t b = 0; b < s->level_bits[l]; b++) {
            uint64_t bit = (uint64_t)1 << (b % 64u);
            here[b / 64u] = below[b] != 0 ? here[b / 64u] | bit : here[b / 64u] & ~bit;
        }
    }
}

/* A free buddy pair left unmerged, and a free bit under a used block: both
 * are encodings that no single bit flip produces from a healthy state. */
static void test_check_unmerged_buddies(void **state)
{
    (void)state;
    struct analloc a;
    uint64_t meta[ANALLOC_META_SIZE_MAX(16u * 4096u, 4096) / 8u];
    /* 16 pages at an address aligned to 16 pages: one free block of order 4. */
    void *base = (char *)far_base() + 16u * 4096u;
    assert_int_equal(analloc_init(&a, base, 16u * 4096u, 4096, meta, sizeof meta), 0);
    void *p = analloc_alloc(&a, 4096), *q = analloc_alloc(&a, 4096);
    assert_int_equal(analloc_check(&a), 0);
    /* Mark both order-0 blocks free by hand: counts adjusted, bits set, but
     * they are buddies and should have merged. */
    struct analloc_internal *s = &a.internal;
    size_t bit0 = ORDER_START(s, 0) + (size_t)(((uintptr_t)p / 4096u) - s->lo);
    size_t bit1 = ORDER_START(s, 0) + (size_t)(((uintptr_t)q / 4096u) - s->lo);
    uint64_t *level0 = s->words + s->level_word[0];
    level0[bit0 / 64u] |= (uint64_t)1 << (bit0 % 64u);
    level0[bit1 / 64u] |= (uint64_t)1 << (bit1 % 64u);
    ORDER_FREE(s, 0) = 2;
    ORDER_LOWEST(s, 0) = bit0 < bit1 ? bit0 : bit1;
    s->free_orders |= 1u;
    s->free_pages += 2;
    s->taken_blocks -= 2;
    rebuild_summaries(s);
    assert_int_equal(analloc_check(&a), ANALLOC_ECORRUPT);
}

static void collect(void *ctx, const char *line)
{
    char *top = ctx;
    /* The first order row is the top order. */
    if (top[0] == '\0' && strstr(line, "order") != NULL)
        strncpy(top, line, 255);
}

/* One block covering the whole arena, in use: the top row shows 'U'. */
static void test_dump_whole_arena_used(void **state)
{
    (void)state;
    struct analloc a;
    uint64_t meta[ANALLOC_META_SIZE_MAX(32u * 4096u, 4096) / 8u];
    void *base = (char *)far_base() + 32u * 4096u;
    assert_int_equal(analloc_init(&a, base, 32u * 4096u, 4096, meta, sizeof meta), 0);
    assert_int_equal(a.depth, 5u);
    assert_non_null(analloc_alloc(&a, 32u * 4096u));
    char top[256] = {0};
    analloc_dump(&a, collect, top, 0);
    assert_non_null(strstr(top, "|U|"));
}

/* Positions of a node's bits, by the layout analloc.c documents. */
static size_t free_pos(const struct analloc_internal *s, unsigned k, uintptr_t j)
{
    return ORDER_START(s, k) + (size_t)(j - (s->lo >> k));
}


static void flip(uint64_t *v, size_t bit) { v[bit / 64u] ^= (uint64_t)1 << (bit % 64u); }

/* Break one tree invariant while keeping the summaries consistent, so that
 * the tree walk, not the structure check, must notice. */
static void test_check_tree_invariants(void **state)
{
    struct fixture *f = *state;
    struct analloc_internal *s = &f->a.internal;
    uint64_t *level0 = s->words + s->level_word[0];
    uint64_t *split = s->words;

    /* A used block of order >= 1 and a free block of order >= 1. */
    void *used = analloc_alloc(&f->a, 4u * 4096u);
    assert_non_null(used);
    uintptr_t upfn = (uintptr_t)used / 4096u;
    unsigned fk = 1;
    while (fk <= f->a.depth && ORDER_FREE(s, fk) == 0)
        fk++;
    assert_true(fk <= f->a.depth);
    uintptr_t fj = 0;
    for (uintptr_t j = s->lo >> fk; j <= (s->hi - 1u) >> fk; j++)
        if (level0[free_pos(s, fk, j) / 64u] >> (free_pos(s, fk, j) % 64u) & 1u) {
            fj = j;
            break;
        }
    assert_true(fj != 0);
    /* The first node of order 1 straddles the arena's start (lo is odd). */
    assert_true(s->lo % 2u == 1u);

    EXPECT_CORRUPT(f, (flip(split, ti_split_bit(&f->a, fk, fj)), rebuild_summaries(&a_->internal)));
    EXPECT_CORRUPT(f, (flip(split, ti_split_bit(&f->a, 1, s->lo >> 1)), rebuild_summaries(&a_->internal)));
    EXPECT_CORRUPT(f, (flip(level0, free_pos(s, 0, upfn + 1u)), rebuild_summaries(&a_->internal)));
    EXPECT_CORRUPT(f, (flip(split, ti_split_bit(&f->a, 1, (upfn >> 1) + 1u)),
                       rebuild_summaries(&a_->internal)));
    /* Summaries that disagree with the level below, both ways. */
    for (unsigned l = 1; l < s->levels; l++) {
        uint64_t *here = s->words + s->level_word[l];
        uint64_t *below = s->words + s->level_word[l - 1u];
        size_t zero = 0, nonzero = 0;
        bool have_zero = false, have_nonzero = false;
        for (size_t b = 0; b < s->level_bits[l]; b++) {
            if (below[b] == 0 && !have_zero) {
                zero = b;
                have_zero = true;
            }
            if (below[b] != 0 && !have_nonzero) {
                nonzero = b;
                have_nonzero = true;
            }
        }
        if (have_zero)
            EXPECT_CORRUPT(f, flip(here, zero));
        if (have_nonzero)
            EXPECT_CORRUPT(f, flip(here, nonzero));
    }
    assert_int_equal(analloc_free(&f->a, used), 0);
    assert_int_equal(analloc_check(&f->a), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_meta_size_too_large),
        cmocka_unit_test(test_init_too_large),
        cmocka_unit_test(test_with_chunk_too_large),
        cmocka_unit_test(test_meta_buffer_wraps),
        cmocka_unit_test(test_chunk_metadata_would_wrap),
        cmocka_unit_test(test_chunk_metadata_at_top_of_address_space),
        cmocka_unit_test(test_range_ending_at_top_of_address_space),
        cmocka_unit_test(test_byte_pages_at_top_of_address_space),
        cmocka_unit_test(test_dump_whole_arena_used),
        cmocka_unit_test(test_every_small_shape),
        cmocka_unit_test_setup_teardown(test_check_corrupted_fields, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_check_corrupted_cache, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test(test_check_unmerged_buddies),
        cmocka_unit_test(test_check_every_struct_byte),
        cmocka_unit_test_setup_teardown(test_check_tree_invariants, fixture_setup,
                                        fixture_teardown),
    };
    return cmocka_run_group_tests_name("limits", tests, NULL, NULL);
}
