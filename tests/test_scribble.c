/*
 * test_scribble.c - "memory is never touched", as a differential test.
 *
 * analloc.h promises that no function reads or writes a byte of the managed
 * range (except analloc_realloc's copy when a block moves).  So if, between
 * any two calls, every byte the allocator manages is overwritten with fresh
 * random bytes, no answer may change.
 *
 * Two allocators are set up with the same layout relative to their chunks:
 * each chunk sits at the same offset from an address aligned to a power of two
 * larger than the whole buffer, so every block has the same alignment in
 * absolute addresses on both sides.  One (A) has all of its managed memory
 * scribbled with fresh random bytes after every operation (and its buffer
 * filled with random bytes before setup); the other (B) is never touched by
 * the test.  The same random sequence of operations runs on both - alloc with
 * mixed sizes, free, realloc (shrink, grow in place, move, fail, NULL), bad
 * frees, bad reallocs, mem_size, analloc_check, analloc_free_bytes,
 * analloc_largest_free, analloc_meta_bytes, analloc_dump - and every answer
 * must be identical: pointers as offsets from their chunk, error codes,
 * sizes, check results, error hook calls, dump lines (the first one without
 * its address), and the metadata bytes themselves.
 *
 * The scribbled range is, with analloc_with_chunk, from a->start to the end of
 * the chunk (the used prefix, the metadata and the slack before a->start are
 * not scribbled), and with analloc_init the whole range [base, base + total).
 * After every operation A's range must also still hold exactly the bytes of
 * the last scribble, except the first bytes of a block that realloc moved,
 * which must hold a copy of the old block: the allocator wrote nothing else.
 * analloc_check(A) must return 0 after every scribble.
 *
 * Page sizes 1, 16 and 4096; odd chunk starts, used prefixes, the struct
 * inside the used prefix, odd metadata buffer addresses.
 *
 * Prints its seed; ANALLOC_SEED=n replays it; ANALLOC_QUICK=1 runs a fifth of
 * the operations (for the sanitizer and valgrind runs).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "analloc.h"
#include "layout.h"
#include "testutil.h"
#include "testcheck.h"

#define OPS_FULL 2500u
#define OPS_QUICK 500u
#define MAX_DUMP_LINES 80u

static uint64_t g_seed;
static int g_quick;

/* ---- pseudo-random numbers (tests/testutil.h's generator) ----------------- */

static int chance(struct rng *r, unsigned percent)
{
    return rng_below(r, 100) < percent;
}

static void random_bytes(struct rng *r, unsigned char *p, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w = rng_next(r);
        memcpy(p + i, &w, 8);
    }
    if (i < n) {
        uint64_t w = rng_next(r);
        memcpy(p + i, &w, n - i);
    }
}

/* ---- configurations -------------------------------------------------------- */

enum mode { MODE_CHUNK, MODE_INIT };

struct cfg {
    enum mode mode;
    size_t page;
    size_t off;         /* chunk (base) offset from an address aligned to > buffer size */
    size_t pages;       /* about this many pages */
    size_t used;        /* with_chunk: the used prefix */
    int struct_in_prefix; /* with_chunk: the struct analloc lives in the used prefix */
    size_t meta_off;    /* init: metadata offset from a 16-aligned address */
};

/* ---- the two sides --------------------------------------------------------- */

struct side {
    unsigned char *buf;   /* aligned to pair.align */
    unsigned char *chunk; /* buf + off: the chunk (with_chunk) or the base (init) */
    unsigned char *metabuf, *meta;
    size_t meta_size;
    struct analloc local;
    analloc_t a;
    struct hook_log hl;
};

struct live {
    size_t off, size; /* offset from the chunk, block size */
};

struct pair {
    const struct cfg *c;
    char desc[200];
    struct side s[2]; /* 0: scribbled, 1: untouched */
    size_t total, buflen, align, margin;
    size_t lo, hi;          /* the scribbled range, as offsets from the chunk */
    unsigned char *shadow;  /* what A's range must hold: the last scribble */
    unsigned char *tmp;     /* a block's bytes before a realloc */
    struct rng r;           /* the operations */
    struct rng bytes;       /* the scribbles */
    struct live *live;
    size_t nlive, cap;
    size_t freed[16], nfreed, freed_pos; /* recently freed offsets */
    size_t op;
    const char *what;
    /* statistics */
    size_t n_alloc, n_alloc_null, n_free, n_re_in_place, n_re_move, n_re_fail, n_bad, n_check,
        n_dump, n_scribbles;
};

#define A(p) ((p)->s[0].a)
#define B(p) ((p)->s[1].a)

