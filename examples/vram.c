/*
 * vram.c - a GPU driver's video memory: 16 GiB managed by offset, buffer
 * objects of odd sizes in exact runs, a CPU-visible window, eviction when
 * the memory is full.
 *
 * What it shows:
 *  - analloc_space_init over the offsets [0, 16 GiB): numbers, not
 *    pointers.  The library never touches VRAM (the CPU reaches at most a
 *    window of it, through a PCI BAR); the metadata is a static buffer of
 *    CPU memory, and offset 0 is an ordinary address (ANALLOC_NO_ADDR says
 *    "none").  Built -m32 (make vram32), the same program manages the same
 *    16 GiB: addresses are uint64_t on every target.
 *  - analloc_space_alloc_exact for buffer objects (BOs) of any number of
 *    pages: a 1920x1080 render target (8,294,400 bytes) holds 2025 pages,
 *    not the 4096 of a power-of-two block, and a 3 MiB DMA buffer 3 MiB, not
 *    4.  The tail of the block is free at once for other BOs.
 *  - placement: CPU-visible BOs (upload, staging and dynamic vertex
 *    buffers, about 16%) must lie in the first 256 MiB, the part of VRAM the
 *    BAR exposes (lo and hi); the others are placed from the top
 *    (ANALLOC_HIGH), as amdgpu places the BOs the CPU does not access, so
 *    that the window stays free for those that need it.
 *  - eviction: a request refused with ANALLOC_ENOMEM evicts the least
 *    recently used BO (for a visible request, the least recently used in the
 *    window: no other can help), then, oldest first and retrying after each,
 *    the other BOs in the same aligned block of the size the request needs,
 *    so that each eviction works towards one free block (victims(), below).
 *    An evicted BO goes back into VRAM the next time it is used.  A request
 *    still refused once that block is empty, or with nothing left to evict,
 *    is an error: an empty VRAM (or window) holds any request of the mix.
 *  - the same seeded sequence of the application's requests run twice, with
 *    exact runs and with power-of-two blocks (analloc_space_alloc_range, the
 *    placed analloc_space_alloc): bytes held over bytes requested, evictions.
 *    At the default seed: 0.04% held over requested against 29%, and a
 *    fifth as many evictions for the requests below 1 GiB outside the
 *    window (2,425 against 12,638).  Requests of 1 to 3 GiB evict about as
 *    much either way: a run is carved from one free block of the power-of-
 *    two size (2 or 4 GiB), so it needs that block free first, as a power-
 *    of-two block does; only its tail comes back at once.
 *
 * Checked as it runs (any failure prints what and exits 1): every BO lies in
 * its window, at the alignment it asked; no two BOs overlap (the records,
 * sorted by offset); analloc_space_walk's used blocks are exactly the BOs'
 * blocks (a run is the blocks of its page count's binary digits, largest
 * first); analloc_space_size at a BO's start gives its first block; the
 * used bytes of analloc_stats equal the BOs' held bytes after every step; a
 * refused request changed no figure; analloc_check passes every few
 * thousand steps and at the end.  At the end every BO is freed (by
 * analloc_space_free_exact or block by block with analloc_space_free) and
 * the 16 GiB must be one free block again.
 *
 * usage: vram [--control-overlap] [--steps N] [SEED]
 * The seed (default 1) is printed; the same seed gives the same figures on
 * every target (the time aside).  ANALLOC_QUICK=1 (the sanitizer, valgrind
 * and coverage runs) runs a tenth of the steps.  --control-overlap is the
 * negative control: it records one BO at another's offset, as a driver bug
 * would, and the overlap check must catch it (exit status 1); make vram and
 * make vram32 run it and fail if it passes.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analloc.h"

#define PAGE 4096u
#define KIB ((uint64_t)1 << 10)
#define MIB ((uint64_t)1 << 20)
#define GIB ((uint64_t)1 << 30)
#define VRAM_SIZE (16u * GIB)
#define VRAM_PAGES ((size_t)(VRAM_SIZE / PAGE)) /* 2^22: fits a 32-bit size_t */
#define VISIBLE_END (256u * MIB)                /* the CPU-visible window: [0, 256 MiB) */