#define FAILP(p, ...)                                                                       \
    do {                                                                                    \
        print_error("%s\n  op %zu (%s), seed %llu (replay: ANALLOC_SEED=%llu)\n  ", (p)->desc, \
                    (p)->op, (p)->what, (unsigned long long)g_seed,                         \
                    (unsigned long long)g_seed);                                            \
        print_error(__VA_ARGS__);                                                           \
        print_error("\n");                                                                  \
        fail();                                                                             \
    } while (0)

/* Side i's pointer at offset off from its chunk (off may be "negative"). */
static void *at(const struct pair *p, int i, size_t off)
{
    return ptr_at(addr(p->s[i].chunk) + (uintptr_t)off);
}

/* Offset of q from side i's chunk; (size_t)-1 for NULL. */
static size_t off_of(const struct pair *p, int i, const void *q)
{
    return q == NULL ? (size_t)-1 : (size_t)(addr(q) - addr(p->s[i].chunk));
}

static void same_ptr(struct pair *p, const void *qa, const void *qb, const char *call)
{
    size_t oa = off_of(p, 0, qa), ob = off_of(p, 1, qb);
    if (oa != ob)
        FAILP(p, "%s: scribbled side returned %p (chunk %+lld), untouched side %p (chunk %+lld)",
              call, qa, qa ? (long long)oa : 0LL, qb, qb ? (long long)ob : 0LL);
}

static void same_size(struct pair *p, size_t a, size_t b, const char *call)
{
    if (a != b)
        FAILP(p, "%s: scribbled side %zu, untouched side %zu", call, a, b);
}

static void same_int(struct pair *p, int a, int b, const char *call)
{
    if (a != b)
        FAILP(p, "%s: scribbled side %d (%s), untouched side %d (%s)", call, a,
              analloc_strerror(a), b, analloc_strerror(b));
}

/* ---- scribbling ------------------------------------------------------------ */

/* A's range must hold the last scribble; [keep, keep + klen) is exempt (a
 * realloc copy, checked by the caller). */
static void verify_untouched(struct pair *p, size_t keep, size_t klen)
{
    const unsigned char *m = p->s[0].chunk + p->lo;
    size_t n = p->hi - p->lo, i;
    size_t k0 = klen ? keep - p->lo : n, k1 = klen ? k0 + klen : n;
    if (memcmp(m, p->shadow, k0 < n ? k0 : n) == 0 &&
        (k1 >= n || memcmp(m + k1, p->shadow + k1, n - k1) == 0))
        return;
    for (i = 0; i < n; i++)
        if ((i < k0 || i >= k1) && m[i] != p->shadow[i])
            break;
    FAILP(p, "the allocator wrote managed memory: chunk offset %zu holds %#x, scribbled %#x",
          i + p->lo, m[i], p->shadow[i]);
}

static void scribble(struct pair *p)
{
    random_bytes(&p->bytes, p->shadow, p->hi - p->lo);
    memcpy(p->s[0].chunk + p->lo, p->shadow, p->hi - p->lo);
    p->n_scribbles++;
}

/* ---- comparisons after every operation -------------------------------------- */

static void compare_hooks(struct pair *p, size_t calls0, size_t calls1, const void *pa,
                          const void *pb)
{
    const struct hook_log *ha = &p->s[0].hl, *hb = &p->s[1].hl;
    if (ha->calls - calls0 != hb->calls - calls1)
        FAILP(p, "error hook: %zu calls on the scribbled side, %zu on the untouched side",
              ha->calls - calls0, hb->calls - calls1);
    if (hb->calls != calls1) {
        same_int(p, ha->error, hb->error, "error hook code");
        if (ha->ptr != pa || hb->ptr != pb)
            FAILP(p, "error hook pointer %p / %p, expected the pointers passed, %p / %p", ha->ptr,
                  hb->ptr, pa, pb);
    }
}

static void compare_state(struct pair *p)
{
    same_size(p, analloc_free_bytes(A(p)), analloc_free_bytes(B(p)), "analloc_free_bytes");
    same_size(p, analloc_largest_free(A(p)), analloc_largest_free(B(p)), "analloc_largest_free");
    same_size(p, analloc_meta_bytes(A(p)), analloc_meta_bytes(B(p)), "analloc_meta_bytes");
    /* The bit vectors and the order table number nodes from the arena's
     * first page: with the same layout, they are the same bytes.  The cache
     * slots and the range table hold absolute page numbers: the same
     * relative to each arena's first page. */
    const uint64_t *wa = TI_WORDS(A(p)), *wb = TI_WORDS(B(p));
    size_t from = (size_t)(TI_CACHEP(A(p)) - wa), to = from + (size_t)(TI_TABLEP(A(p)) - TI_CACHEP(A(p))) +
                                                       ((size_t)1 << TI_CACHE_BITS(A(p))) + RANGE_WORDS;
    if (ti_meta_bytes(A(p)) != ti_meta_bytes(B(p)) || TI_SPLIT_WORD(A(p)) != TI_SPLIT_WORD(B(p)) ||
        memcmp(wa + to, wb + to, (TI_SPLIT_WORD(A(p)) - to) * 8u) != 0)
        FAILP(p, "the free-block index of the two allocators differs");
    /* The split bits sit in words per aligned group of 2^6, 2^12 ... pages,
     * which may cut the two arenas differently: node by node. */
    for (unsigned k = 1; k <= A(p)->depth; k++)
        for (uintptr_t n = 0; n <= ((TI_HI(A(p)) - 1u) >> k) - (TI_LO(A(p)) >> k); n++)
            if (ti_split(A(p), k, (TI_LO(A(p)) >> k) + n) != ti_split(B(p), k, (TI_LO(B(p)) >> k) + n))
                FAILP(p, "the split bit of node %zu of order %u differs", (size_t)n, k);
    /* The order table: the bases of a node's bits count absolute page
     * numbers, lo >> k for a free bit, lo >> the top of the level of
     * SPLIT_SPAN orders for a split bit: the same once that is added back. */
    for (size_t i = 0; i < from; i++) {
        unsigned k = (unsigned)(i / ORDER_ROW);
        bool base = (i % ORDER_ROW == 3u || i % ORDER_ROW == 4u) && wa[i] != 0;
        unsigned sh = i % ORDER_ROW == 3u ? k : (k + SPLIT_SPAN - 1u) / SPLIT_SPAN * SPLIT_SPAN;
        uint64_t xa = base ? wa[i] + (TI_LO(A(p)) >> sh) : wa[i];
        uint64_t xb = base ? wb[i] + (TI_LO(B(p)) >> sh) : wb[i];
        if (xa != xb)
            FAILP(p, "order table word %zu differs: %#llx / %#llx", i, (unsigned long long)wa[i],
                  (unsigned long long)wb[i]);
    }
    /* The cache's lists and table name nodes by their bits: the same bytes.
     * The range table holds page numbers: the same relative to the arena. */
    if (memcmp(wa + from, wb + from, (to - RANGE_WORDS - from) * 8u) != 0)
        FAILP(p, "the block cache of the two allocators differs");
    for (size_t i = to - RANGE_WORDS; i < to; i++) {
        uint64_t xa = wa[i], xb = wb[i], la = TI_LO(A(p)), lb = TI_LO(B(p));
        if ((xa == 0 ? 0 : xa - la) != (xb == 0 ? 0 : xb - lb))
            FAILP(p, "range table word %zu differs: %#llx / %#llx", i, (unsigned long long)xa,
                  (unsigned long long)xb);
    }
}

/* After an operation: scribble A, check it, compare. */
static void after_op(struct pair *p)
{
    int rc;
    if (p->s[0].hl.calls != p->s[1].hl.calls)
        FAILP(p, "error hook: %zu calls on the scribbled side, %zu on the untouched side",
              p->s[0].hl.calls, p->s[1].hl.calls);
    scribble(p);
    rc = analloc_check(A(p));
    if (rc != ANALLOC_OK)
        FAILP(p, "analloc_check after a scribble = %d (%s)", rc, analloc_strerror(rc));
    compare_state(p);
    if (p->op % 32 == 0) {
        rc = analloc_check(B(p));
        if (rc != ANALLOC_OK)
            FAILP(p, "analloc_check of the untouched side = %d (%s)", rc, analloc_strerror(rc));
    }
}

/* ---- the live list (driven by B's answers) ------------------------------------ */

static size_t find_live(const struct pair *p, size_t off)
{
    size_t j;
    for (j = 0; j < p->nlive; j++)
        if (p->live[j].off == off)
            return j;
    return (size_t)-1;
}

static void live_add(struct pair *p, size_t off, size_t size)
{
    if (p->nlive == p->cap)
        FAILP(p, "test bug: more live blocks than pages");
    p->live[p->nlive].off = off;
    p->live[p->nlive].size = size;
    p->nlive++;
}

static void live_remove(struct pair *p, size_t j)
{
    p->freed[p->freed_pos] = p->live[j].off;
    p->freed_pos = (p->freed_pos + 1) % 16;
    if (p->nfreed < 16)
        p->nfreed++;
    p->live[j] = p->live[--p->nlive];
}

/* ---- sizes ------------------------------------------------------------------ */