#define STEPS 60000u    /* one BO created per step */
#define LIFE_MAX 16384u /* the longest a BO lives, in steps (the ring below) */
#define USES 4u         /* BOs the application uses per step */
#define RECENT 4096u    /* ... among the last RECENT created, recent ones more often */
#define CHECK_EVERY 5000u

/* The metadata: ANALLOC_META_SIZE_MAX depends on the page count only
 * (total / page), so it is given the count with a page of 1: 16 GiB does
 * not fit in a 32-bit size_t, its 2^22 pages do.  main() checks the bound
 * against analloc_space_meta_size. */
static uint64_t meta[ANALLOC_META_SIZE_MAX(VRAM_PAGES, 1) / sizeof(uint64_t) + 1u];
static struct analloc vram;

/* ---- The workload ------------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rnd(void) /* splitmix64: the same sequence on every target */
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t below(uint64_t n) { return rnd() % n; }

enum kind { VERTEX, TEXTURE, TARGET, UPLOAD, DMA, COMPUTE, HUGE, KINDS };
static const char *const kind_name[KINDS] = {"vertex/index", "texture", "render target", "upload",
                                             "DMA",          "compute", "huge"};

#define NONE UINT32_MAX

struct bo {
    uint64_t size;       /* bytes asked for */
    uint64_t align;      /* 0: the allocator's natural alignment */
    uint64_t addr;       /* offset in VRAM while resident */
    uint64_t held;       /* bytes the allocator holds for it while resident */
    uint32_t prev, next; /* the LRU list, oldest first, while resident */
    uint32_t dying;      /* the next BO destroyed at the same step */
    unsigned char kind, visible;
    unsigned char state; /* below */
};
enum { DEAD, RESIDENT, EVICTED };

/* A texture of w x h texels with its full mip chain, in 4x4 blocks of
 * `block` bytes (64: RGBA8; 16: BC7; 8: BC1), rows aligned to 256 bytes. */
static uint64_t texture_bytes(uint64_t w, uint64_t h, uint64_t block)
{
    uint64_t bytes = 0;
    for (;;) {
        uint64_t pitch = ((w + 3u) / 4u * block + 255u) & ~(uint64_t)255u;
        bytes += pitch * ((h + 3u) / 4u);
        if (w == 1 && h == 1)
            return bytes;
        w = w > 1 ? w / 2u : 1u;
        h = h > 1 ? h / 2u : 1u;
    }
}

/* Draw a new BO: its kind, size, alignment, visibility and lifetime.  The
 * draws never depend on the allocator, so both runs see the same BOs. */
static uint32_t new_bo(struct bo *b)
{
    static const uint64_t targets[] = {
        1920u * 1080u * 4u,      /* 1080p RGBA8: 8,294,400 bytes */
        1920u * 1080u * 8u,      /* 1080p FP16 (HDR) */
        2560u * 1440u * 4u,      /* 1440p */
        3840u * 2160u * 4u,      /* 4K */
        1920u * 1080u * 4u * 4u, /* 1080p, 4x MSAA */
        1920u * 1080u * 4u,      /* a depth buffer, D24S8 */
    };
    static const uint64_t blocks[] = {64, 16, 8};
    uint64_t r = below(1000), life;
    memset(b, 0, sizeof *b);
    b->kind = r < 350   ? VERTEX
              : r < 650 ? TEXTURE
              : r < 750 ? TARGET
              : r < 830 ? UPLOAD
              : r < 880 ? DMA
              : r < 999 ? COMPUTE
                        : HUGE;
    switch (b->kind) {
    case VERTEX: { /* 4 KiB to 8 MiB, spread evenly over the powers of two */
        uint64_t e = 12u + below(11);
        b->size = ((uint64_t)1 << e) + below((uint64_t)1 << e);
        b->visible = below(10) == 0; /* dynamic: written by the CPU each frame */
        life = 200u + below(8000);
        break;
    }
    case TEXTURE: {
        uint64_t w = (uint64_t)1 << (6u + below(6)), h = (uint64_t)1 << (6u + below(6));
        b->size = texture_bytes(w, h, blocks[below(3)]);
        b->align = 64u * KIB; /* tiled */
        life = 2000u + below(LIFE_MAX - 2001u);
        break;
    }
    case TARGET:
        b->size = targets[below(sizeof targets / sizeof targets[0])];
        b->align = 64u * KIB;
        life = 1000u + below(3000);
        break;
    case UPLOAD: /* constant and upload buffers: 4 KiB to 256 KiB */
        b->size = 4u * KIB + below(252u * KIB);
        b->visible = 1;
        life = 20u + below(2000);
        break;
    case DMA: /* staging rings */
        b->size = 3u * MIB;
        b->visible = 1;
        life = 20u + below(1000);
        break;
    case COMPUTE: { /* storage buffers: 64 KiB to 64 MiB */
        uint64_t e = 16u + below(10);
        b->size = ((uint64_t)1 << e) + below((uint64_t)1 << e);
        b->align = 64u * KIB;
        life = 100u + below(4000);
        break;
    }
    default: /* HUGE: a model's weights, a simulation grid: 1 to 3 GiB */
        b->size = GIB + below(2u * GIB);
        b->align = 2u * MIB; /* mapped with the GPU's large pages */
        life = 500u + below(3000);
        break;
    }
    return (uint32_t)life + 1u; /* in [1, LIFE_MAX) */
}