static size_t size_of_order(struct pair *p, unsigned k)
{
    size_t page = A(p)->page, hi = page << k, lo = k ? (page << (k - 1)) + 1 : 1;
    switch (rng_below(&p->r, 4)) {
    case 0: return hi;
    case 1: return lo;
    default: return lo + rng_below(&p->r, hi - lo + 1);
    }
}

static size_t size_too_large(struct pair *p)
{
    size_t page = A(p)->page, big = page << A(p)->depth;
    switch (rng_below(&p->r, 6)) {
    case 0: return big + 1;
    case 1: return big * 2;
    case 2: return SIZE_MAX;
    case 3: return SIZE_MAX - page + 1;
    case 4: return (SIZE_MAX >> 1) + 1;
    default: return A(p)->managed + 1 + rng_below(&p->r, A(p)->managed);
    }
}

static size_t gen_size(struct pair *p)
{
    unsigned d = (unsigned)A(p)->depth, k, k2;
    size_t c = rng_below(&p->r, 100);
    if (c < 5)
        return 0;
    if (c < 10)
        return size_too_large(p);
    k = (unsigned)rng_below(&p->r, d + 1);
    k2 = (unsigned)rng_below(&p->r, d + 1);
    if (c < 60 && k2 < k)
        k = k2; /* mostly small */
    return size_of_order(p, k);
}

/* ---- operations ------------------------------------------------------------- */

static void op_alloc(struct pair *p, int via_realloc)
{
    size_t size = gen_size(p);
    void *qa, *qb;
    p->what = via_realloc ? "realloc(NULL, size)" : "alloc";
    qa = via_realloc ? analloc_realloc(A(p), NULL, size) : analloc_alloc(A(p), size);
    qb = via_realloc ? analloc_realloc(B(p), NULL, size) : analloc_alloc(B(p), size);
    same_ptr(p, qa, qb, p->what);
    verify_untouched(p, 0, 0);
    if (qb == NULL) {
        p->n_alloc_null++;
        return;
    }
    same_size(p, analloc_mem_size(A(p), qa), analloc_mem_size(B(p), qb), "mem_size of a new block");
    live_add(p, off_of(p, 1, qb), analloc_mem_size(B(p), qb));
    p->n_alloc++;
}

static void op_free(struct pair *p)
{
    size_t j = rng_below(&p->r, p->nlive), off = p->live[j].off;
    int ra, rb;
    p->what = "free";
    ra = analloc_free(A(p), at(p, 0, off));
    rb = analloc_free(B(p), at(p, 1, off));
    same_int(p, ra, rb, "free of a live block");
    if (rb != ANALLOC_OK)
        FAILP(p, "free of the live block at chunk +%zu = %d (%s)", off, rb, analloc_strerror(rb));
    verify_untouched(p, 0, 0);
    live_remove(p, j);
    p->n_free++;
}

static void op_realloc(struct pair *p)
{
    size_t j, off, old, size, noff;
    unsigned k, d = (unsigned)A(p)->depth;
    void *qa, *qb;
    if (p->nlive == 0 || chance(&p->r, 5)) {
        op_alloc(p, 1);
        return;
    }
    p->what = "realloc";
    j = rng_below(&p->r, p->nlive);
    off = p->live[j].off;
    old = p->live[j].size;
    for (k = 0; (A(p)->page << k) < old; k++)
        ;
    switch (rng_below(&p->r, 10)) {
    case 0: size = 0; break;
    case 1:
    case 2: size = size_of_order(p, k ? (unsigned)rng_below(&p->r, k) : 0); break; /* shrink */
    case 3: size = size_of_order(p, k); break;                                /* same */
    case 4:
    case 5:
    case 6: size = k < d ? size_of_order(p, k + 1) : size_too_large(p); break; /* grow a bit */
    case 7: size = size_of_order(p, k + (unsigned)rng_below(&p->r, d - k + 1)); break;
    case 8: size = size_too_large(p); break;
    default: size = size_of_order(p, (unsigned)rng_below(&p->r, d + 1)); break;
    }
    memcpy(p->tmp, at(p, 0, off), old); /* A's block: scribbled bytes */
    qa = analloc_realloc(A(p), at(p, 0, off), size);
    qb = analloc_realloc(B(p), at(p, 1, off), size);
    same_ptr(p, qa, qb, "realloc");
    if (qb == NULL) {
        verify_untouched(p, 0, 0);
        same_size(p, analloc_mem_size(A(p), at(p, 0, off)), old, "mem_size after a failed realloc");
        same_size(p, analloc_mem_size(B(p), at(p, 1, off)), old, "mem_size after a failed realloc");
        p->n_re_fail++;
        return;
    }
    noff = off_of(p, 1, qb);
    same_size(p, analloc_mem_size(A(p), qa), analloc_mem_size(B(p), qb), "mem_size after realloc");
    if (noff == off) {
        verify_untouched(p, 0, 0); /* in place: nothing is written */
        p->n_re_in_place++;
    } else {
        /* moved: the old block's bytes were copied, nothing else written */
        if (memcmp(qa, p->tmp, old) != 0)
            FAILP(p, "realloc moved a block of %zu bytes from chunk +%zu to +%zu without copying "
                  "its contents", old, off, noff);
        verify_untouched(p, noff, old);
        p->n_re_move++;
        p->live[j].off = noff;
    }
    p->live[j].size = analloc_mem_size(B(p), qb);
}

static void op_mem_size(struct pair *p)
{
    size_t off;
    p->what = "mem_size";
    if (p->nlive > 0 && chance(&p->r, 70)) {
        size_t j = rng_below(&p->r, p->nlive);
        off = p->live[j].off;
        same_size(p, analloc_mem_size(A(p), at(p, 0, off)), p->live[j].size,
                  "mem_size of a live block");
    } else {
        off = p->lo + rng_below(&p->r, p->hi - p->lo);
    }
    same_size(p, analloc_mem_size(A(p), at(p, 0, off)), analloc_mem_size(B(p), at(p, 1, off)),
              "mem_size");
    verify_untouched(p, 0, 0);
}

/* A pointer, as (side, offset from that side's chunk or metadata buffer), that
 * is most likely not the start of a live block. */
static void bad_pointer(struct pair *p, void **pa, void **pb)
{
    size_t page = A(p)->page, off, span = p->total + 8 * page + 128;
    uintptr_t abs;
    switch (rng_below(&p->r, 9)) {
    case 0: /* anywhere around the chunk */
        off = rng_below(&p->r, span) - 4 * page - 64;
        break;
    case 1: /* inside a live block */
        if (p->nlive > 0) {
            const struct live *l = &p->live[rng_below(&p->r, p->nlive)];
            off = l->off + rng_below(&p->r, l->size);
            break;
        }
        off = p->lo + rng_below(&p->r, p->hi - p->lo);
        break;
    case 2: /* a page inside a live block */
        if (p->nlive > 0) {
            const struct live *l = &p->live[rng_below(&p->r, p->nlive)];
            off = l->off + rng_below(&p->r, l->size / page) * page;
            break;
        }
        off = p->lo;
        break;
    case 3: /* recently freed */
        off = p->nfreed ? p->freed[rng_below(&p->r, p->nfreed)] : p->lo;
        break;
    case 4: /* any page of the arena */
        off = off_of(p, 0, A(p)->start) + rng_below(&p->r, A(p)->managed / page) * page;
        break;
    case 5: /* the metadata or the used prefix */
        if (p->c->mode == MODE_INIT) {
            size_t m = rng_below(&p->r, p->s[0].meta_size + 16) - 8;
            *pa = ptr_at(addr(p->s[0].meta) + m);
            *pb = ptr_at(addr(p->s[1].meta) + m);
            return;
        }
        off = rng_below(&p->r, p->lo);
        break;
    case 6: /* far away: the same absolute address on both sides */
        abs = chance(&p->r, 50) ? UINTPTR_MAX - rng_below(&p->r, 4 * page) : 1 + rng_below(&p->r, 4096);
        *pa = *pb = ptr_at(abs);
        return;
    case 7: /* the partial pages and just outside the arena */
        off = chance(&p->r, 50) ? p->total - rng_below(&p->r, 2 * page + 1) : rng_below(&p->r, page + 1);
        break;
    default: /* misaligned near a live block */
        off = (p->nlive ? p->live[rng_below(&p->r, p->nlive)].off : p->lo) + 1 + rng_below(&p->r, page);
        break;
    }
    *pa = at(p, 0, off);
    *pb = at(p, 1, off);
}