/* ---- One run ------------------------------------------------------------ */

struct figures {
    uint64_t created, visible, huge;
    uint64_t requested, held; /* summed over every allocation */
    uint64_t allocations, retried, evicted_bytes, restores;
    uint64_t evictions, evictions_for[3]; /* ... for visible, huge, other requests */
    uint64_t peak_held, above_4g, checks; /* above_4g: allocations placed at 4 GiB or higher */
    double seconds;
};

static struct bo *bos;
static uint32_t dying[LIFE_MAX]; /* per step modulo LIFE_MAX: the BOs destroyed then */
static uint32_t lru_head, lru_tail;
static uint64_t held_now;
static int exact;   /* this run: exact runs (1) or power-of-two blocks (0) */
static int control; /* --control-overlap */
static uint64_t seed;
static unsigned step;
static struct figures *fig;

/* Report an inconsistency about BO `id` (NONE: the allocator) and stop. */
static void fail(uint32_t id, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(uint32_t id, const char *fmt, ...)
{
    va_list ap;
    printf("vram: FAILED (%s, seed %" PRIu64 ", step %u",
           exact ? "exact runs" : "power-of-two blocks", seed, step);
    if (id != NONE)
        printf(", BO %" PRIu32 ", %s", id, kind_name[bos[id].kind]);
    printf("): ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    exit(1);
}

static struct analloc_stats stats(void)
{
    struct analloc_stats st = {.size = sizeof st};
    if (analloc_stats(&vram, &st) != 0)
        fail(NONE, "analloc_stats refused");
    return st;
}

static void lru_unlink(uint32_t id)
{
    struct bo *b = &bos[id];
    *(b->prev == NONE ? &lru_head : &bos[b->prev].next) = b->next;
    *(b->next == NONE ? &lru_tail : &bos[b->next].prev) = b->prev;
}

static void lru_append(uint32_t id) /* the most recently used */
{
    bos[id].prev = lru_tail;
    bos[id].next = NONE;
    *(lru_tail == NONE ? &lru_head : &bos[lru_tail].next) = id;
    lru_tail = id;
}

/* Bytes of a run's first block (the largest binary digit of its page
 * count) and of a power-of-two block. */
static uint64_t first_block(uint64_t bytes)
{
    uint64_t pages = (bytes + PAGE - 1u) / PAGE, b = 1;
    while (b * 2u <= pages)
        b *= 2u;
    return b * PAGE;
}

static uint64_t pow2_block(uint64_t bytes)
{
    uint64_t b = PAGE;
    while (b < bytes)
        b *= 2u;
    return b;
}

/* Give the BO's memory back: a run by analloc_space_free_exact, or block by
 * block (even and odd BOs: both ways are used), or the block. */
static void bo_free(uint32_t id)
{
    struct bo *b = &bos[id];
    int err = 0;
    if (!exact) {
        err = analloc_space_free(&vram, b->addr);
    } else if (id % 2u == 0) {
        err = analloc_space_free_exact(&vram, b->addr, b->size);
    } else {
        for (uint64_t at = b->addr, left = b->held; left != 0 && err == 0;) {
            uint64_t block = analloc_space_size(&vram, at);
            if (block != first_block(left))
                fail(id, "block at %#" PRIx64 " of %" PRIu64 " bytes, not the run's next", at,
                     block);
            err = analloc_space_free(&vram, at);
            at += block;
            left -= block;
        }
    }
    if (err != 0)
        fail(id, "freeing it at %#" PRIx64 ": %s", b->addr, analloc_strerror(err));
    lru_unlink(id);
    held_now -= b->held;
}

static void evict(uint32_t id, const struct bo *for_bo)
{
    bo_free(id);
    bos[id].state = EVICTED;
    fig->evictions++;
    fig->evictions_for[for_bo->visible ? 0 : for_bo->kind == HUGE ? 1 : 2]++;
    fig->evicted_bytes += bos[id].size;
}

/*
 * The BOs to evict for a request that needs a free block of `block` bytes
 * (a run needs one as large as a power-of-two block would be: it is carved
 * from one): the least recently used BO that can make room (any, or, for a
 * visible request, one in the window), then the others that hold part of
 * the same aligned `block` bytes, oldest first.  Once they are all gone,
 * that block is free and the request must fit.  (Plain LRU order evicts all
 * over VRAM before a large block comes free: a 3 GiB request, which needs a
 * free 4 GiB block, emptied most of the 16 GiB that way.)  Returns how many
 * it put in `list`, 0 if none, and the block's offset in *at.
 */
static uint32_t *pending;

static size_t victims(int visible, uint64_t block, uint32_t *list, uint64_t *at)
{
    uint32_t id = lru_head;
    while (visible && id != NONE && bos[id].addr >= VISIBLE_END)
        id = bos[id].next;
    if (id == NONE)
        return 0;
    uint64_t lo = bos[id].addr & ~(block - 1u), hi = lo + block;
    *at = lo;
    size_t n = 0;
    for (; id != NONE; id = bos[id].next)
        if (bos[id].addr < hi && bos[id].addr + bos[id].held > lo)
            list[n++] = id;
    return n;
}

/* Put the BO in VRAM, evicting as long as the allocator says ENOMEM. */
static void place(uint32_t id)
{
    struct bo *b = &bos[id];
    uint64_t hi = b->visible ? VISIBLE_END : ANALLOC_SPACE_END;
    unsigned flags = b->visible ? 0 : ANALLOC_HIGH;
    uint64_t addr = ANALLOC_NO_ADDR;
    size_t next = 0, listed = 0; /* pending[next, listed): the victims left */
    uint64_t block = pow2_block(b->size) > b->align ? pow2_block(b->size) : b->align, at = 0;
    for (int retried = 0;; retried = 1) {
        struct analloc_stats before = stats();
        int err;
        if (exact) {
            err = analloc_space_alloc_exact(&vram, b->size, b->align, 0, hi, flags, &addr);
        } else {
            addr = analloc_space_alloc_range(&vram, b->size, b->align, 0, hi, flags);
            err = addr == ANALLOC_NO_ADDR ? ANALLOC_ENOMEM : 0;
        }
        if (err == 0)
            break;
        if (err != ANALLOC_ENOMEM)
            fail(id, "%" PRIu64 " bytes refused: %s", b->size, analloc_strerror(err));
        struct analloc_stats after = stats();
        if (after.space_free != before.space_free || after.space_used != before.space_used)
            fail(id, "a refused request changed the free bytes from %" PRIu64 " to %" PRIu64,
                 before.space_free, after.space_free);
        fig->retried += !retried;
        if (next == listed) {
            if (listed != 0)
                fail(id, "%" PRIu64 " bytes refused, though [%#" PRIx64 ", %#" PRIx64 ") is free",
                     b->size, at, at + block);
            listed = victims(b->visible, block, pending, &at);
            if (listed == 0)
                fail(id, "%" PRIu64 " bytes%s fit nowhere, with nothing left to evict", b->size,
                     b->visible ? " (CPU-visible)" : "");
        }
        evict(pending[next++], b);
    }
    b->addr = addr;
    b->held = exact ? (b->size + PAGE - 1u) / PAGE * PAGE : pow2_block(b->size);
    b->state = RESIDENT;
    lru_append(id);
    held_now += b->held;
    fig->allocations++;
    fig->requested += b->size;
    fig->held += b->held;
    fig->above_4g += addr >= 4u * GIB;
    if (held_now > fig->peak_held)
        fig->peak_held = held_now;
    /* Its window, its alignment, its first block. */
    if (addr > VRAM_SIZE - b->held || (b->visible && addr + b->held > VISIBLE_END))
        fail(id, "[%#" PRIx64 ", +%" PRIu64 ") outside its window", addr, b->held);
    if (b->align != 0 && (addr & (b->align - 1u)) != 0)
        fail(id, "at %#" PRIx64 ", not aligned to %" PRIu64, addr, b->align);
    uint64_t first = exact ? first_block(b->size) : b->held;
    if (analloc_space_size(&vram, addr) != first)
        fail(id, "analloc_space_size gives %" PRIu64 ", its first block is %" PRIu64,
             analloc_space_size(&vram, addr), first);
}

/* ---- The full check ----------------------------------------------------- */

static uint32_t *sorted;

static int by_addr(const void *x, const void *y)
{
    const struct bo *p = &bos[*(const uint32_t *)x], *q = &bos[*(const uint32_t *)y];
    return p->addr < q->addr ? -1 : p->addr > q->addr;
}

/* Walks the used blocks along the sorted BOs: each block must be the BO's
 * next one. */
struct match {
    size_t i, n;
    uint64_t off; /* bytes of BO sorted[i] seen */
    uint32_t bad;
};

static int match_block(void *ctx, uint64_t addr, uint64_t bytes, unsigned kind)
{
    struct match *m = ctx;
    (void)kind;
    if (m->i == m->n)
        return 1; /* a used block past the last BO */
    const struct bo *b = &bos[sorted[m->i]];
    uint64_t want = exact ? first_block(b->held - m->off) : b->held;
    if (addr != b->addr + m->off || bytes != want) {
        m->bad = sorted[m->i];
        return 1;
    }
    m->off += bytes;
    if (m->off == b->held) {
        m->i++;
        m->off = 0;
    }
    return 0;
}

static void full_check(void)
{
    size_t n = 0;
    for (uint32_t id = lru_head; id != NONE; id = bos[id].next)
        sorted[n++] = id;
    if (control && n >= 2) {
        /* A driver's bug: the oldest BO recorded at the newest one's offset. */
        printf("control: BO %" PRIu32 " (at %#" PRIx64 ") recorded at BO %" PRIu32
               "'s offset, %#" PRIx64 "\n",
               lru_head, bos[lru_head].addr, lru_tail, bos[lru_tail].addr);
        bos[lru_head].addr = bos[lru_tail].addr;
        control = 0;
    }
    qsort(sorted, n, sizeof sorted[0], by_addr);
    for (size_t i = 1; i < n; i++) {
        const struct bo *p = &bos[sorted[i - 1]], *q = &bos[sorted[i]];
        if (p->addr + p->held > q->addr)
            fail(sorted[i - 1],
                 "overlap: it holds [%#" PRIx64 ", %#" PRIx64 "), BO %" PRIu32
                 " starts at %#" PRIx64,
                 p->addr, p->addr + p->held, sorted[i], q->addr);
    }
    struct match m = {0, n, 0, NONE};
    if (analloc_space_walk(&vram, ANALLOC_BLOCK_USED, match_block, &m) != 0 || m.i != n)
        fail(m.bad, "the used blocks are not the BOs' (%" PRIu64 " of %" PRIu64 " matched)",
             (uint64_t)m.i, (uint64_t)n);
    if (stats().space_used != held_now)
        fail(NONE, "stats: %" PRIu64 " bytes used, the BOs hold %" PRIu64, stats().space_used,
             held_now);
    if (analloc_check(&vram) != 0)
        fail(NONE, "analloc_check refused the state");
    fig->checks++;
}

static double now(void)
{
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void run(unsigned steps, struct figures *f)
{
    double t0 = now();
    memset(f, 0, sizeof *f);
    fig = f;
    int err = analloc_space_init(&vram, 0, VRAM_SIZE, PAGE, meta, sizeof meta);
    if (err != 0)
        fail(NONE, "analloc_space_init: %s", analloc_strerror(err));
    rng_state = seed;
    lru_head = lru_tail = NONE;
    held_now = 0;
    for (size_t i = 0; i < LIFE_MAX; i++)
        dying[i] = NONE;
    for (step = 0; step < steps; step++) {
        /* The application destroys the BOs whose time has come, */
        for (uint32_t id = dying[step % LIFE_MAX]; id != NONE; id = bos[id].dying) {
            if (bos[id].state == RESIDENT)
                bo_free(id);
            bos[id].state = DEAD;
        }
        dying[step % LIFE_MAX] = NONE;
        /* creates one, */
        uint32_t id = step, life = new_bo(&bos[id]);
        bos[id].dying = dying[(step + life) % LIFE_MAX];
        dying[(step + life) % LIFE_MAX] = id;
        f->created++;
        f->visible += bos[id].visible;
        f->huge += bos[id].kind == HUGE;
        place(id);
        /* and uses a few recent ones (an evicted one comes back). */
        for (unsigned u = 0; u < USES; u++) {
            uint64_t back = below(RECENT);
            back = back * back / RECENT; /* the recent more often */
            if (back >= step)
                continue;
            uint32_t used = step - 1u - (uint32_t)back;
            if (bos[used].state == RESIDENT) {
                lru_unlink(used);
                lru_append(used);
            } else if (bos[used].state == EVICTED) {
                f->restores++;
                place(used);
            }
        }
        if (stats().space_used != held_now)
            fail(NONE, "stats: %" PRIu64 " bytes used, the BOs hold %" PRIu64, stats().space_used,
                 held_now);
        if (step % CHECK_EVERY == CHECK_EVERY - 1u)
            full_check();
    }
    full_check();
    /* The end: every BO freed, and the 16 GiB one block again. */
    while (lru_head != NONE) {
        uint32_t id = lru_head;
        bo_free(id);
        bos[id].state = DEAD;
    }
    analloc_drain(&vram); /* cached blocks are free but unmerged */
    struct analloc_stats st = stats();
    if (st.space_free != VRAM_SIZE || st.space_used != 0 || st.space_largest_free != VRAM_SIZE)
        fail(NONE, "all freed: %" PRIu64 " bytes free, the largest block %" PRIu64, st.space_free,
             st.space_largest_free);
    if (analloc_check(&vram) != 0)
        fail(NONE, "analloc_check refused the state at the end");
    f->checks++;
    f->seconds = now() - t0;
}

static double pct(uint64_t part, uint64_t whole)
{
    return whole == 0 ? 0.0 : 100.0 * (double)part / (double)whole;
}

static double gib(uint64_t bytes) { return (double)bytes / (double)GIB; }

int main(int argc, char **argv)
{
    unsigned steps = STEPS;
    const char *quick = getenv("ANALLOC_QUICK");
    if (quick != NULL && strcmp(quick, "0") != 0)
        steps /= 10u;
    seed = 1;
    for (int i = 1; i < argc; i++) {
        char *end;
        if (strcmp(argv[i], "--control-overlap") == 0) {
            control = 1;
        } else if (strcmp(argv[i], "--steps") == 0 && i + 1 < argc) {
            steps = (unsigned)strtoul(argv[++i], &end, 0);
            if (*end != '\0' || steps == 0 || steps > 10000000u)
                return printf("vram: bad step count %s\n", argv[i]), 2;
        } else {
            seed = strtoull(argv[i], &end, 0);
            if (*end != '\0' || argv[i][0] == '-')
                return printf("usage: vram [--control-overlap] [--steps N] [SEED]\n"), 2;
        }
    }
    size_t need = analloc_space_meta_size(VRAM_SIZE, PAGE);
    if (need == 0 || need > sizeof meta) {
        printf("vram: the metadata needs %zu bytes, the buffer has %zu\n", need, sizeof meta);
        return 1;
    }
    bos = malloc(steps * sizeof *bos);
    sorted = malloc(steps * sizeof *sorted);
    pending = malloc(steps * sizeof *pending);
    if (bos == NULL || sorted == NULL || pending == NULL)
        return printf("vram: out of memory\n"), 1;

    struct figures f[2];
    exact = 1;
    run(steps, &f[0]);
    printf("vram: %u-bit build, VRAM [0, %" PRIu64 " GiB) by offset, pages of %u KiB, CPU-visible "
           "window [0, %" PRIu64 " MiB), metadata %zu KiB (buffer %zu KiB)\n",
           (unsigned)(sizeof(void *) * 8u), VRAM_SIZE / GIB, PAGE / 1024u, VISIBLE_END / MIB,
           analloc_meta_bytes(&vram) / 1024u, sizeof meta / 1024u);
    exact = 0;
    run(steps, &f[1]);

    printf("seed %" PRIu64 ": %u steps, %" PRIu64 " BOs created (%" PRIu64
           " CPU-visible, %.1f%%; %" PRIu64 " of 1-3 GiB)\n",
           seed, steps, f[0].created, f[0].visible, pct(f[0].visible, f[0].created), f[0].huge);
    printf("%-40s %16s %16s\n", "", "exact runs", "power-of-two");
    printf("%-40s %16" PRIu64 " %16" PRIu64 "\n", "allocations (creations and restores)",
           f[0].allocations, f[1].allocations);
    printf("%-40s %14.1f G %14.1f G\n", "bytes requested", gib(f[0].requested),
           gib(f[1].requested));
    printf("%-40s %14.1f G %14.1f G\n", "bytes held", gib(f[0].held), gib(f[1].held));
    printf("%-40s %15.2f%% %15.2f%%\n", "waste (held over requested)",
           pct(f[0].held - f[0].requested, f[0].requested),
           pct(f[1].held - f[1].requested, f[1].requested));
    printf("%-40s %14.2f G %14.2f G\n", "peak held", gib(f[0].peak_held), gib(f[1].peak_held));
    printf("%-40s %16" PRIu64 " %16" PRIu64 "\n", "allocations placed at 4 GiB or above",
           f[0].above_4g, f[1].above_4g);
    printf("%-40s %16" PRIu64 " %16" PRIu64 "\n", "requests refused at first (ENOMEM)",
           f[0].retried, f[1].retried);
    printf("%-40s %16" PRIu64 " %16" PRIu64 "\n", "evictions", f[0].evictions, f[1].evictions);
    static const char *const cause[3] = {"  for CPU-visible requests", "  for 1-3 GiB requests",
                                         "  for the others"};
    for (int c = 0; c < 3; c++)
        printf("%-40s %16" PRIu64 " %16" PRIu64 "\n", cause[c], f[0].evictions_for[c],
               f[1].evictions_for[c]);
    printf("%-40s %14.1f G %14.1f G\n", "bytes evicted", gib(f[0].evicted_bytes),
           gib(f[1].evicted_bytes));
    printf("%-40s %16" PRIu64 " %16" PRIu64 "\n", "restores (an evicted BO used again)",
           f[0].restores, f[1].restores);
    printf("%-40s %16d %16d\n", "failures (nothing left to evict)", 0, 0);
    printf("%-40s %16" PRIu64 " %16" PRIu64 "\n", "full checks passed", f[0].checks, f[1].checks);
    printf("%-40s %15.2fs %15.2fs\n", "time", f[0].seconds, f[1].seconds);
    printf("vram: ok (seed %" PRIu64 "): every BO in its window and aligned, none overlapping, the "
           "allocator's blocks the BOs' own, 16 GiB one free block at the end\n",
           seed);
    free(pending);
    free(sorted);
    free(bos);
    return 0;
}