static void op_bad(struct pair *p)
{
    void *pa, *pb, *qa, *qb;
    size_t c0 = p->s[0].hl.calls, c1 = p->s[1].hl.calls, size;
    int ra, rb;
    bad_pointer(p, &pa, &pb);
    if (pb == NULL || find_live(p, off_of(p, 1, pb)) != (size_t)-1) {
        p->what = "mem_size of a live block";
        same_size(p, analloc_mem_size(A(p), pa), analloc_mem_size(B(p), pb), p->what);
        return;
    }
    p->n_bad++;
    switch (rng_below(&p->r, 3)) {
    case 0:
        p->what = "bad free";
        ra = analloc_free(A(p), pa);
        rb = analloc_free(B(p), pb);
        same_int(p, ra, rb, p->what);
        if (rb == ANALLOC_OK)
            FAILP(p, "free of a pointer that is not a live block start (chunk %+lld) succeeded",
                  (long long)off_of(p, 1, pb));
        if (p->s[1].hl.calls != c1 + 1)
            FAILP(p, "bad free: the error hook was called %zu times", p->s[1].hl.calls - c1);
        break;
    case 1:
        p->what = "bad realloc";
        size = gen_size(p);
        qa = analloc_realloc(A(p), pa, size);
        qb = analloc_realloc(B(p), pb, size);
        same_ptr(p, qa, qb, p->what);
        if (qb != NULL)
            FAILP(p, "realloc of a pointer that is not a live block start returned %p", qb);
        if (p->s[1].hl.calls != c1 + 1)
            FAILP(p, "bad realloc: the error hook was called %zu times", p->s[1].hl.calls - c1);
        break;
    default:
        p->what = "bad mem_size";
        same_size(p, analloc_mem_size(A(p), pa), analloc_mem_size(B(p), pb), p->what);
        if (p->s[1].hl.calls != c1)
            FAILP(p, "mem_size called the error hook");
        break;
    }
    compare_hooks(p, c0, c1, pa, pb);
    verify_untouched(p, 0, 0);
}

struct lines {
    size_t n;
    char *v[MAX_DUMP_LINES];
};

static void lines_out(void *ctx, const char *line)
{
    struct lines *L = ctx;
    if (L->n < MAX_DUMP_LINES) {
        L->v[L->n] = malloc(strlen(line) + 1);
        assert_non_null(L->v[L->n]);
        strcpy(L->v[L->n], line);
    }
    L->n++;
}

static void lines_free(struct lines *L)
{
    size_t i;
    for (i = 0; i < L->n && i < MAX_DUMP_LINES; i++)
        free(L->v[i]);
    L->n = 0;
}

/* The first line names the start address: compare it without that. */
static void same_summary(struct pair *p, const char *x, const char *y)
{
    const char *ax = strstr(x, " at "), *ay = strstr(y, " at ");
    const char *dx = strstr(x, ", depth"), *dy = strstr(y, ", depth");
    if (!ax || !ay || !dx || !dy || ax - x != ay - y || strncmp(x, y, (size_t)(ax - x)) != 0 ||
        strcmp(dx, dy) != 0)
        FAILP(p, "dump summary \"%s\" vs \"%s\"", x, y);
}

static void op_dump(struct pair *p)
{
    struct lines *L[2];
    size_t width = rng_below(&p->r, 3) * 64, i;
    int s;
    p->what = "dump";
    for (s = 0; s < 2; s++) {
        L[s] = calloc(1, sizeof *L[s]);
        assert_non_null(L[s]);
        analloc_dump(p->s[s].a, lines_out, L[s], width);
    }
    same_size(p, L[0]->n, L[1]->n, "dump line count");
    if (L[1]->n < 2 || L[1]->n > MAX_DUMP_LINES)
        FAILP(p, "dump wrote %zu lines", L[1]->n);
    same_summary(p, L[0]->v[0], L[1]->v[0]);
    for (i = 1; i < L[1]->n; i++)
        if (strcmp(L[0]->v[i], L[1]->v[i]) != 0)
            FAILP(p, "dump line %zu: \"%s\" vs \"%s\"", i, L[0]->v[i], L[1]->v[i]);
    for (s = 0; s < 2; s++) {
        lines_free(L[s]);
        free(L[s]);
    }
    verify_untouched(p, 0, 0);
    p->n_dump++;
}

static void op_stats(struct pair *p)
{
    int ra, rb;
    p->what = "check and statistics";
    ra = analloc_check(A(p));
    rb = analloc_check(B(p));
    same_int(p, ra, rb, "analloc_check");
    if (rb != ANALLOC_OK)
        FAILP(p, "analloc_check = %d (%s)", rb, analloc_strerror(rb));
    same_size(p, analloc_free_bytes(A(p)), analloc_free_bytes(B(p)), "analloc_free_bytes");
    same_size(p, analloc_largest_free(A(p)), analloc_largest_free(B(p)), "analloc_largest_free");
    same_size(p, analloc_meta_bytes(A(p)), analloc_meta_bytes(B(p)), "analloc_meta_bytes");
    verify_untouched(p, 0, 0);
    p->n_check++;
}

/* Free a run of live blocks, so that large blocks come back now and then. */
static void op_drain(struct pair *p)
{
    size_t n = 1 + rng_below(&p->r, p->nlive);
    while (n-- > 0 && p->nlive > 0) {
        op_free(p);
        after_op(p);
        p->op++;
    }
}

/* ---- one configuration --------------------------------------------------------- */

static size_t pow2_at_least(size_t n)
{
    size_t a = 4096;
    while (a < n)
        a <<= 1;
    return a;
}

static void side_setup(struct pair *p, int i)
{
    const struct cfg *c = p->c;
    struct side *s = &p->s[i];
    void *mem = NULL;
    int rc;
    assert_int_equal(posix_memalign(&mem, p->align, p->buflen), 0);
    s->buf = mem;
    s->chunk = s->buf + p->align + c->off; /* p->align >= the margin below it */
    if (i == 0)
        random_bytes(&p->bytes, s->buf, p->buflen); /* garbage everywhere, before setup */
    else
        memset(s->buf, 0, p->buflen);
    s->a = &s->local;
    if (c->mode == MODE_CHUNK) {
        if (c->struct_in_prefix) {
            uintptr_t sa = (addr(s->chunk) + 15) & ~(uintptr_t)15;
            assert_true(sa + sizeof(struct analloc) <= addr(s->chunk) + c->used);
            s->a = ptr_at(sa);
        }
        rc = analloc_with_chunk(s->a, s->chunk, p->total, c->used, c->page);
    } else {
        s->meta_size = analloc_meta_size(p->total, c->page);
        assert_true(s->meta_size > 0);
        s->metabuf = malloc(s->meta_size + 16 + c->meta_off);
        assert_non_null(s->metabuf);
        assert_int_equal(addr(s->metabuf) % 16, 0);
        s->meta = s->metabuf + c->meta_off;
        if (i == 0)
            random_bytes(&p->bytes, s->metabuf, s->meta_size + 16 + c->meta_off);
        else
            memset(s->metabuf, 0, s->meta_size + 16 + c->meta_off);
        rc = analloc_init(s->a, s->chunk, p->total, c->page, s->meta, s->meta_size);
    }
    if (rc != ANALLOC_OK)
        FAILP(p, "setup of side %d = %d (%s)", i, rc, analloc_strerror(rc));
    analloc_set_error_hook(s->a, hook_record, &s->hl);
}

static void run_config(const struct cfg *c, uint64_t salt)
{
    struct pair *p = calloc(1, sizeof *p);
    size_t ops = g_quick ? OPS_QUICK : OPS_FULL, total0;
    int i;
    assert_non_null(p);
    p->c = c;
    p->r.s = g_seed ^ (salt * 0xD1B54A32D192ED03ull);
    p->bytes.s = ~g_seed ^ (salt * 0x9E3779B97F4A7C15ull);
    total0 = c->pages * c->page;
    if (c->mode == MODE_CHUNK)
        p->total = c->used + analloc_meta_size(c->used + 2 * total0 + 64, c->page) + total0 +
                   (c->page > 2 ? c->page / 2 + 3 : 0);
    else
        p->total = total0 + (c->page > 2 ? c->page / 2 + 5 : 0);
    /* The chunk sits at c->off modulo align, inside a buffer that also
     * holds the margins bad_pointer reaches past either end of it (4 pages
     * and 64 bytes): without them a bad pointer could land in whatever
     * malloc put next to one side's chunk (its metadata buffer, say), and
     * the two sides would rightly disagree. */
    p->margin = 4 * c->page + 128;
    p->align = pow2_at_least(c->off + p->total + 64 + p->margin);
    p->buflen = p->align + c->off + p->total + 64 + p->margin;
    if (c->mode == MODE_CHUNK)
        snprintf(p->desc, sizeof p->desc,
                 "with_chunk page %zu, chunk at %zu mod %zu, total %zu, used %zu%s", c->page,
                 c->off, p->align, p->total, c->used,
                 c->struct_in_prefix ? " (struct in the prefix)" : "");
    else
        snprintf(p->desc, sizeof p->desc,
                 "init page %zu, base at %zu mod %zu, total %zu, metadata at %zu mod 16", c->page,
                 c->off, p->align, p->total, c->meta_off);
    p->what = "setup";
    for (i = 0; i < 2; i++)
        side_setup(p, i);

    /* The same layout relative to the chunk. */
    same_size(p, A(p)->page, B(p)->page, "a->page");
    same_size(p, A(p)->depth, B(p)->depth, "a->depth");
    same_size(p, A(p)->managed, B(p)->managed, "a->managed");
    same_size(p, off_of(p, 0, A(p)->start), off_of(p, 1, B(p)->start), "a->start (offset)");
    compare_state(p);
    if (c->mode == MODE_CHUNK) {
        p->lo = off_of(p, 0, A(p)->start);
        p->hi = p->total;
    } else {
        p->lo = 0;
        p->hi = p->total;
    }
    p->cap = A(p)->managed / A(p)->page + 1;
    p->live = calloc(p->cap, sizeof *p->live);
    p->shadow = malloc(p->hi - p->lo);
    p->tmp = malloc(A(p)->managed);
    assert_non_null(p->live);
    assert_non_null(p->shadow);
    assert_non_null(p->tmp);
    scribble(p);
    assert_int_equal(analloc_check(A(p)), ANALLOC_OK);

    for (p->op = 0; p->op < ops; p->op++) {
        size_t w = rng_below(&p->r, 100), hooks = p->s[1].hl.calls;
        if (w < 30 || p->nlive == 0)
            op_alloc(p, 0);
        else if (w < 50)
            op_free(p);
        else if (w < 66)
            op_realloc(p);
        else if (w < 74)
            op_mem_size(p);
        else if (w < 88) {
            op_bad(p);
            hooks = p->s[1].hl.calls;
        }
        else if (w < 94)
            op_stats(p);
        else if (w < 96)
            op_dump(p);
        else {
            op_drain(p);
            continue;
        }
        if (p->s[1].hl.calls != hooks)
            FAILP(p, "the error hook was called by a valid call");
        after_op(p);
    }
    p->what = "free everything";
    while (p->nlive > 0) {
        op_free(p);
        after_op(p);
    }
    same_size(p, analloc_free_bytes(A(p)), A(p)->managed, "free bytes at the end");
    printf("   %s: %zu ops, %zu scribbles of %zu bytes; %zu allocs (+%zu NULL), %zu frees, "
           "reallocs %zu in place / %zu moved / %zu failed, %zu bad pointers, %zu checks, %zu "
           "dumps\n",
           p->desc, p->op, p->n_scribbles, p->hi - p->lo, p->n_alloc, p->n_alloc_null, p->n_free,
           p->n_re_in_place, p->n_re_move, p->n_re_fail, p->n_bad, p->n_check, p->n_dump);
    fflush(stdout);
    for (i = 0; i < 2; i++) {
        free(p->s[i].buf);
        free(p->s[i].metabuf);
    }
    free(p->live);
    free(p->shadow);
    free(p->tmp);
    free(p);
}

static void announce(const char *test)
{
    printf("[ %s ] seed %llu (replay: ANALLOC_SEED=%llu)%s\n", test, (unsigned long long)g_seed,
           (unsigned long long)g_seed, g_quick ? ", quick" : "");
    fflush(stdout);
}

/* ---- test cases ---------------------------------------------------------------- */

static void test_scribble_with_chunk(void **state)
{
    static const struct cfg cfgs[] = {
        {MODE_CHUNK, 1, 3, 3000, 0, 0, 0},
        {MODE_CHUNK, 1, 5, 2000, sizeof(struct analloc) + 40, 1, 0},
        {MODE_CHUNK, 16, 7, 600, 17, 0, 0},
        {MODE_CHUNK, 16, 9, 900, sizeof(struct analloc) + 16, 1, 0},
        {MODE_CHUNK, 16, 0, 512, 0, 0, 0},
        {MODE_CHUNK, 4096, 1, 40, 0, 0, 0},
        {MODE_CHUNK, 4096, 4095, 24, 5000, 1, 0},
    };
    size_t i;
    (void)state;
    announce("scribble with_chunk");
    for (i = 0; i < sizeof cfgs / sizeof cfgs[0]; i++)
        run_config(&cfgs[i], 100 + i);
}

static void test_scribble_init(void **state)
{
    static const struct cfg cfgs[] = {
        {MODE_INIT, 1, 1, 2500, 0, 0, 3},
        {MODE_INIT, 1, 0, 1024, 0, 0, 0},
        {MODE_INIT, 16, 15, 700, 0, 0, 5},
        {MODE_INIT, 16, 0, 512, 0, 0, 1},
        {MODE_INIT, 4096, 100, 48, 0, 0, 1},
        {MODE_INIT, 4096, 0, 33, 0, 0, 7},
        {MODE_INIT, 4096, 4093, 17, 0, 0, 6},
    };
    size_t i;
    (void)state;
    announce("scribble init");
    for (i = 0; i < sizeof cfgs / sizeof cfgs[0]; i++)
        run_config(&cfgs[i], 200 + i);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scribble_with_chunk),
        cmocka_unit_test(test_scribble_init),
    };
    g_seed = seed_from_env();
    g_quick = quick_from_env();
    printf("test_scribble: seed %llu (replay with ANALLOC_SEED=%llu)%s\n",
           (unsigned long long)g_seed, (unsigned long long)g_seed, g_quick ? ", quick" : "");
    fflush(stdout);
    return cmocka_run_group_tests_name("analloc scribble", tests, NULL, NULL);
}
