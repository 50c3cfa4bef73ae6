/*
 * bench.c - the analloc benchmark suite (bench/README.md tells how to read it).
 *
 * usage: bench [--quick] [--out DIR] [--runs N] [--seed N] [--only LIST]
 *              [--cpu N | --no-pin] [--no-dlopen] [--strict]
 *        bench --callgrind ALLOCATOR W1|W2 LOG2_PAGES PAIRS   (for bench/callgrind.sh;
 *        ALLOCATOR: analloc, analloc-nocache or textbook)
 *
 * Workloads W1-W6 (page churn, mixed orders, fill and drain, per-operation
 * latency, fragmentation, scaling with the arena) run on analloc and, on the
 * same operation sequence from the same seed, on the comparators: a floor (a
 * stack of free page numbers), a textbook buddy allocator (textbook_buddy.c),
 * glibc, jemalloc and mimalloc.  It prints a table (also written to
 * DIR/results.txt), DIR/results.csv, DIR/latency.csv and the picture
 * DIR/bench.svg, and closes with the targets as PASS/FAIL lines.  DIR is
 * build/bench unless told.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <gnu/libc-version.h>
#include <math.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "analloc.h"
#include "svg.h"
#include "textbook_buddy.h"

#if defined(__x86_64__)
#include <x86intrin.h>
#define HAVE_TSC 1
#else
#define HAVE_TSC 0
#endif

#if defined(__has_include)
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define HAVE_CALLGRIND 1
#endif
#endif
#ifndef HAVE_CALLGRIND
#define HAVE_CALLGRIND 0
#endif

#if defined(__clang__)
#define COMPILER "clang " __clang_version__
#elif defined(__GNUC__)
#define COMPILER "gcc " __VERSION__
#else
#define COMPILER "unknown compiler"
#endif

#ifndef BENCH_CFLAGS
#define BENCH_CFLAGS "(not recorded: build with -DBENCH_CFLAGS='\"...\"')"
#endif
#ifndef BENCH_LIB_CFLAGS
#define BENCH_LIB_CFLAGS "(not recorded: build with -DBENCH_LIB_CFLAGS='\"...\"')"
#endif

#define PAGE 4096u
#define PAGE_SHIFT 12u
#define MAIN_LOG2 16u          /* the arena of W1-W5: 2^16 pages, 256 MiB */
#define W6_MIN_LOG2 10u
#define W6_MAX_LOG2 24u
#define TB_MAX_LOG2 18u        /* the textbook buddy's W6 arenas stop at 1 GiB */
#define MAX_ORDER_MIXED 6u     /* W2: 1 to 64 pages */
#define MAX_RUNS 15
/* An operation: the slot to free and refill (low bits), the order to
 * allocate (high bits). */
#define ORDER_SHIFT 26u
#define SLOT_MASK ((1u << ORDER_SHIFT) - 1u)
/* analloc's arenas over addresses that are never mapped. */
#define UNTOUCHED_BASE ((uintptr_t)1 << 44)

/* ---- output ---------------------------------------------------------------- */

static FILE *txt_out, *csv_out;

__attribute__((format(printf, 1, 2))) static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    if (txt_out) {
        va_start(ap, fmt);
        vfprintf(txt_out, fmt, ap);
        va_end(ap);
    }
    fflush(stdout);
}

__attribute__((format(printf, 1, 2), noreturn)) static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static void csv_row(const char *workload, const char *alloc, unsigned log2p, const char *metric,
                    double value, const char *unit)
{
    if (csv_out)
        fprintf(csv_out, "%s,%s,%u,%s,%.6g,%s\n", workload, alloc, log2p, metric, value, unit);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        die("out of memory (%zu bytes)", n);
    return p;
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (p == NULL)
        die("out of memory (%zu x %zu bytes)", n, size);
    return p;
}

/* ---- options ---------------------------------------------------------------- */

static struct {
    int quick;
    int runs;
    const char *out;
    uint64_t seed;
    const char *only;
    int cpu; /* -1: last online CPU; -2: no pinning */
    int strict;
    int no_general; /* skip jemalloc and mimalloc (and the re-exec) */
} opt = {0, 0, "build/bench", 0x5eed2024a110cULL, NULL, -1, 0, 0};

static int want(const char *w)
{
    if (opt.only == NULL)
        return 1;
    size_t n = strlen(w);
    for (const char *p = opt.only; (p = strstr(p, w)) != NULL; p += n)
        if ((p == opt.only || p[-1] == ',') && (p[n] == '\0' || p[n] == ','))
            return 1;
    return 0;
}

/* ---- random numbers: splitmix64, fixed seed ------------------------------------ */

static uint64_t rng_state;

static void rng_seed(uint64_t s) { rng_state = s; }

static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* Uniform in [0, n), n < 2^32 (multiply-shift). */
static uint32_t rnd_below(uint64_t n) { return (uint32_t)(((rnd() >> 32) * n) >> 32); }

/* W2's orders: k with probability 2^-(k+1), the rest on the largest. */
static unsigned rnd_order(void)
{
    uint64_t r = ~rnd();
    unsigned k = r ? (unsigned)__builtin_ctzll(r) : MAX_ORDER_MIXED;
    return k < MAX_ORDER_MIXED ? k : MAX_ORDER_MIXED;
}

static void shuffle(uint32_t *a, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = rnd_below(i);
        uint32_t t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

/* ---- clocks ------------------------------------------------------------------- */

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

#if HAVE_TSC
static inline uint64_t tick_start(void)
{
    _mm_lfence();
    uint64_t t = __rdtsc();
    _mm_lfence();
    return t;
}
static inline uint64_t tick_stop(void)
{
    unsigned aux;
    uint64_t t = __rdtscp(&aux);
    _mm_lfence();
    return t;
}
#else
static inline uint64_t tick_start(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
static inline uint64_t tick_stop(void) { return tick_start(); }
#endif

static double ticks_per_ns = 1.0; /* calibrated in main for the TSC */
static uint32_t tick_overhead;    /* median ticks of an empty measurement */

static double median(const double *v, size_t n);

static void calibrate_ticks(void)
{
#if HAVE_TSC
    double r[3];
    for (int i = 0; i < 3; i++) {
        double t0 = now_ns();
        uint64_t c0 = tick_start();
        while (now_ns() - t0 < (opt.quick ? 20e6 : 60e6))
            ;
        uint64_t c1 = tick_stop();
        r[i] = (double)(c1 - c0) / (now_ns() - t0);
    }
    double best = median(r, 3);
    ticks_per_ns = best;
#endif
    enum { N = 200001 };
    static uint32_t s[N];
    for (size_t i = 0; i < N; i++) {
        uint64_t t0 = tick_start();
        uint64_t t1 = tick_stop();
        s[i] = (uint32_t)(t1 - t0);
    }
    /* nth element by counting: the overheads are small numbers */
    uint32_t lo = UINT32_MAX;
    for (size_t i = 0; i < N; i++)
        lo = s[i] < lo ? s[i] : lo;
    static uint32_t hist[4096];
    for (size_t i = 0; i < N; i++)
        if (s[i] - lo < 4096)
            hist[s[i] - lo]++;
    size_t c = 0;
    uint32_t v = 0;
    while (v < 4096 && (c += hist[v]) <= N / 2)
        v++;
    tick_overhead = lo + v;
}

/* ---- sorting and statistics ------------------------------------------------------ */

static void radix_sort(uint32_t *a, uint32_t *tmp, size_t n)
{
    for (unsigned shift = 0; shift < 32; shift += 8) {
        size_t cnt[257] = {0};
        for (size_t i = 0; i < n; i++)
            cnt[((a[i] >> shift) & 255u) + 1]++;
        for (size_t i = 1; i < 257; i++)
            cnt[i] += cnt[i - 1];
        for (size_t i = 0; i < n; i++)
            tmp[cnt[(a[i] >> shift) & 255u]++] = a[i];
        uint32_t *t = a;
        a = tmp;
        tmp = t;
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(const double *v, size_t n)
{
    double s[MAX_RUNS];
    memcpy(s, v, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp_double);
    return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static double vmin(const double *v, size_t n)
{
    double m = v[0];
    for (size_t i = 1; i < n; i++)
        m = v[i] < m ? v[i] : m;
    return m;
}

static double vmax(const double *v, size_t n)
{
    double m = v[0];
    for (size_t i = 1; i < n; i++)
        m = v[i] > m ? v[i] : m;
    return m;
}

/* Nearest-rank percentile of a sorted array. */
static uint32_t pct(const uint32_t *s, size_t n, double p)
{
    size_t i = (size_t)ceil(p * (double)n);
    i = i ? i - 1 : 0;
    return s[i < n ? i : n - 1];
}

/* ---- the general allocators, loaded with dlopen ---------------------------------- */

static void *(*je_mallocx)(size_t, int);
static void (*je_dallocx)(void *, int);
static void *(*mi_malloc_aligned_p)(size_t, size_t);
static void (*mi_free_p)(void *);

/* dlsym returns an object pointer; copying it is the POSIX way to get a
 * function pointer without a cast ISO C does not define. */
static int load_sym(void *h, const char *name, void *fp, size_t fp_size)
{
    void *sym = dlsym(h, name);
    if (sym == NULL || fp_size != sizeof sym)
        return -1;
    memcpy(fp, &sym, sizeof sym);
    return 0;
}

/* ---- allocators ------------------------------------------------------------------- */

enum kind {
    K_ANALLOC, K_FLOOR, K_TEXTBOOK, K_TB4K, K_GLIBC, K_JEMALLOC, K_MIMALLOC, K_CHUNK, K_NOCACHE,
    NKIND
};
static const char *const kind_name[NKIND] = {
    "analloc", "floor",    "textbook",      "textbook-4k",    "glibc",
    "jemalloc", "mimalloc", "analloc-chunk", "analloc-nocache"};
static int available[NKIND];
static char kind_note[NKIND][256];

/* One allocator over one arena. */
struct inst {
    enum kind kind;
    unsigned log2p;
    size_t pages;
    struct analloc a; /* analloc, analloc-chunk */
    void *meta;
    uintptr_t fbase; /* floor */
    uint32_t *stack;
    size_t top;
    struct tb tb; /* textbook */
    uint8_t *tb_order;
};

/* The textbook buddy's memory: one mapping per variant, populated as far as
 * needed and reused by every arena (they all start at its base).  `textbook`
 * asks for transparent huge pages (a kernel's buddy allocator runs on a
 * direct map of huge pages), `textbook-4k` refuses them. */
struct tbmem {
    unsigned char *base;
    size_t pages, touched;
    int huge;
};
static struct tbmem tbm_huge = {NULL, (size_t)1 << TB_MAX_LOG2, 0, 1};
static struct tbmem tbm_4k = {NULL, (size_t)1 << MAIN_LOG2, 0, 0};

static unsigned char *tb_memory(struct tbmem *m, size_t pages)
{
    if (m->base == NULL) {
        size_t len = (size_t)PAGE * m->pages + (2u << 20);
        void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                       -1, 0);
        if (p == MAP_FAILED)
            die("mmap of %zu bytes for the textbook buddy: %s", len, strerror(errno));
        m->base = (unsigned char *)(((uintptr_t)p + (2u << 20) - 1u) & ~(uintptr_t)((2u << 20) - 1u));
#if defined(MADV_HUGEPAGE) && defined(MADV_NOHUGEPAGE)
        (void)madvise(m->base, (size_t)PAGE * m->pages, m->huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
#endif
    }
    if (pages > m->pages)
        die("textbook arena of %zu pages is larger than its mapping", pages);
    for (; m->touched < pages; m->touched++)
        m->base[m->touched * PAGE] = 1; /* fault it in now, not while timing */
    return m->base;
}

/* Transparent huge pages backing [p, p + len), from /proc/self/smaps, KiB;
 * -1 if unknown. */
static long thp_kib(const void *p)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    if (f == NULL)
        return -1;
    char line[512];
    int in = 0;
    long kib = -1;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' ')) {
            in = (uintptr_t)p >= lo && (uintptr_t)p < hi;
            continue;
        }
        if (in && sscanf(line, "AnonHugePages: %ld kB", &kib) == 1)
            break;
    }
    fclose(f);
    return kib;
}

/* analloc-chunk: analloc_with_chunk over real memory, metadata inside. */
static unsigned char *chunk_mem;
#define CHUNK_BYTES ((size_t)PAGE << MAIN_LOG2)

static void inst_setup(struct inst *I, enum kind k, unsigned log2p)
{
    memset(I, 0, sizeof *I);
    I->kind = k;
    I->log2p = log2p;
    I->pages = (size_t)1 << log2p;
    size_t total = (size_t)PAGE << log2p;
    switch (k) {
    case K_ANALLOC:
    case K_NOCACHE: {
        size_t need = analloc_meta_size(total, PAGE);
        I->meta = xmalloc(need);
        int e = analloc_init(&I->a, (void *)UNTOUCHED_BASE, total, PAGE, I->meta, need);
        if (e != 0)
            die("analloc_init(2^%u pages): %s", log2p, analloc_strerror(e));
        if (k == K_NOCACHE && analloc_set_cache(&I->a, 0) != 0)
            die("analloc_set_cache(0) failed");
        break;
    }
    case K_CHUNK: {
        if (chunk_mem == NULL) {
            void *m = mmap(NULL, CHUNK_BYTES, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
            if (m == MAP_FAILED)
                die("mmap for analloc-chunk: %s", strerror(errno));
#ifdef MADV_NOHUGEPAGE
            (void)madvise(m, CHUNK_BYTES, MADV_NOHUGEPAGE); /* count 4 KiB pages */
#endif
            chunk_mem = m;
        }
        int e = analloc_with_chunk(&I->a, chunk_mem, CHUNK_BYTES, 0, PAGE);
        if (e != 0)
            die("analloc_with_chunk: %s", analloc_strerror(e));
        break;
    }
    case K_FLOOR:
        I->fbase = UNTOUCHED_BASE;
        I->stack = xmalloc(I->pages * sizeof *I->stack);
        for (size_t i = 0; i < I->pages; i++) /* lowest page on top */
            I->stack[i] = (uint32_t)(I->pages - 1u - i);
        I->top = I->pages;
        break;
    case K_TEXTBOOK:
    case K_TB4K: {
        unsigned char *mem = tb_memory(k == K_TEXTBOOK ? &tbm_huge : &tbm_4k, I->pages);
        I->tb_order = xmalloc(tb_order_bytes(I->pages));
        if (tb_init(&I->tb, mem, I->pages, PAGE_SHIFT, I->tb_order) != 0)
            die("tb_init");
        break;
    }
    default:
        break;
    }
}

static void inst_teardown(struct inst *I)
{
    free(I->meta);
    free(I->stack);
    free(I->tb_order);
    memset(I, 0, sizeof *I);
}

/* Free pages of a page allocator (SIZE_MAX for the general ones). */
static size_t inst_free_pages(struct inst *I)
{
    switch (I->kind) {
    case K_ANALLOC:
    case K_NOCACHE:
    case K_CHUNK: return analloc_free_bytes(&I->a) / PAGE;
    case K_FLOOR: return I->top;
    case K_TEXTBOOK:
    case K_TB4K: return I->tb.free_pages;
    default: return SIZE_MAX;
    }
}

static size_t inst_managed_pages(struct inst *I)
{
    switch (I->kind) {
    case K_ANALLOC:
    case K_NOCACHE:
    case K_CHUNK: return I->a.managed / PAGE;
    default: return I->pages;
    }
}

static int inst_check(struct inst *I)
{
    switch (I->kind) {
    case K_ANALLOC:
    case K_NOCACHE:
    case K_CHUNK: return analloc_check(&I->a);
    case K_TEXTBOOK:
    case K_TB4K: return tb_check(&I->tb);
    default: return 0;
    }
}

/* The operations, inlined into the drivers below.  free returns nonzero on an
 * error the allocator reports (only analloc reports any). */
static inline void *op_alloc_analloc(struct inst *I, unsigned k)
{
    return analloc_alloc(&I->a, (size_t)PAGE << k);
}
static inline int op_free_analloc(struct inst *I, void *p) { return analloc_free(&I->a, p); }

static inline void *op_alloc_floor(struct inst *I, unsigned k)
{
    (void)k; /* one page only */
    if (I->top == 0)
        return NULL;
    return (void *)(I->fbase + ((uintptr_t)I->stack[--I->top] << PAGE_SHIFT));
}
static inline int op_free_floor(struct inst *I, void *p)
{
    I->stack[I->top++] = (uint32_t)(((uintptr_t)p - I->fbase) >> PAGE_SHIFT);
    return 0;
}

static inline void *op_alloc_textbook(struct inst *I, unsigned k) { return tb_alloc(&I->tb, k); }
static inline int op_free_textbook(struct inst *I, void *p)
{
    tb_free(&I->tb, p);
    return 0;
}

static inline void *op_alloc_glibc(struct inst *I, unsigned k)
{
    (void)I;
    void *p;
    return posix_memalign(&p, PAGE, (size_t)PAGE << k) == 0 ? p : NULL;
}
static inline int op_free_glibc(struct inst *I, void *p)
{
    (void)I;
    free(p);
    return 0;
}

static inline void *op_alloc_jemalloc(struct inst *I, unsigned k)
{
    (void)I;
    return je_mallocx((size_t)PAGE << k, (int)PAGE_SHIFT); /* MALLOCX_LG_ALIGN(12) */
}
static inline int op_free_jemalloc(struct inst *I, void *p)
{
    (void)I;
    je_dallocx(p, 0);
    return 0;
}

static inline void *op_alloc_mimalloc(struct inst *I, unsigned k)
{
    (void)I;
    return mi_malloc_aligned_p((size_t)PAGE << k, PAGE);
}
static inline int op_free_mimalloc(struct inst *I, void *p)
{
    (void)I;
    mi_free_p(p);
    return 0;
}

/* ---- workloads ------------------------------------------------------------------------ */

/*
 * A workload's operation sequence, the same for every allocator: fill
 * `nfill` blocks (order fill_order[i], or one page), free the blocks
 * kill[0..nkill) in that order, keep the survivors (in slots 0..nslots), then
 * run ops: free the block in a slot, allocate a new one into it.
 */
struct workload {
    unsigned log2p;
    size_t pages;
    int mixed;
    size_t nfill;
    uint8_t *fill_order; /* NULL: all one page */
    size_t nkill;
    uint32_t *kill;
    size_t nslots;
    uint32_t *survivor;
    size_t live_pages;   /* after the fill and the kills */
    size_t nops;
    uint32_t *ops;
};

static uint64_t workload_seed(unsigned log2p, int mixed)
{
    return opt.seed ^ ((uint64_t)log2p << 32) ^ (uint64_t)mixed;
}

/*
 * W1: the first half of the pages allocated, one at a time.  (Not a random
 * half: from any start, a buddy allocator that takes the smallest free order
 * drifts into the state where no order-0 block is free, so every freed page
 * is the only one and the next allocation returns it.  From a random half
 * that takes about nslots * ln(nslots) pairs, longer than a run at 2^24
 * pages, and the sizes of W6 would be measured in different regimes.  The
 * table's "same block" column shows the state.)
 * W2: blocks of 1 to 64 pages up to 3/4 of the arena, random ones freed until
 * at most half of it is live.
 */
static void workload_make(struct workload *w, unsigned log2p, int mixed, size_t nops)
{
    memset(w, 0, sizeof *w);
    rng_seed(workload_seed(log2p, mixed));
    w->log2p = log2p;
    w->pages = (size_t)1 << log2p;
    w->mixed = mixed;
    size_t requested = 0;
    if (!mixed) {
        w->nfill = w->pages / 2;
        requested = w->nfill;
    } else {
        w->fill_order = xmalloc(w->pages);
        while (requested < w->pages / 4 * 3) {
            unsigned k = rnd_order();
            w->fill_order[w->nfill++] = (uint8_t)k;
            requested += (size_t)1 << k;
        }
    }
    w->kill = xmalloc(w->nfill * sizeof *w->kill);
    size_t live = requested;
    if (mixed) {
        for (size_t i = 0; i < w->nfill; i++)
            w->kill[i] = (uint32_t)i;
        shuffle(w->kill, w->nfill);
        while (live > w->pages / 2)
            live -= (size_t)1 << w->fill_order[w->kill[w->nkill++]];
    }
    w->live_pages = live;
    uint8_t *dead = xcalloc(w->nfill, 1);
    for (size_t i = 0; i < w->nkill; i++)
        dead[w->kill[i]] = 1;
    w->survivor = xmalloc((w->nfill - w->nkill) * sizeof *w->survivor);
    for (size_t i = 0; i < w->nfill; i++)
        if (!dead[i])
            w->survivor[w->nslots++] = (uint32_t)i;
    free(dead);
    if (w->nslots > SLOT_MASK)
        die("too many slots");
    w->nops = nops;
    w->ops = xmalloc(nops * sizeof *w->ops);
    for (size_t i = 0; i < nops; i++) {
        uint32_t v = rnd_below(w->nslots);
        unsigned k = mixed ? rnd_order() : 0;
        w->ops[i] = v | (uint32_t)k << ORDER_SHIFT;
    }
}

static void workload_free(struct workload *w)
{
    free(w->fill_order);
    free(w->kill);
    free(w->survivor);
    free(w->ops);
    memset(w, 0, sizeof *w);
}

/* ---- drivers, one set per allocator, with its operations inlined ----------------------- */

#define DEFINE_DRIVERS(X)                                                                      \
    /* n steps; returns the failed allocations */                                              \
    static size_t X##_steps(struct inst *I, void **slot, const uint32_t *ops, size_t n,         \
                            int *err)                                                          \
    {                                                                                          \
        size_t failed = 0;                                                                     \
        int e = 0;                                                                             \
        for (size_t i = 0; i < n; i++) {                                                       \
            uint32_t op = ops[i];                                                              \
            void **s = &slot[op & SLOT_MASK];                                                  \
            if (*s != NULL)                                                                    \
                e |= op_free_##X(I, *s);                                                       \
            void *q = op_alloc_##X(I, op >> ORDER_SHIFT);                                      \
            failed += q == NULL;                                                               \
            *s = q;                                                                            \
        }                                                                                      \
        *err |= e;                                                                             \
        return failed;                                                                         \
    }                                                                                          \
    /* the same, timing every operation: ticks into la (allocs) and lf (frees) */              \
    static size_t X##_lat(struct inst *I, void **slot, const uint32_t *ops, size_t n,           \
                          uint32_t *la, uint32_t *lf, size_t *nf, int *err)                    \
    {                                                                                          \
        size_t failed = 0, j = 0;                                                              \
        int e = 0;                                                                             \
        for (size_t i = 0; i < n; i++) {                                                       \
            uint32_t op = ops[i];                                                              \
            void **s = &slot[op & SLOT_MASK];                                                  \
            void *p = *s;                                                                      \
            if (p != NULL) {                                                                   \
                uint64_t t0 = tick_start();                                                    \
                e |= op_free_##X(I, p);                                                        \
                uint64_t t1 = tick_stop();                                                     \
                lf[j++] = t1 - t0 > UINT32_MAX ? UINT32_MAX : (uint32_t)(t1 - t0);             \
            }                                                                                  \
            uint64_t t2 = tick_start();                                                        \
            void *q = op_alloc_##X(I, op >> ORDER_SHIFT);                                      \
            uint64_t t3 = tick_stop();                                                         \
            la[i] = t3 - t2 > UINT32_MAX ? UINT32_MAX : (uint32_t)(t3 - t2);                   \
            failed += q == NULL;                                                               \
            *s = q;                                                                            \
        }                                                                                      \
        *nf = j;                                                                               \
        *err |= e;                                                                             \
        return failed;                                                                         \
    }                                                                                          \
    /* W3: one-page blocks until NULL or max */                                                \
    static size_t X##_fill(struct inst *I, void **blk, size_t max)                              \
    {                                                                                          \
        size_t i;                                                                              \
        for (i = 0; i < max; i++) {                                                            \
            void *p = op_alloc_##X(I, 0);                                                      \
            if (p == NULL)                                                                     \
                break;                                                                         \
            blk[i] = p;                                                                        \
        }                                                                                      \
        return i;                                                                              \
    }                                                                                          \
    static int X##_free_all(struct inst *I, void *const *blk, const uint32_t *perm, size_t n)      \
    {                                                                                          \
        int e = 0;                                                                             \
        for (size_t i = 0; i < n; i++)                                                         \
            e |= op_free_##X(I, blk[perm[i]]);                                                 \
        return e;                                                                              \
    }                                                                                          \
    /* the workload's fill and kills (not timed); returns failed allocations */                \
    static size_t X##_prepare(struct inst *I, void **slot, const struct workload *w, int *err)  \
    {                                                                                          \
        size_t failed = 0;                                                                     \
        int e = 0;                                                                             \
        for (size_t i = 0; i < w->nfill; i++) {                                                \
            slot[i] = op_alloc_##X(I, w->fill_order ? w->fill_order[i] : 0);                   \
            failed += slot[i] == NULL;                                                         \
        }                                                                                      \
        for (size_t i = 0; i < w->nkill; i++) {                                                \
            void *p = slot[w->kill[i]];                                                        \
            if (p != NULL)                                                                     \
                e |= op_free_##X(I, p);                                                        \
            slot[w->kill[i]] = NULL;                                                           \
        }                                                                                      \
        for (size_t s = 0; s < w->nslots; s++)                                                 \
            slot[s] = slot[w->survivor[s]];                                                    \
        *err |= e;                                                                             \
        return failed;                                                                         \
    }                                                                                          \
    static int X##_free_slots(struct inst *I, void **slot, size_t n)                              \
    {                                                                                          \
        int e = 0;                                                                             \
        for (size_t i = 0; i < n; i++)                                                         \
            if (slot[i] != NULL) {                                                             \
                e |= op_free_##X(I, slot[i]);                                                  \
                slot[i] = NULL;                                                                \
            }                                                                                  \
        return e;                                                                              \
    }

DEFINE_DRIVERS(analloc)
DEFINE_DRIVERS(floor)
DEFINE_DRIVERS(textbook)
DEFINE_DRIVERS(glibc)
DEFINE_DRIVERS(jemalloc)
DEFINE_DRIVERS(mimalloc)

struct drivers {
    size_t (*steps)(struct inst *, void **, const uint32_t *, size_t, int *);
    size_t (*lat)(struct inst *, void **, const uint32_t *, size_t, uint32_t *, uint32_t *,
                  size_t *, int *);
    size_t (*fill)(struct inst *, void **, size_t);
    int (*drain)(struct inst *, void *const *, const uint32_t *, size_t);
    size_t (*prepare)(struct inst *, void **, const struct workload *, int *);
    int (*release)(struct inst *, void **, size_t);
};
#define DRIVERS(X) {X##_steps, X##_lat, X##_fill, X##_free_all, X##_prepare, X##_free_slots}
static const struct drivers drv[NKIND] = {
    [K_ANALLOC] = DRIVERS(analloc),   [K_FLOOR] = DRIVERS(floor),
    [K_TEXTBOOK] = DRIVERS(textbook), [K_TB4K] = DRIVERS(textbook), [K_GLIBC] = DRIVERS(glibc),
    [K_JEMALLOC] = DRIVERS(jemalloc), [K_MIMALLOC] = DRIVERS(mimalloc),
    [K_CHUNK] = DRIVERS(analloc),     [K_NOCACHE] = DRIVERS(analloc),
};

static int multi_page(enum kind k) { return k != K_FLOOR && k != K_CHUNK; }
static int page_allocator(enum kind k)
{
    return k == K_ANALLOC || k == K_FLOOR || k == K_TEXTBOOK || k == K_TB4K || k == K_CHUNK ||
           k == K_NOCACHE;
}
static int is_textbook(enum kind k) { return k == K_TEXTBOOK || k == K_TB4K; }

/* ---- W1, W2 (and W5): throughput on the 256 MiB arena --------------------------------- */

struct tput {
    int ran;
    double ns[MAX_RUNS];
    size_t failed, fill_failed;
    double med;
    double reuse; /* fraction of allocations that returned the block just freed */
    /* W5, after the last run */
    double free_frac;
    size_t largest_pages;
};

static int correctness_errors;

static void after_run_checks(struct inst *I, const char *what)
{
    int c = inst_check(I);
    if (c != 0) {
        say("ERROR: %s: %s check failed (%d)\n", what, kind_name[I->kind], c);
        correctness_errors++;
    }
}

static void run_tput(const struct workload *w, enum kind k, size_t warm, size_t n, int rep,
                     struct tput *t)
{
    struct inst I;
    inst_setup(&I, k, w->log2p);
    void **slot = xcalloc(w->nfill, sizeof *slot);
    int err = 0;
    size_t ff = drv[k].prepare(&I, slot, w, &err);
    drv[k].steps(&I, slot, w->ops, warm, &err);
    double t0 = now_ns();
    size_t failed = drv[k].steps(&I, slot, w->ops + warm, n, &err);
    double t1 = now_ns();
    t->ns[rep] = (t1 - t0) / (double)n;
    t->ran = rep + 1;
    t->failed = failed;
    t->fill_failed = ff;
    if (rep == opt.runs - 1 && page_allocator(k)) {
        t->free_frac = (double)inst_free_pages(&I) / (double)inst_managed_pages(&I);
        if (!is_textbook(k))
            analloc_drain(&I.a); /* the largest block it could hand out: cached pages merged */
        t->largest_pages =
            is_textbook(k) ? tb_largest_free(&I.tb) : analloc_largest_free(&I.a) / PAGE;
        after_run_checks(&I, w->mixed ? "W2" : "W1");
    }
    err |= drv[k].release(&I, slot, w->nslots);
    if (page_allocator(k) && inst_free_pages(&I) != inst_managed_pages(&I)) {
        say("ERROR: %s: %zu of %zu pages free after freeing everything\n", kind_name[k],
            inst_free_pages(&I), inst_managed_pages(&I));
        correctness_errors++;
    }
    if (is_textbook(k) && I.tb.free_pages == I.pages && tb_largest_free(&I.tb) != I.pages) {
        say("ERROR: textbook: free blocks did not merge back into one\n");
        correctness_errors++;
    }
    if (err) {
        say("ERROR: %s: free reported an error\n", kind_name[k]);
        correctness_errors++;
    }
    inst_teardown(&I);
    free(slot);
}

/* The operations through a switch, for the untimed passes. */
static void *gen_alloc(struct inst *I, unsigned k)
{
    switch (I->kind) {
    case K_ANALLOC:
    case K_NOCACHE:
    case K_CHUNK: return op_alloc_analloc(I, k);
    case K_FLOOR: return op_alloc_floor(I, k);
    case K_TEXTBOOK:
    case K_TB4K: return op_alloc_textbook(I, k);
    case K_GLIBC: return op_alloc_glibc(I, k);
    case K_JEMALLOC: return op_alloc_jemalloc(I, k);
    case K_MIMALLOC: return op_alloc_mimalloc(I, k);
    default: return NULL;
    }
}

static int gen_free(struct inst *I, void *p)
{
    switch (I->kind) {
    case K_ANALLOC:
    case K_NOCACHE:
    case K_CHUNK: return op_free_analloc(I, p);
    case K_FLOOR: return op_free_floor(I, p);
    case K_TEXTBOOK:
    case K_TB4K: return op_free_textbook(I, p);
    case K_GLIBC: return op_free_glibc(I, p);
    case K_JEMALLOC: return op_free_jemalloc(I, p);
    case K_MIMALLOC: return op_free_mimalloc(I, p);
    default: return -1;
    }
}

/* An untimed pass over the same sequence: how often does the allocation
 * return the very block the free before it released?  (In W1 a buddy
 * allocator settles where every freed page is the only free page of order 0,
 * so it comes straight back.) */
static double reuse_fraction(const struct workload *w, enum kind k, size_t warm, size_t n)
{
    struct inst I;
    inst_setup(&I, k, w->log2p);
    void **slot = xcalloc(w->nfill, sizeof *slot);
    int err = 0;
    drv[k].prepare(&I, slot, w, &err);
    drv[k].steps(&I, slot, w->ops, warm, &err);
    size_t same = 0;
    for (size_t i = warm; i < warm + n; i++) {
        void **sl = &slot[w->ops[i] & SLOT_MASK];
        void *p = *sl;
        if (p != NULL)
            err |= gen_free(&I, p);
        *sl = gen_alloc(&I, w->ops[i] >> ORDER_SHIFT);
        same += *sl == p && p != NULL;
    }
    err |= drv[k].release(&I, slot, w->nslots);
    if (err) {
        say("ERROR: %s: free reported an error\n", kind_name[k]);
        correctness_errors++;
    }
    inst_teardown(&I);
    free(slot);
    return (double)same / (double)n;
}

static void print_tput(const char *wl, const enum kind *kinds, struct tput *r, size_t n, int multi)
{
    say("  %-14s %9s %9s %9s %8s %10s %11s\n", "allocator", "ns/pair", "min", "max", "failed",
        "x analloc", "same block");
    for (size_t i = 0; i < n; i++)
        if (r[i].ran)
            r[i].med = median(r[i].ns, (size_t)r[i].ran);
    for (size_t i = 0; i < n; i++) {
        struct tput *t = &r[i];
        enum kind k = kinds[i];
        if (!t->ran) {
            say("  %-14s %s\n", kind_name[k],
                multi && !multi_page(k) ? "n/a (one page only)" : kind_note[k]);
            continue;
        }
        say("  %-14s %9.1f %9.1f %9.1f %8zu %10.2f %10.1f%%\n", kind_name[k], t->med,
            vmin(t->ns, (size_t)t->ran), vmax(t->ns, (size_t)t->ran), t->failed, t->med / r[0].med,
            100 * t->reuse);
        csv_row(wl, kind_name[k], MAIN_LOG2, "ns_per_pair", t->med, "ns");
        csv_row(wl, kind_name[k], MAIN_LOG2, "ns_per_pair_min", vmin(t->ns, (size_t)t->ran), "ns");
        csv_row(wl, kind_name[k], MAIN_LOG2, "ns_per_pair_max", vmax(t->ns, (size_t)t->ran), "ns");
        csv_row(wl, kind_name[k], MAIN_LOG2, "failed", (double)t->failed, "count");
        csv_row(wl, kind_name[k], MAIN_LOG2, "same_block", t->reuse, "ratio");
    }
    say("  (same block: the share of allocations that returned the block freed just before, in an "
        "untimed pass over %s of the measured pairs)\n", "a tenth");
}

/* ---- W3 ------------------------------------------------------------------------------ */

struct w3res {
    int ran;
    double fill_ns[MAX_RUNS], drain_ns[MAX_RUNS];
    size_t obtained, managed;
};

static void run_w3(enum kind k, unsigned log2p, int cycles, int rep, struct w3res *r)
{
    size_t pages = (size_t)1 << log2p;
    struct inst I;
    inst_setup(&I, k, log2p);
    size_t max = page_allocator(k) ? pages + 1 : pages; /* page allocators: until full */
    void **blk = xmalloc((pages + 1) * sizeof *blk);
    uint32_t *perm = xmalloc((pages + 1) * sizeof *perm);
    double fill = 0, drain = 0;
    size_t nfill = 0, ndrain = 0;
    int err = 0;
    for (int c = -1; c < cycles; c++) { /* cycle -1 warms up */
        double t0 = now_ns();
        size_t got = drv[k].fill(&I, blk, max);
        double t1 = now_ns();
        /* the drain order: a random permutation from the same seed for all */
        rng_seed(opt.seed ^ 0x3333u ^ (uint64_t)c);
        for (size_t i = 0; i < got; i++)
            perm[i] = (uint32_t)i;
        shuffle(perm, got);
        double t2 = now_ns();
        err |= drv[k].drain(&I, blk, perm, got);
        double t3 = now_ns();
        if (c >= 0) {
            fill += t1 - t0;
            drain += t3 - t2;
            nfill += got;
            ndrain += got;
        }
        r->obtained = got;
    }
    r->managed = pages;
    r->fill_ns[rep] = fill / (double)nfill;
    r->drain_ns[rep] = drain / (double)ndrain;
    r->ran = rep + 1;
    if (rep == opt.runs - 1)
        after_run_checks(&I, "W3");
    if (err) {
        say("ERROR: %s: free reported an error in W3\n", kind_name[k]);
        correctness_errors++;
    }
    if (page_allocator(k) && inst_free_pages(&I) != inst_managed_pages(&I)) {
        say("ERROR: %s: pages lost in W3\n", kind_name[k]);
        correctness_errors++;
    }
    free(blk);
    free(perm);
    inst_teardown(&I);
}

/* ---- W4 ------------------------------------------------------------------------------ */

#define NPCT 5
static const double pcts[NPCT] = {0.50, 0.99, 0.999, 0.9999, 1.0};
static const char *const pct_names[NPCT] = {"p50", "p99", "p99.9", "p99.99", "max"};
#define CURVE_POINTS 241 /* x = log10(1/(1-p)) from 0 to 6 in steps of 0.025 */

struct latres {
    int ran;
    double all[MAX_RUNS][NPCT], alloc[MAX_RUNS][NPCT], fre[MAX_RUNS][NPCT];
    double curve[MAX_RUNS][CURVE_POINTS];
    size_t samples;
    double med_all[NPCT], med_alloc[NPCT], med_free[NPCT];
    int curve_rep;
};

static double ticks_to_ns(uint32_t t)
{
    return t > tick_overhead ? (double)(t - tick_overhead) / ticks_per_ns : 0.0;
}

static void run_w4(const struct workload *w, enum kind k, size_t warm, size_t n, int rep,
                   struct latres *r)
{
    struct inst I;
    inst_setup(&I, k, w->log2p);
    void **slot = xcalloc(w->nfill, sizeof *slot);
    uint32_t *la = xmalloc(n * sizeof *la), *lf = xmalloc(n * sizeof *lf);
    uint32_t *all = xmalloc(2 * n * sizeof *all), *tmp = xmalloc(2 * n * sizeof *tmp);
    int err = 0;
    size_t nf = 0;
    drv[k].prepare(&I, slot, w, &err);
    drv[k].steps(&I, slot, w->ops, warm, &err);
    drv[k].lat(&I, slot, w->ops + warm, n, la, lf, &nf, &err);
    err |= drv[k].release(&I, slot, w->nslots);
    if (err) {
        say("ERROR: %s: free reported an error in W4\n", kind_name[k]);
        correctness_errors++;
    }
    inst_teardown(&I);
    free(slot);
    memcpy(all, la, n * sizeof *all);
    memcpy(all + n, lf, nf * sizeof *all);
    size_t na = n + nf;
    radix_sort(la, tmp, n);
    radix_sort(lf, tmp, nf);
    radix_sort(all, tmp, na);
    for (int i = 0; i < NPCT; i++) {
        r->all[rep][i] = ticks_to_ns(pct(all, na, pcts[i]));
        r->alloc[rep][i] = ticks_to_ns(pct(la, n, pcts[i]));
        r->fre[rep][i] = nf ? ticks_to_ns(pct(lf, nf, pcts[i])) : NAN;
    }
    for (int i = 0; i < CURVE_POINTS; i++) {
        double x = 0.025 * i, p = 1.0 - pow(10, -x);
        r->curve[rep][i] = p * (double)na > (double)na - 0.5 ? NAN : ticks_to_ns(pct(all, na, p));
    }
    r->samples = na;
    r->ran = rep + 1;
    free(la);
    free(lf);
    free(all);
    free(tmp);
}

/* ---- W7: a kernel's mix ---------------------------------------------------------------- */

/*
 * The same 2^16 pages as W1-W5 (256 MiB), used as a kernel uses its page
 * allocator: mostly single pages (a page cache near 45% of the arena, one
 * page freed or allocated at each step), bursts of 8-64 blocks of orders
 * 2-4 (stacks, network buffers) freed together 200-2200 steps later,
 * huge pages of order 9 (2 MiB) now and then, held 1000-11000 steps, and
 * DMA requests of orders 0-2 below 16 MiB.  One sequence from the seed for
 * every allocator; a failed allocation leaves its slot empty, and its free
 * is skipped.  Every allocator has two zones, as Linux does: DMA (the first
 * 16 MiB) and normal (the rest), one allocator each; a normal request falls
 * back to the DMA zone when the normal one has no block, a DMA request has
 * the DMA zone only.  (In one arena, analloc would serve DMA requests with
 * analloc_alloc_range below 16 MiB, but its normal requests, lowest address
 * first, would have filled that memory: a kernel keeps zones apart with
 * either allocator.)
 */
#define W7_DMA_PAGES 4096u
enum { W7_PAGE, W7_BURST, W7_HUGE, W7_DMA, W7_NCAT };
static const char *const w7_cat_name[W7_NCAT] = {"page", "burst", "huge", "dma"};

struct w7op {
    uint32_t slot;
    uint8_t free, order, cat;
};

struct w7seq {
    struct w7op *ops;
    size_t nops, cap, nslots, warm; /* ops before `warm` are not timed */
    size_t requests[W7_NCAT];       /* allocations, timed part */
};

struct w7due {
    uint64_t key; /* due step << 24 | tie-breaker */
    uint32_t slot;
};

static void w7_emit(struct w7seq *q, uint32_t slot, int is_free, unsigned order, unsigned cat)
{
    if (q->nops == q->cap) {
        q->cap = q->cap ? 2u * q->cap : 1u << 20;
        q->ops = realloc(q->ops, q->cap * sizeof *q->ops);
        if (q->ops == NULL)
            die("out of memory");
    }
    q->ops[q->nops++] = (struct w7op){slot, (uint8_t)is_free, (uint8_t)order, (uint8_t)cat};
}

/* A binary min-heap of pending frees. */
static void w7_push(struct w7due *h, size_t *n, struct w7due d)
{
    size_t i = (*n)++;
    while (i > 0 && h[(i - 1u) / 2u].key > d.key) {
        h[i] = h[(i - 1u) / 2u];
        i = (i - 1u) / 2u;
    }
    h[i] = d;
}

static struct w7due w7_pop(struct w7due *h, size_t *n)
{
    struct w7due top = h[0], last = h[--*n];
    size_t i = 0;
    for (;;) {
        size_t c = 2u * i + 1u;
        if (c >= *n)
            break;
        if (c + 1u < *n && h[c + 1u].key < h[c].key)
            c++;
        if (h[c].key >= last.key)
            break;
        h[i] = h[c];
        i = c;
    }
    if (*n > 0)
        h[i] = last;
    return top;
}

static void w7_make(struct w7seq *q, size_t steps)
{
    memset(q, 0, sizeof *q);
    rng_seed(opt.seed ^ 0x7777u);
    const size_t pages = (size_t)1 << MAIN_LOG2, target = pages * 45u / 100u;
    uint32_t *pool = xmalloc(pages * sizeof *pool);
    struct w7due *heap = xmalloc(steps * sizeof *heap);
    size_t npool = 0, nheap = 0;
    uint32_t next = 0;
    for (size_t step = 0; step < steps; step++) {
        if (q->warm == 0 && npool >= target)
            q->warm = q->nops;
        while (nheap > 0 && (heap[0].key >> 24) <= step)
            w7_emit(q, w7_pop(heap, &nheap).slot, 1, 0, 0);
        uint32_t r = rnd_below(10000);
        if (r < 50) { /* a burst */
            unsigned n = 8u + rnd_below(57), u;
            uint64_t due = step + 200u + rnd_below(2000);
            for (unsigned i = 0; i < n; i++) {
                u = rnd_below(10);
                w7_emit(q, next, 0, u < 5 ? 2u : u < 8 ? 3u : 4u, W7_BURST);
                w7_push(heap, &nheap, (struct w7due){due << 24 | rnd_below(1u << 24), next++});
            }
        } else if (r < 52) { /* a huge page */
            w7_emit(q, next, 0, 9, W7_HUGE);
            w7_push(heap, &nheap,
                    (struct w7due){(step + 1000u + rnd_below(10000)) << 24 | rnd_below(1u << 24), next++});
        } else if (r < 152) { /* DMA */
            w7_emit(q, next, 0, rnd_below(3), W7_DMA);
            w7_push(heap, &nheap,
                    (struct w7due){(step + 100u + rnd_below(5000)) << 24 | rnd_below(1u << 24), next++});
        } else if (npool < target || rnd_below(2) == 0) { /* the page cache */
            w7_emit(q, next, 0, 0, W7_PAGE);
            pool[npool++] = next++;
        } else {
            size_t i = rnd_below(npool);
            w7_emit(q, pool[i], 1, 0, 0);
            pool[i] = pool[--npool];
        }
        if (nheap + 64u >= steps)
            die("W7: too many pending frees");
    }
    q->nslots = next;
    for (size_t i = q->warm; i < q->nops; i++)
        if (!q->ops[i].free)
            q->requests[q->ops[i].cat]++;
    free(pool);
    free(heap);
}

/* One allocator for W7 in two zones: analloc (with or without its cache)
 * or the textbook buddy. */
struct w7inst {
    enum kind kind;
    struct analloc a, a_dma; /* normal, DMA */
    void *meta, *meta_dma;
    struct tb dma, normal;
    uint8_t *order_dma, *order_normal;
    uintptr_t dma_end; /* the first address past the DMA zone */
};

static void w7_setup(struct w7inst *I, enum kind k)
{
    memset(I, 0, sizeof *I);
    I->kind = k;
    size_t pages = (size_t)1 << MAIN_LOG2;
    if (k == K_TEXTBOOK) {
        unsigned char *mem = tb_memory(&tbm_huge, pages);
        I->order_dma = xmalloc(tb_order_bytes(W7_DMA_PAGES));
        I->order_normal = xmalloc(tb_order_bytes(pages - W7_DMA_PAGES));
        if (tb_init(&I->dma, mem, W7_DMA_PAGES, PAGE_SHIFT, I->order_dma) != 0 ||
            tb_init(&I->normal, mem + (size_t)W7_DMA_PAGES * PAGE, pages - W7_DMA_PAGES, PAGE_SHIFT,
                    I->order_normal) != 0)
            die("tb_init");
        I->dma_end = (uintptr_t)mem + (size_t)W7_DMA_PAGES * PAGE;
        return;
    }
    size_t dma = (size_t)W7_DMA_PAGES * PAGE, normal = pages * PAGE - dma;
    size_t need = analloc_meta_size(normal, PAGE), need_dma = analloc_meta_size(dma, PAGE);
    I->meta = xmalloc(need);
    I->meta_dma = xmalloc(need_dma);
    I->dma_end = UNTOUCHED_BASE + dma;
    if (analloc_init(&I->a_dma, (void *)UNTOUCHED_BASE, dma, PAGE, I->meta_dma, need_dma) != 0 ||
        analloc_init(&I->a, (void *)I->dma_end, normal, PAGE, I->meta, need) != 0 ||
        (k == K_NOCACHE && (analloc_set_cache(&I->a, 0) != 0 || analloc_set_cache(&I->a_dma, 0) != 0)))
        die("analloc_init for W7");
}

static void w7_teardown(struct w7inst *I)
{
    free(I->meta);
    free(I->meta_dma);
    free(I->order_dma);
    free(I->order_normal);
}

static inline void *w7_alloc(struct w7inst *I, const struct w7op *o)
{
    if (I->kind == K_TEXTBOOK) {
        if (o->cat == W7_DMA)
            return tb_alloc(&I->dma, o->order);
        void *p = tb_alloc(&I->normal, o->order);
        return p != NULL ? p : tb_alloc(&I->dma, o->order);
    }
    if (o->cat == W7_DMA)
        return analloc_alloc(&I->a_dma, (size_t)PAGE << o->order);
    void *p = analloc_alloc(&I->a, (size_t)PAGE << o->order);
    return p != NULL ? p : analloc_alloc(&I->a_dma, (size_t)PAGE << o->order);
}

static inline int w7_free(struct w7inst *I, void *p)
{
    if (I->kind == K_TEXTBOOK) {
        tb_free((uintptr_t)p < I->dma_end ? &I->dma : &I->normal, p);
        return 0;
    }
    return analloc_free((uintptr_t)p < I->dma_end ? &I->a_dma : &I->a, p);
}

struct w7res {
    int ran;
    double ns[MAX_RUNS];     /* per operation, the timed part */
    double p50[MAX_RUNS], p999[MAX_RUNS];
    size_t failed[W7_NCAT];  /* timed part, the last run */
    size_t free_pages, largest_pages; /* at the end, before freeing */
};

/* One run: the sequence timed as a whole (CLOCK_MONOTONIC), or (latency)
 * each operation alone (rdtsc). */
static void run_w7(const struct w7seq *q, enum kind k, int rep, int latency, struct w7res *r)
{
    struct w7inst I;
    w7_setup(&I, k);
    void **slot = xcalloc(q->nslots, sizeof *slot);
    uint32_t *lat = latency ? xmalloc((q->nops - q->warm) * sizeof *lat) : NULL;
    size_t failed[W7_NCAT] = {0}, nl = 0;
    int err = 0;
    double t0 = 0;
    for (size_t i = 0; i < q->nops; i++) {
        if (i == q->warm && !latency)
            t0 = now_ns();
        const struct w7op *o = &q->ops[i];
        uint64_t c0 = 0;
        if (latency && i >= q->warm)
            c0 = tick_start();
        if (o->free) {
            void *p = slot[o->slot];
            if (p != NULL)
                err |= w7_free(&I, p);
            slot[o->slot] = NULL;
        } else {
            void *p = w7_alloc(&I, o);
            slot[o->slot] = p;
            if (p == NULL && i >= q->warm)
                failed[o->cat]++;
        }
        if (latency && i >= q->warm) {
            uint64_t c1 = tick_stop();
            lat[nl++] = c1 - c0 > UINT32_MAX ? UINT32_MAX : (uint32_t)(c1 - c0);
        }
    }
    if (!latency) {
        r->ns[rep] = (now_ns() - t0) / (double)(q->nops - q->warm);
        r->ran = rep + 1;
        memcpy(r->failed, failed, sizeof failed);
        if (k == K_TEXTBOOK) {
            r->free_pages = I.dma.free_pages + I.normal.free_pages;
            r->largest_pages = tb_largest_free(&I.normal) > tb_largest_free(&I.dma)
                                   ? tb_largest_free(&I.normal) : tb_largest_free(&I.dma);
        } else {
            if (analloc_check(&I.a) != 0 || analloc_check(&I.a_dma) != 0) {
                say("ERROR: W7: %s check failed\n", kind_name[k]);
                correctness_errors++;
            }
            r->free_pages = (analloc_free_bytes(&I.a) + analloc_free_bytes(&I.a_dma)) / PAGE;
            analloc_drain(&I.a);
            analloc_drain(&I.a_dma);
            size_t l = analloc_largest_free(&I.a), ld = analloc_largest_free(&I.a_dma);
            r->largest_pages = (l > ld ? l : ld) / PAGE;
        }
    } else {
        uint32_t *tmp = xmalloc(nl * sizeof *tmp);
        radix_sort(lat, tmp, nl);
        r->p50[rep] = ticks_to_ns(pct(lat, nl, 0.5));
        r->p999[rep] = ticks_to_ns(pct(lat, nl, 0.999));
        free(tmp);
    }
    for (size_t s = 0; s < q->nslots; s++)
        if (slot[s] != NULL)
            err |= w7_free(&I, slot[s]);
    if (err) {
        say("ERROR: W7: %s: free reported an error\n", kind_name[k]);
        correctness_errors++;
    }
    free(lat);
    free(slot);
    w7_teardown(&I);
}

/* ---- W6 ------------------------------------------------------------------------------ */

enum { S_A1, S_A2, S_F1, S_T1, S_T2, NSERIES };
static const char *const series_name[NSERIES] = {"analloc W1", "analloc W2", "floor W1",
                                                 "textbook W1", "textbook W2"};
#define NSIZES (W6_MAX_LOG2 - W6_MIN_LOG2 + 1)

struct w6res {
    double ns[NSERIES][NSIZES];  /* NaN: not run */
    double spread[NSERIES][NSIZES]; /* (max - min) / median of the segments */
    size_t meta_bytes[NSIZES], meta_bound[NSIZES], meta_fixed[NSIZES];
    int ran[NSIZES];
    double ir[NSERIES][NSIZES];  /* callgrind, NaN if none */
};

static void run_w6_one(const struct workload *w, enum kind k, size_t seg, double *ns_out,
                       double *spread_out, size_t *meta_out, size_t *bound_out, size_t *fixed_out)
{
    struct inst I;
    inst_setup(&I, k, w->log2p);
    void **slot = xcalloc(w->nfill, sizeof *slot);
    int err = 0;
    drv[k].prepare(&I, slot, w, &err);
    drv[k].steps(&I, slot, w->ops, seg, &err);
    double v[MAX_RUNS];
    for (int r = 0; r < opt.runs; r++) {
        double t0 = now_ns();
        drv[k].steps(&I, slot, w->ops + seg * (size_t)(r + 1), seg, &err);
        v[r] = (now_ns() - t0) / (double)seg;
    }
    *ns_out = median(v, (size_t)opt.runs);
    *spread_out = (vmax(v, (size_t)opt.runs) - vmin(v, (size_t)opt.runs)) / *ns_out;
    if (k == K_ANALLOC && meta_out) {
        *meta_out = analloc_meta_bytes(&I.a);
        *bound_out = analloc_meta_size((size_t)PAGE << w->log2p, PAGE);
        struct analloc_stats st;
        st.size = sizeof st;
        analloc_stats(&I.a, &st);
        *fixed_out = st.meta_fixed_bytes;
    }
    if (err) {
        say("ERROR: %s: free reported an error in W6\n", kind_name[k]);
        correctness_errors++;
    }
    inst_teardown(&I);
    free(slot);
}

/* Read DIR/callgrind.csv (bench/callgrind.sh): allocator,workload,log2_pages,
 * pairs,instructions,instructions_per_pair. */
static int read_callgrind(struct w6res *r, char *info, size_t info_size)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/callgrind.csv", opt.out);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(info, info_size, "no %s: run sh bench/callgrind.sh first", path);
        return 0;
    }
    char line[256], alloc[32], wl[8];
    unsigned log2p;
    unsigned long long pairs, ir;
    double per;
    int rows = 0;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "%31[^,],%7[^,],%u,%llu,%llu,%lf", alloc, wl, &log2p, &pairs, &ir, &per) != 6)
            continue;
        if (log2p < W6_MIN_LOG2 || log2p > W6_MAX_LOG2)
            continue;
        int s = -1;
        if (strcmp(alloc, "analloc") == 0)
            s = strcmp(wl, "w1") == 0 ? S_A1 : S_A2;
        else if (strcmp(alloc, "textbook") == 0)
            s = strcmp(wl, "w1") == 0 ? S_T1 : S_T2;
        if (s < 0)
            continue;
        r->ir[s][log2p - W6_MIN_LOG2] = per;
        rows++;
    }
    fclose(f);
    struct stat st, sb;
    const char *age = "";
    if (stat(path, &st) == 0 && stat("/proc/self/exe", &sb) == 0 && st.st_mtime < sb.st_mtime)
        age = " - OLDER than this binary: rerun bench/callgrind.sh";
    snprintf(info, info_size, "%d rows from %s%s", rows, path, age);
    return rows;
}

/* ---- the machine ------------------------------------------------------------------------ */

static void cpu_model(char *buf, size_t n)
{
    snprintf(buf, n, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f == NULL)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) == 0 || strncmp(line, "Processor", 9) == 0 ||
            strncmp(line, "uarch", 5) == 0) {
            char *c = strchr(line, ':');
            if (c) {
                c += 1 + (c[1] == ' ');
                c[strcspn(c, "\n")] = 0;
                snprintf(buf, n, "%s", c);
                break;
            }
        }
    }
    fclose(f);
}

static void read_line(const char *path, char *buf, size_t n)
{
    snprintf(buf, n, "unknown");
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return;
    if (fgets(buf, (int)n, f))
        buf[strcspn(buf, "\n")] = 0;
    fclose(f);
}

static int cpuinfo_has_flag(const char *flag)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f == NULL)
        return 0;
    char line[8192];
    int has = 0;
    size_t n = strlen(flag);
    while (!has && fgets(line, sizeof line, f)) {
        if (strncmp(line, "flags", 5) != 0)
            continue;
        for (char *p = line; (p = strstr(p, flag)) != NULL; p += n)
            if (p[-1] == ' ' && (p[n] == ' ' || p[n] == '\n'))
                has = 1;
        break;
    }
    fclose(f);
    return has;
}

/*
 * Debian's libjemalloc.so.2 uses initial-exec TLS (2.6 KiB), more than the
 * 512 bytes of static TLS glibc keeps for dlopen, so dlopen fails with
 * "cannot allocate memory in static TLS block".  Re-execute once with a
 * larger reserve (a glibc tunable, 2.32 and later); nothing else changes.
 */
static const char *reexec_note = "";

static void reexec_for_static_tls(char **argv)
{
    static const char tunable[] = "glibc.rtld.optional_static_tls=16384";
    const char *t = getenv("GLIBC_TUNABLES");
    if (opt.no_general)
        return;
#if defined(__SANITIZE_ADDRESS__)
    return;
#endif
    if (getenv("ANALLOC_BENCH_REEXEC") != NULL) {
        if (t && strstr(t, tunable))
            reexec_note = " (after re-executing with GLIBC_TUNABLES=glibc.rtld.optional_static_tls=16384)";
        return;
    }
    if (t && strstr(t, "glibc.rtld.optional_static_tls"))
        return;
    void *h = dlopen("libjemalloc.so.2", RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
    if (h != NULL || strstr(dlerror(), "static TLS") == NULL)
        return; /* loads as it is, or is missing */
    static char buf[2048];
    snprintf(buf, sizeof buf, "%s%s%s", t ? t : "", t ? ":" : "", tunable);
    setenv("GLIBC_TUNABLES", buf, 1);
    setenv("ANALLOC_BENCH_REEXEC", "1", 1);
    fflush(NULL);
    execv("/proc/self/exe", argv);
    /* exec failed: go on without jemalloc */
}

static void load_general_allocators(void)
{
    available[K_ANALLOC] = available[K_FLOOR] = available[K_TEXTBOOK] = available[K_TB4K] = 1;
    available[K_CHUNK] = available[K_GLIBC] = available[K_NOCACHE] = 1;
    snprintf(kind_note[K_GLIBC], sizeof kind_note[K_GLIBC], "glibc %s, posix_memalign(4096)/free",
             gnu_get_libc_version());

#if defined(__SANITIZE_ADDRESS__)
    opt.no_general = 1; /* ASan refuses RTLD_DEEPBIND */
#endif
    if (opt.no_general) {
        snprintf(kind_note[K_JEMALLOC], sizeof kind_note[K_JEMALLOC], "SKIPPED: %s",
                 "--no-dlopen, or built with AddressSanitizer");
        snprintf(kind_note[K_MIMALLOC], sizeof kind_note[K_MIMALLOC], "SKIPPED: %s",
                 "--no-dlopen, or built with AddressSanitizer");
        return;
    }
    void *h = dlopen("libjemalloc.so.2", RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
    if (h && load_sym(h, "mallocx", &je_mallocx, sizeof je_mallocx) == 0 &&
        load_sym(h, "dallocx", &je_dallocx, sizeof je_dallocx) == 0) {
        available[K_JEMALLOC] = 1;
        int (*mallctl)(const char *, void *, size_t *, void *, size_t);
        const char *ver = "?";
        size_t len = sizeof ver;
        if (load_sym(h, "mallctl", &mallctl, sizeof mallctl) == 0)
            (void)mallctl("version", &ver, &len, NULL, 0);
        snprintf(kind_note[K_JEMALLOC], sizeof kind_note[K_JEMALLOC],
                 "jemalloc %.20s, mallocx(MALLOCX_LG_ALIGN(12))/dallocx, dlopen'd%s", ver,
                 reexec_note);
    } else {
        snprintf(kind_note[K_JEMALLOC], sizeof kind_note[K_JEMALLOC],
                 "SKIPPED: %.100s (Debian: apt-get install libjemalloc2)",
                 h ? "mallocx not found" : dlerror());
    }
    h = dlopen("libmimalloc.so.2", RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
    if (h && load_sym(h, "mi_malloc_aligned", &mi_malloc_aligned_p, sizeof mi_malloc_aligned_p) == 0 &&
        load_sym(h, "mi_free", &mi_free_p, sizeof mi_free_p) == 0) {
        available[K_MIMALLOC] = 1;
        int (*mi_version)(void);
        int v = 0;
        if (load_sym(h, "mi_version", &mi_version, sizeof mi_version) == 0)
            v = mi_version();
        snprintf(kind_note[K_MIMALLOC], sizeof kind_note[K_MIMALLOC],
                 "mimalloc %d.%d.%d, mi_malloc_aligned(4096)/mi_free, dlopen'd", v / 100,
                 v / 10 % 10, v % 10);
    } else {
        snprintf(kind_note[K_MIMALLOC], sizeof kind_note[K_MIMALLOC],
                 "SKIPPED: %.100s (Debian: apt-get install libmimalloc2.0)",
                 h ? "mi_malloc_aligned not found" : dlerror());
    }
}

/* ---- the textbook buddy's self-test ---------------------------------------------------- */

static int textbook_selftest(void)
{
    static const size_t sizes[] = {4096, 3000, 1, 777};
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        size_t pages = sizes[si];
        size_t len = pages * PAGE;
        unsigned char *mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (mem == MAP_FAILED)
            return -100;
        uint8_t *ord = xmalloc(tb_order_bytes(pages));
        uint8_t *owner = xcalloc(pages, 1);
        struct tb t;
        if (tb_init(&t, mem, pages, PAGE_SHIFT, ord) != 0 || tb_check(&t) != 0)
            return -101;
        enum { NLIVE = 512 };
        void *live[NLIVE] = {0};
        unsigned lord[NLIVE] = {0};
        rng_seed(0xb0dd1e5u + si);
        int rc = 0;
        for (int i = 0; i < 40000 && rc == 0; i++) {
            size_t v = rnd_below(NLIVE);
            if (live[v]) {
                size_t pfn = (size_t)((unsigned char *)live[v] - mem) / PAGE;
                for (size_t j = pfn; j < pfn + ((size_t)1 << lord[v]); j++)
                    owner[j] = 0;
                tb_free(&t, live[v]);
                live[v] = NULL;
            } else {
                unsigned k = (unsigned)rnd_below(9);
                void *p = tb_alloc(&t, k);
                if (p) {
                    size_t pfn = (size_t)((unsigned char *)p - mem) / PAGE;
                    if (pfn % ((size_t)1 << k) || pfn + ((size_t)1 << k) > pages)
                        rc = -102; /* misaligned or outside */
                    for (size_t j = pfn; rc == 0 && j < pfn + ((size_t)1 << k); j++) {
                        if (owner[j])
                            rc = -103; /* overlaps a live block */
                        owner[j] = 1;
                    }
                    memset(p, 0xa5, (size_t)PAGE << k); /* the user may write it all */
                    live[v] = p;
                    lord[v] = k;
                }
            }
            if (i % 997 == 0 && rc == 0)
                rc = tb_check(&t);
        }
        for (size_t v = 0; v < NLIVE; v++)
            tb_free(&t, live[v]);
        if (rc == 0)
            rc = tb_check(&t);
        if (rc == 0 && t.free_pages != pages)
            rc = -104;
        if (rc == 0 && (pages & (pages - 1)) == 0 && tb_largest_free(&t) != pages)
            rc = -105; /* everything merges back into one block */
        munmap(mem, len);
        free(ord);
        free(owner);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- callgrind worker --------------------------------------------------------------------- */

static int callgrind_worker(const char *alloc, const char *wl, unsigned log2p, size_t pairs)
{
    enum kind k = strcmp(alloc, "analloc") == 0           ? K_ANALLOC
                  : strcmp(alloc, "analloc-nocache") == 0 ? K_NOCACHE
                  : strcmp(alloc, "textbook") == 0        ? K_TEXTBOOK
                                                          : NKIND;
    int mixed = strcmp(wl, "w2") == 0;
    if (k == NKIND || (!mixed && strcmp(wl, "w1") != 0) || log2p < 1 || log2p > 30 ||
        (k == K_TEXTBOOK && log2p > TB_MAX_LOG2))
        die("--callgrind analloc|analloc-nocache|textbook w1|w2 LOG2_PAGES PAIRS");
    size_t warm = pairs / 2;
    struct workload w;
    workload_make(&w, log2p, mixed, warm + pairs);
    struct inst I;
    inst_setup(&I, k, log2p);
    void **slot = xcalloc(w.nfill, sizeof *slot);
    int err = 0;
    drv[k].prepare(&I, slot, &w, &err);
    drv[k].steps(&I, slot, w.ops, warm, &err);
#if HAVE_CALLGRIND
    CALLGRIND_START_INSTRUMENTATION;
#endif
    size_t failed = drv[k].steps(&I, slot, w.ops + warm, pairs, &err);
#if HAVE_CALLGRIND
    CALLGRIND_STOP_INSTRUMENTATION;
#endif
    printf("callgrind-worker %s %s 2^%u: %zu pairs, %zu failed, err %d, callgrind %s\n", alloc, wl,
           log2p, pairs, failed, err, HAVE_CALLGRIND ? "yes" : "no");
    return err != 0;
}

/* ---- targets ------------------------------------------------------------------------------- */

static int targets_met, targets_failed, targets_skipped;

__attribute__((format(printf, 2, 3))) static void target(int state, const char *fmt, ...)
{
    /* state: 1 PASS, 0 FAIL, -1 SKIP */
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    say("%s  %s\n", state > 0 ? "PASS" : state == 0 ? "FAIL" : "SKIP", buf);
    if (state > 0)
        targets_met++;
    else if (state == 0)
        targets_failed++;
    else
        targets_skipped++;
    csv_row("target", state > 0 ? "PASS" : state == 0 ? "FAIL" : "SKIP", 0, buf, state, "state");
}

/* ---- the picture ---------------------------------------------------------------------------- */

static void write_svg(const struct latres *lat, const enum kind *lat_kinds, size_t nlat,
                      const struct w6res *w6, int have_ir, const char *title)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/bench.svg", opt.out);
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        say("cannot write %s: %s\n", path, strerror(errno));
        return;
    }
    const double W = 1280, H = 940;
    svg_begin(f, W, H, title);

    /* (a) W4 latency percentiles */
    double xs[CURVE_POINTS];
    for (int i = 0; i < CURVE_POINTS; i++)
        xs[i] = 0.025 * i;
    struct svg_series s[NKIND + NSERIES];
    size_t ns = 0;
    for (size_t i = 0; i < nlat; i++) {
        if (!lat[i].ran)
            continue;
        s[ns++] = (struct svg_series){kind_name[lat_kinds[i]], xs, lat[i].curve[lat[i].curve_rep],
                                      CURVE_POINTS, (int)lat_kinds[i], 0};
    }
    static const double lx[] = {0, 0.30103, 1, 2, 3, 4, 5, 6};
    static const char *const ll[] = {"0%", "50%", "90%", "99%", "99.9%", "99.99%", "99.999%", ""};
    struct svg_panel pa = {0,    40,   W / 2, H / 2 - 20, "W4: latency of each operation (W2 sequence)",
                           "percentile", "ns (log)", 0, 6, lx, ll, 8, 1, 0, 0,
                           "timer overhead subtracted; the run with the median p99.9"};
    svg_panel(f, &pa, s, ns);

    /* (b) W6 ns per pair */
    double lg[NSIZES];
    for (unsigned i = 0; i < NSIZES; i++)
        lg[i] = W6_MIN_LOG2 + i;
    static const double tx[] = {10, 12, 14, 16, 18, 20, 22, 24};
    static const char *const tl[] = {"2^10", "2^12", "2^14", "2^16", "2^18", "2^20", "2^22", "2^24"};
    static const int style[NSERIES] = {K_ANALLOC, K_ANALLOC + 10, K_FLOOR, K_TEXTBOOK,
                                       K_TEXTBOOK + 10};
    ns = 0;
    for (int i = 0; i < NSERIES; i++)
        s[ns++] = (struct svg_series){series_name[i], lg, w6->ns[i], NSIZES, style[i], 1};
    struct svg_panel pb = {W / 2, 40,   W / 2, H / 2 - 20, "W6: cost against arena size",
                           "pages of 4 KiB", "ns per free+alloc pair (log)", 9.5, 24.5, tx, tl, 8,
                           1, 0, 0, "median of the segments; solid W1, dashed W2; textbook stops at 2^18"};
    svg_panel(f, &pb, s, ns);

    /* (c) W6 instructions per pair */
    ns = 0;
    if (have_ir)
        for (int i = 0; i < NSERIES; i++)
            if (i != S_F1)
                s[ns++] = (struct svg_series){series_name[i], lg, w6->ir[i], NSIZES, style[i], 1};
    struct svg_panel pc = {0,  H / 2 + 20, W / 2, H / 2 - 20, "W6: instructions per pair (callgrind)",
                           "pages of 4 KiB", "instructions per free+alloc pair", 9.5, 24.5, tx, tl,
                           8, 0, 0, 0,
                           have_ir ? "inside the allocator's alloc and free calls (bench/callgrind.sh)"
                                   : "no callgrind results: run sh bench/callgrind.sh"};
    svg_panel(f, &pc, s, ns);

    /* (d) metadata bits per page */
    double bits[NSIZES], target_line[NSIZES];
    for (unsigned i = 0; i < NSIZES; i++) {
        bits[i] = w6->meta_bytes[i] ? 8.0 * (double)w6->meta_bytes[i] / (double)((size_t)1 << (W6_MIN_LOG2 + i)) : NAN;
        target_line[i] = lg[i] >= 16 ? 3.2 : NAN;
    }
    s[0] = (struct svg_series){"analloc metadata", lg, bits, NSIZES, K_ANALLOC, 1};
    s[1] = (struct svg_series){"target 3.2 (from 2^16)", lg, target_line, NSIZES, K_TEXTBOOK + 10, 0};
    struct svg_panel pd = {W / 2, H / 2 + 20, W / 2, H / 2 - 20, "metadata per page",
                           "pages of 4 KiB", "bits per page", 9.5, 24.5, tx, tl, 8, 0, 2.8, 4.8,
                           "analloc_meta_bytes; for comparison textbook 8 bits/page, floor 32"};
    svg_panel(f, &pd, s, 2);
    svg_end(f);
    fclose(f);
}

/* ---- main ----------------------------------------------------------------------------------- */

/* The block cache settings of the library linked in (its build's
 * defaults), read through analloc_stats from a small allocator. */
static struct analloc_stats build_settings(void)
{
    static uint64_t meta[ANALLOC_META_SIZE_MAX((size_t)PAGE << MAIN_LOG2, PAGE) / 8u + 1u];
    struct analloc a;
    struct analloc_stats st;
    memset(&st, 0, sizeof st);
    st.size = sizeof st;
    if (analloc_init(&a, (void *)UNTOUCHED_BASE, (size_t)PAGE << MAIN_LOG2, PAGE, meta, sizeof meta) != 0 ||
        analloc_stats(&a, &st) != 0)
        die("analloc_stats on the W1-W5 arena failed");
    return st;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: bench [--quick] [--out DIR] [--runs N] [--seed N] [--only w1,w2,w3,w4,w6,w7]\n"
            "             [--cpu N | --no-pin] [--no-dlopen] [--strict]\n"
            "       bench --callgrind analloc|textbook w1|w2 LOG2_PAGES PAIRS\n");
    exit(2);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--quick") == 0)
            opt.quick = 1;
        else if (strcmp(a, "--strict") == 0)
            opt.strict = 1;
        else if (strcmp(a, "--no-pin") == 0)
            opt.cpu = -2;
        else if (strcmp(a, "--no-dlopen") == 0)
            opt.no_general = 1;
        else if (strcmp(a, "--callgrind") == 0 && i + 4 < argc)
            return callgrind_worker(argv[i + 1], argv[i + 2], (unsigned)atoi(argv[i + 3]),
                                    (size_t)strtoull(argv[i + 4], NULL, 10));
        else if (i + 1 < argc && strcmp(a, "--out") == 0)
            opt.out = argv[++i];
        else if (i + 1 < argc && strcmp(a, "--runs") == 0)
            opt.runs = atoi(argv[++i]);
        else if (i + 1 < argc && strcmp(a, "--seed") == 0)
            opt.seed = strtoull(argv[++i], NULL, 0);
        else if (i + 1 < argc && strcmp(a, "--only") == 0)
            opt.only = argv[++i];
        else if (i + 1 < argc && strcmp(a, "--cpu") == 0)
            opt.cpu = atoi(argv[++i]);
        else
            usage();
    }
    if (opt.runs == 0)
        opt.runs = 5;
    reexec_for_static_tls(argv);
    if (opt.runs < 1 || opt.runs > MAX_RUNS)
        usage();
    double start = now_ns();

    /* sizes of the work */
    const size_t n_main = opt.quick ? 200000 : 10000000;  /* W1, W2 pairs per run */
    const size_t warm_main = n_main / 10;
    const int w3_cycles = opt.quick ? 1 : 4;
    const size_t n_lat = opt.quick ? 100000 : 500000;     /* W4 pairs: 2 ops each */
    const int lat_runs = opt.quick ? 1 : 3;
    const size_t seg6 = opt.quick ? 20000 : 400000;       /* W6 pairs per segment */
    const size_t w7_steps = opt.quick ? 400000 : 4000000; /* W7 steps (about an op each) */
    const unsigned w6_step = opt.quick ? 2 : 1;

    char path[4096];
    mkdir(opt.out, 0777); /* build/ exists; the make rule creates the rest */
    snprintf(path, sizeof path, "%s/results.txt", opt.out);
    txt_out = fopen(path, "w");
    snprintf(path, sizeof path, "%s/results.csv", opt.out);
    csv_out = fopen(path, "w");
    if (txt_out == NULL || csv_out == NULL)
        die("cannot write into %s (%s)", opt.out, strerror(errno));
    fprintf(csv_out, "workload,allocator,log2_pages,metric,value,unit\n");

    /* pin to one CPU: the last one unless told */
    int ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
    char pin[64] = "not pinned";
    if (opt.cpu != -2) {
        int c = opt.cpu >= 0 ? opt.cpu : ncpu - 1;
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(c, &set);
        if (sched_setaffinity(0, sizeof set, &set) == 0)
            snprintf(pin, sizeof pin, "pinned to CPU %d", c);
    }

    load_general_allocators();
    calibrate_ticks();

    char model[256], thp[128], gov[64];
    struct utsname un;
    uname(&un);
    cpu_model(model, sizeof model);
    read_line("/sys/kernel/mm/transparent_hugepage/enabled", thp, sizeof thp);
    read_line("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor", gov, sizeof gov);

    say("analloc benchmark suite (%s run: %d runs per figure, the median quoted)\n",
        opt.quick ? "QUICK" : "full", opt.runs);
    say("machine:   %s; %d online CPUs (%s); %s %s %s%s; THP %s; governor %s\n", model, ncpu,
        pin, un.sysname, un.release, un.machine,
        cpuinfo_has_flag("hypervisor") ? " (virtual machine)" : "", thp, gov);
    say("compiler:  %s\n", COMPILER);
    say("flags:     bench %s\n", BENCH_CFLAGS);
    say("           library %s\n", BENCH_LIB_CFLAGS);
#if HAVE_TSC
    say("timers:    CLOCK_MONOTONIC for throughput; per operation (W4) rdtsc with lfence at "
        "%.3f GHz (calibrated against CLOCK_MONOTONIC; constant_tsc %s), overhead %u ticks = "
        "%.1f ns, subtracted\n",
        ticks_per_ns, cpuinfo_has_flag("constant_tsc") ? "yes" : "NO", tick_overhead,
        tick_overhead / ticks_per_ns);
#else
    say("timers:    CLOCK_MONOTONIC for throughput and for each operation (W4), overhead %u ns, "
        "subtracted\n",
        tick_overhead);
#endif
    say("seed:      %#llx (splitmix64): every allocator runs the same operation sequence\n",
        (unsigned long long)opt.seed);
    say("arena:     W1-W5 2^%u pages of %u bytes (%zu MiB); W6 2^%u to 2^%u pages\n", MAIN_LOG2,
        PAGE, CHUNK_BYTES >> 20, W6_MIN_LOG2, W6_MAX_LOG2);
    say("allocators:\n");
    struct analloc_stats build = build_settings();
    say("  analloc        analloc_init, external metadata, arena at %#llx: never mapped; the "
        "block cache at its default (%u slots: order k's list holds up to %u >> (k / 2) blocks, "
        "orders 0-%u)\n",
        (unsigned long long)UNTOUCHED_BASE, build.cache_slots, build.cache_slots,
        build.cache_orders - 1u);
    say("  floor          a stack of free page numbers (one page only: W1, W3, W6 W1)\n");
    say("  textbook       bench/textbook_buddy.c: lists through the free blocks, order byte per "
        "page; real memory (mmap, prefaulted, MADV_HUGEPAGE, as a kernel's direct map)\n");
    say("  textbook-4k    the same over 4 KiB pages (MADV_NOHUGEPAGE): adds the TLB misses of "
        "user space\n");
    say("  glibc          %s\n", kind_note[K_GLIBC]);
    say("  jemalloc       %s\n", kind_note[K_JEMALLOC]);
    say("  mimalloc       %s\n", kind_note[K_MIMALLOC]);
    say("  analloc-chunk  analloc_with_chunk over real memory, metadata inside (W3 only)\n");
    say("  analloc-nocache  analloc with analloc_set_cache(a, 0): the buddy system alone, no block "
        "cache (W1, W2, W4)\n");

    int st = textbook_selftest();
    say("self-test: textbook buddy, 4 arenas x 40000 random operations, overlap shadow and "
        "tb_check: %s\n",
        st == 0 ? "ok" : "FAILED");
    if (st != 0) {
        say("ERROR: textbook self-test returned %d\n", st);
        return 1;
    }

    /* analloc's arena must not be mapped: then no byte of it can have been
     * read or written without a fault */
    unsigned char *vec = xmalloc(((size_t)1 << W6_MAX_LOG2) + 1);
    errno = 0;
    int mc = mincore((void *)UNTOUCHED_BASE, (size_t)PAGE << W6_MAX_LOG2, vec);
    int unmapped_before = mc == -1 && errno == ENOMEM;

    /* the targets below use the first three and the general allocators */
    static const enum kind tput_kinds[] = {K_ANALLOC, K_FLOOR,    K_TEXTBOOK, K_TB4K,
                                           K_GLIBC,   K_JEMALLOC, K_MIMALLOC, K_NOCACHE};
    enum { NTK = sizeof tput_kinds / sizeof tput_kinds[0] };
    struct tput w1r[NTK], w2r[NTK];
    memset(w1r, 0, sizeof w1r);
    memset(w2r, 0, sizeof w2r);

    /* ---- W1 */
    if (want("w1")) {
        struct workload w;
        workload_make(&w, MAIN_LOG2, 0, warm_main + n_main);
        for (int rep = 0; rep < opt.runs; rep++)
            for (size_t i = 0; i < NTK; i++)
                if (available[tput_kinds[i]])
                    run_tput(&w, tput_kinds[i], warm_main, n_main, rep, &w1r[i]);
        for (size_t i = 0; i < NTK; i++)
            if (w1r[i].ran)
                w1r[i].reuse = reuse_fraction(&w, tput_kinds[i], warm_main, n_main / 10);
        say("\nW1 page churn: %zu of %zu pages live (the first half, allocated in order); %zu "
            "free+alloc pairs of one page after %zu warm-up pairs\n",
            w.live_pages, w.pages, n_main, warm_main);
        print_tput("W1", tput_kinds, w1r, NTK, 0);
        workload_free(&w);
    }

    /* ---- W2 (+ W5) */
    if (want("w2")) {
        struct workload w;
        workload_make(&w, MAIN_LOG2, 1, warm_main + n_main);
        for (int rep = 0; rep < opt.runs; rep++)
            for (size_t i = 0; i < NTK; i++)
                if (available[tput_kinds[i]] && multi_page(tput_kinds[i]))
                    run_tput(&w, tput_kinds[i], warm_main, n_main, rep, &w2r[i]);
        for (size_t i = 0; i < NTK; i++)
            if (w2r[i].ran)
                w2r[i].reuse = reuse_fraction(&w, tput_kinds[i], warm_main, n_main / 10);
        say("\nW2 mixed orders: blocks of 1-64 pages, P(order k) ~ 2^-(k+1); filled to 3/4, random "
            "blocks freed: %zu blocks, %zu of %zu pages live; %zu pairs after %zu warm-up\n",
            w.nslots, w.live_pages, w.pages, n_main, warm_main);
        print_tput("W2", tput_kinds, w2r, NTK, 1);
        if (w2r[0].fill_failed || w2r[2].fill_failed)
            say("  note: allocations failed while filling: analloc %zu, textbook %zu\n",
                w2r[0].fill_failed, w2r[2].fill_failed);

        say("\nW5 fragmentation: after W2's last run (%zu pairs past the fill)\n",
            warm_main + n_main);
        say("  %-14s %12s %16s %20s\n", "allocator", "free pages", "largest block", "largest/free");
        for (size_t i = 0; i < NTK; i++) {
            enum kind k = tput_kinds[i];
            struct tput *t = &w2r[i];
            if (!page_allocator(k) || k == K_FLOOR)
                continue;
            if (!t->ran)
                continue;
            double freep = t->free_frac * (double)w.pages;
            say("  %-14s %11.1f%% %10zu pages %19.1f%%\n", kind_name[k], 100 * t->free_frac,
                t->largest_pages, 100.0 * (double)t->largest_pages / freep);
            csv_row("W5", kind_name[k], MAIN_LOG2, "free_fraction", t->free_frac, "ratio");
            csv_row("W5", kind_name[k], MAIN_LOG2, "largest_free_pages", (double)t->largest_pages, "pages");
        }
        say("  (general allocators: n/a, they take more memory from the system instead)\n");
        workload_free(&w);
    }

    errno = 0;
    mc = mincore((void *)UNTOUCHED_BASE, (size_t)PAGE << W6_MAX_LOG2, vec);
    int unmapped_after = mc == -1 && errno == ENOMEM;

    /* ---- W3 */
    if (want("w3")) {
        static const enum kind w3k[] = {K_ANALLOC, K_CHUNK,    K_FLOOR,   K_TEXTBOOK,
                                        K_TB4K,    K_GLIBC,    K_JEMALLOC, K_MIMALLOC};
        enum { NW3 = sizeof w3k / sizeof w3k[0] };
        struct w3res r[NW3];
        memset(r, 0, sizeof r);
        for (int rep = 0; rep < opt.runs; rep++)
            for (size_t i = 0; i < NW3; i++)
                if (available[w3k[i]])
                    run_w3(w3k[i], MAIN_LOG2, w3_cycles, rep, &r[i]);
        say("\nW3 fill and drain: one-page blocks until the arena is full (general allocators: "
            "2^%u blocks), then all freed in random order; %d cycle(s) per run after one warm-up\n",
            MAIN_LOG2, w3_cycles);
        say("  %-14s %12s %12s %18s\n", "allocator", "fill ns/op", "drain ns/op", "pages obtained");
        for (size_t i = 0; i < NW3; i++) {
            enum kind k = w3k[i];
            if (!r[i].ran) {
                say("  %-14s %s\n", kind_name[k], kind_note[k]);
                continue;
            }
            double f = median(r[i].fill_ns, (size_t)r[i].ran), d = median(r[i].drain_ns, (size_t)r[i].ran);
            if (page_allocator(k))
                say("  %-14s %12.1f %12.1f %9zu = %6.2f%%\n", kind_name[k], f, d, r[i].obtained,
                    100.0 * (double)r[i].obtained / (double)r[i].managed);
            else
                say("  %-14s %12.1f %12.1f %18s\n", kind_name[k], f, d, "n/a");
            csv_row("W3", kind_name[k], MAIN_LOG2, "fill_ns_per_op", f, "ns");
            csv_row("W3", kind_name[k], MAIN_LOG2, "drain_ns_per_op", d, "ns");
            if (page_allocator(k))
                csv_row("W3", kind_name[k], MAIN_LOG2, "fraction_obtained",
                        (double)r[i].obtained / (double)r[i].managed, "ratio");
        }
        if (chunk_mem) {
            /* which pages of the real chunk did analloc-chunk ever touch? */
            struct inst I;
            inst_setup(&I, K_CHUNK, MAIN_LOG2);
            size_t meta_pages = (size_t)((unsigned char *)I.a.start - chunk_mem) / PAGE;
            inst_teardown(&I);
            size_t res_meta = 0, res_alloc = 0, n = CHUNK_BYTES / PAGE;
            if (mincore(chunk_mem, CHUNK_BYTES, vec) == 0) {
                for (size_t i = 0; i < n; i++)
                    if (vec[i] & 1)
                        *(i < meta_pages ? &res_meta : &res_alloc) += 1;
                say("  analloc-chunk: of the 256 MiB chunk (mmap'd, not prefaulted) %zu pages are "
                    "resident after W3: %zu of its %zu metadata pages and %zu of the %zu allocatable "
                    "ones\n",
                    res_meta + res_alloc, res_meta, meta_pages, res_alloc, n - meta_pages);
                csv_row("W3", "analloc-chunk", MAIN_LOG2, "allocatable_pages_touched",
                        (double)res_alloc, "pages");
            }
        }
    }

    /* ---- W4 */
    static const enum kind lat_kinds[] = {K_ANALLOC, K_TEXTBOOK, K_TB4K,    K_GLIBC,
                                          K_JEMALLOC, K_MIMALLOC, K_NOCACHE};
    enum { NLK = sizeof lat_kinds / sizeof lat_kinds[0] };
    static struct latres lat[NLK];
    if (want("w4")) {
        struct workload w;
        size_t warm = n_lat / 5;
        workload_make(&w, MAIN_LOG2, 1, warm + n_lat);
        for (int rep = 0; rep < lat_runs; rep++)
            for (size_t i = 0; i < NLK; i++)
                if (available[lat_kinds[i]])
                    run_w4(&w, lat_kinds[i], warm, n_lat, rep, &lat[i]);
        say("\nW4 latency: each operation of %zu W2 pairs timed alone (%zu frees + allocs); "
            "median of %d run(s) for each column; ns\n",
            n_lat, lat[0].samples, lat_runs);
        say("  %-14s %-6s %9s %9s %9s %9s %10s\n", "allocator", "ops", "p50", "p99", "p99.9",
            "p99.99", "max");
        for (size_t i = 0; i < NLK; i++) {
            struct latres *r = &lat[i];
            enum kind k = lat_kinds[i];
            if (!r->ran) {
                say("  %-14s %s\n", kind_name[k], kind_note[k]);
                continue;
            }
            for (int p = 0; p < NPCT; p++) {
                double va[MAX_RUNS], vb[MAX_RUNS], vc[MAX_RUNS];
                for (int j = 0; j < r->ran; j++) {
                    va[j] = r->all[j][p];
                    vb[j] = r->alloc[j][p];
                    vc[j] = r->fre[j][p];
                }
                r->med_all[p] = median(va, (size_t)r->ran);
                r->med_alloc[p] = median(vb, (size_t)r->ran);
                r->med_free[p] = median(vc, (size_t)r->ran);
                csv_row("W4", kind_name[k], MAIN_LOG2, pct_names[p], r->med_all[p], "ns");
                csv_row("W4", kind_name[k], MAIN_LOG2, pct_names[p], r->med_alloc[p], "ns_alloc");
                csv_row("W4", kind_name[k], MAIN_LOG2, pct_names[p], r->med_free[p], "ns_free");
            }
            /* the curve of the run whose p99.9 is the median */
            r->curve_rep = 0;
            for (int j = 0; j < r->ran; j++)
                if (r->all[j][2] == r->med_all[2])
                    r->curve_rep = j;
            const double *rows[3] = {r->med_all, r->med_alloc, r->med_free};
            static const char *const rn[3] = {"all", "alloc", "free"};
            for (int j = 0; j < 3; j++)
                say("  %-14s %-6s %9.1f %9.1f %9.1f %9.1f %10.1f\n", j ? "" : kind_name[k], rn[j],
                    rows[j][0], rows[j][1], rows[j][2], rows[j][3], rows[j][4]);
        }
        snprintf(path, sizeof path, "%s/latency.csv", opt.out);
        FILE *f = fopen(path, "w");
        if (f) {
            fprintf(f, "allocator,percentile,ns\n");
            for (size_t i = 0; i < NLK; i++)
                if (lat[i].ran)
                    for (int j = 0; j < CURVE_POINTS; j++)
                        if (!isnan(lat[i].curve[lat[i].curve_rep][j]))
                            fprintf(f, "%s,%.6f,%.1f\n", kind_name[lat_kinds[i]],
                                    100.0 * (1.0 - pow(10, -0.025 * j)),
                                    lat[i].curve[lat[i].curve_rep][j]);
            fclose(f);
        }
        workload_free(&w);
    }

    /* ---- W7 */
    static const enum kind w7k[] = {K_ANALLOC, K_TEXTBOOK, K_NOCACHE};
    enum { NW7 = sizeof w7k / sizeof w7k[0] };
    static struct w7res w7r[NW7];
    size_t w7_huge_requests = 0;
    if (want("w7")) {
        struct w7seq q;
        w7_make(&q, w7_steps);
        for (int rep = 0; rep < opt.runs; rep++)
            for (size_t i = 0; i < NW7; i++) {
                run_w7(&q, w7k[i], rep, 0, &w7r[i]);
                if (rep < lat_runs)
                    run_w7(&q, w7k[i], rep, 1, &w7r[i]);
            }
        say("\nW7 a kernel's mix: %zu operations after %zu of warm-up (page cache of single pages "
            "at 45%% of the arena; in the timed part %zu page, %zu burst (orders 2-4), %zu huge "
            "(order 9) and %zu DMA (orders 0-2, below 16 MiB) requests); ns per operation, the "
            "median of %d runs; p50 and p99.9 of each operation timed alone (%d runs)\n",
            q.nops - q.warm, q.warm, q.requests[W7_PAGE], q.requests[W7_BURST], q.requests[W7_HUGE],
            q.requests[W7_DMA], opt.runs, lat_runs);
        say("  %-16s %8s %8s %8s | %13s %13s %13s | %22s\n", "allocator", "ns/op", "p50", "p99.9",
            "order 9 fail", "DMA fail", "others fail", "free / largest (pages)");
        for (size_t i = 0; i < NW7; i++) {
            struct w7res *r = &w7r[i];
            enum kind k = w7k[i];
            if (!r->ran)
                continue;
            int nl = r->ran < lat_runs ? r->ran : lat_runs;
            double ns = median(r->ns, (size_t)r->ran), p50 = median(r->p50, (size_t)nl),
                   p999 = median(r->p999, (size_t)nl);
            say("  %-16s %8.1f %8.1f %8.1f | %6zu of %-4zu %6zu of %-4zu %6zu of %-6zu | %9zu / %-9zu\n",
                kind_name[k], ns, p50, p999, r->failed[W7_HUGE], q.requests[W7_HUGE],
                r->failed[W7_DMA], q.requests[W7_DMA], r->failed[W7_PAGE] + r->failed[W7_BURST],
                q.requests[W7_PAGE] + q.requests[W7_BURST], r->free_pages, r->largest_pages);
            csv_row("W7", kind_name[k], MAIN_LOG2, "ns_per_op", ns, "ns");
            csv_row("W7", kind_name[k], MAIN_LOG2, "p50", p50, "ns");
            csv_row("W7", kind_name[k], MAIN_LOG2, "p99.9", p999, "ns");
            for (int c = 0; c < W7_NCAT; c++)
                csv_row("W7", kind_name[k], MAIN_LOG2, w7_cat_name[c], (double)r->failed[c],
                        "failed_requests");
        }
        say("  (analloc's largest block after merging its cache; the textbook's after the run)\n");
        w7_huge_requests = q.requests[W7_HUGE];
        free(q.ops);
    }

    /* ---- W6 and metadata */
    static struct w6res w6;
    for (int s = 0; s < NSERIES; s++)
        for (unsigned i = 0; i < NSIZES; i++)
            w6.ns[s][i] = w6.ir[s][i] = w6.spread[s][i] = NAN;
    char cg_info[4200];
    int have_ir = read_callgrind(&w6, cg_info, sizeof cg_info);
    if (want("w6")) {
        for (unsigned L = W6_MIN_LOG2; L <= W6_MAX_LOG2; L += w6_step) {
            unsigned i = L - W6_MIN_LOG2;
            for (int mixed = 0; mixed < 2; mixed++) {
                struct workload w;
                workload_make(&w, L, mixed, seg6 * (size_t)(opt.runs + 1));
                int sa = mixed ? S_A2 : S_A1, stb = mixed ? S_T2 : S_T1;
                run_w6_one(&w, K_ANALLOC, seg6, &w6.ns[sa][i], &w6.spread[sa][i], &w6.meta_bytes[i],
                           &w6.meta_bound[i], &w6.meta_fixed[i]);
                if (!mixed)
                    run_w6_one(&w, K_FLOOR, seg6, &w6.ns[S_F1][i], &w6.spread[S_F1][i], NULL, NULL, NULL);
                if (L <= TB_MAX_LOG2)
                    run_w6_one(&w, K_TEXTBOOK, seg6, &w6.ns[stb][i], &w6.spread[stb][i], NULL, NULL, NULL);
                workload_free(&w);
            }
            w6.ran[i] = 1;
        }
        say("\nW6 scaling: W1 and W2 from 2^%u to 2^%u pages (analloc and floor over never-mapped "
            "addresses; textbook over real memory up to 2^%u pages = %zu MiB); median of %d "
            "segments of %zu pairs after one warm-up segment; ns per pair\n",
            W6_MIN_LOG2, W6_MAX_LOG2, TB_MAX_LOG2, ((size_t)PAGE << TB_MAX_LOG2) >> 20, opt.runs,
            seg6);
        say("  instructions per pair (Ir): callgrind, inside the allocator's alloc and free: %s\n",
            cg_info);
        say("  %-6s %9s %9s %9s %9s %9s | %8s %8s %8s %8s\n", "pages", "analloc1", "analloc2",
            "floor1", "textbk1", "textbk2", "Ir an1", "Ir an2", "Ir tb1", "Ir tb2");
        for (unsigned i = 0; i < NSIZES; i++) {
            if (!w6.ran[i] && isnan(w6.ir[S_A1][i]))
                continue;
            char c[NSERIES][16], d[4][16];
            for (int s = 0; s < NSERIES; s++) {
                if (isnan(w6.ns[s][i]))
                    snprintf(c[s], sizeof c[s], "-");
                else
                    snprintf(c[s], sizeof c[s], "%.1f", w6.ns[s][i]);
            }
            static const int irs[4] = {S_A1, S_A2, S_T1, S_T2};
            for (int s = 0; s < 4; s++) {
                if (isnan(w6.ir[irs[s]][i]))
                    snprintf(d[s], sizeof d[s], "-");
                else
                    snprintf(d[s], sizeof d[s], "%.1f", w6.ir[irs[s]][i]);
            }
            say("  2^%-4u %9s %9s %9s %9s %9s | %8s %8s %8s %8s\n", W6_MIN_LOG2 + i, c[0], c[1],
                c[2], c[3], c[4], d[0], d[1], d[2], d[3]);
            for (int s = 0; s < NSERIES; s++) {
                if (!isnan(w6.ns[s][i]))
                    csv_row(s == S_A2 || s == S_T2 ? "W6-W2" : "W6-W1",
                            s <= S_A2 ? "analloc" : s == S_F1 ? "floor" : "textbook",
                            W6_MIN_LOG2 + i, "ns_per_pair", w6.ns[s][i], "ns");
                if (!isnan(w6.ir[s][i]))
                    csv_row(s == S_A2 || s == S_T2 ? "W6-W2" : "W6-W1",
                            s <= S_A2 ? "analloc" : "textbook", W6_MIN_LOG2 + i,
                            "instructions_per_pair", w6.ir[s][i], "instructions");
            }
        }
        double worst_spread = 0;
        for (int s = 0; s < NSERIES; s++)
            for (unsigned i = 0; i < NSIZES; i++)
                if (!isnan(w6.spread[s][i]) && w6.spread[s][i] > worst_spread)
                    worst_spread = w6.spread[s][i];
        say("  (largest spread of the segments around a median: %.0f%%)\n", 100 * worst_spread);

        say("\nMetadata (analloc_meta_bytes; the bound is analloc_meta_size; bits/page beside the "
            "fixed tables: the order table, the block cache's lists and table, the ranges)\n");
        say("  %-6s %14s %10s %12s %14s | %s\n", "pages", "analloc bytes", "bits/page", "fixed bytes",
            "bound bytes", "textbook bits/page (order bytes + heads)");
        for (unsigned i = 0; i < NSIZES; i++) {
            if (!w6.ran[i])
                continue;
            size_t pages = (size_t)1 << (W6_MIN_LOG2 + i);
            double bits = 8.0 * (double)(w6.meta_bytes[i] - w6.meta_fixed[i]) / (double)pages;
            say("  2^%-4u %14zu %10.3f %12zu %14zu | %.3f\n", W6_MIN_LOG2 + i, w6.meta_bytes[i], bits,
                w6.meta_fixed[i], w6.meta_bound[i],
                8.0 * (double)(tb_order_bytes(pages) + sizeof(struct tb)) / (double)pages);
            csv_row("meta", "analloc", W6_MIN_LOG2 + i, "bits_per_page", bits, "bits");
            csv_row("meta", "analloc", W6_MIN_LOG2 + i, "meta_bytes", (double)w6.meta_bytes[i], "bytes");
        }
        say("  floor: 32 bits/page (a uint32_t per page); the general allocators keep headers "
            "and page maps of their own\n");
    }

    /* ---- the worst single operations (bench/opcost.sh, callgrind) */
    {
        snprintf(path, sizeof path, "%s/opcost.txt", opt.out);
        FILE *f = fopen(path, "r");
        say("\nWorst single operations (instructions inside the library, callgrind; the adversarial "
            "states are built in bench/opcost.c):\n");
        if (f == NULL) {
            say("  no %s: run sh bench/opcost.sh > %s first\n", path, path);
        } else {
            char line[512], name[256];
            unsigned long long calls;
            double ir;
            while (fgets(line, sizeof line, f))
                if (sscanf(line, "worst:%255s %llu %lf", name, &calls, &ir) == 3) {
                    say("  %-58s %10.0f\n", name, ir);
                    csv_row("worst", "analloc", MAIN_LOG2, name, ir, "instructions");
                } else if (strncmp(line, "  (", 3) == 0 && strstr(line, "cached blocks merged")) {
                    say("  %s", line);
                }
            fclose(f);
        }
    }

    /* ---- memory untouched */
    say("\nanalloc touched no byte of its arenas: the range %#llx + %zu GiB (every W1, W2, W4, W6 "
        "arena) was %s before the runs and %s after them (mincore), so any read or write "
        "there would have killed the process; the metadata lives in malloc'd buffers.\n",
        (unsigned long long)UNTOUCHED_BASE, ((size_t)PAGE << W6_MAX_LOG2) >> 30,
        unmapped_before ? "unmapped" : "MAPPED (!)", unmapped_after ? "still unmapped" : "MAPPED (!)");
    if (tbm_huge.base)
        say("textbook arena: %ld KiB of its touched %zu MiB in transparent huge pages\n",
            thp_kib(tbm_huge.base), (tbm_huge.touched * PAGE) >> 20);
    if (tbm_4k.base)
        say("textbook-4k arena: %ld KiB of its touched %zu MiB in transparent huge pages\n",
            thp_kib(tbm_4k.base), (tbm_4k.touched * PAGE) >> 20);

    /* ---- targets */
    say("\nTargets (ratios from this run):\n");
    if (w1r[0].ran && w1r[1].ran) {
        double r = w1r[0].med / w1r[1].med;
        target(r <= 2.5, "W1 analloc within 2.5x of floor: %.1f / %.1f ns = %.2fx", w1r[0].med,
               w1r[1].med, r);
    } else
        target(-1, "W1 analloc within 2.5x of floor: not run");
    if (w1r[0].ran && w1r[2].ran) {
        double r = w1r[2].med / w1r[0].med;
        target(r >= 2.5, "W1 analloc at least 2.5x faster than textbook: %.1f / %.1f ns = %.2fx",
               w1r[2].med, w1r[0].med, r);
    } else
        target(-1, "W1 analloc at least 2.5x faster than textbook: not run");
    for (size_t i = 2; i < NTK; i++) {
        enum kind k = tput_kinds[i];
        if (k == K_TB4K || k == K_NOCACHE)
            continue; /* shown in the table; the target uses the huge-page textbook */
        if (w2r[0].ran && w2r[i].ran) {
            double r = w2r[i].med / w2r[0].med;
            target(r >= 2, "W2 analloc at least 2x faster than %s: %.1f / %.1f ns = %.2fx",
                   kind_name[k], w2r[i].med, w2r[0].med, r);
        } else
            target(-1, "W2 analloc at least 2x faster than %s: %s", kind_name[k],
                   available[k] ? "not run" : kind_note[k]);
    }
    if (lat[0].ran) {
        double r = lat[0].med_all[2] / lat[0].med_all[0];
        target(r <= 3, "W4 analloc p99.9 <= 3x p50: %.1f / %.1f ns = %.2fx", lat[0].med_all[2],
               lat[0].med_all[0], r);
        if (lat[NLK - 1].ran)
            say("      (analloc-nocache, the buddy system alone: %.1f / %.1f ns = %.2fx)\n",
                lat[NLK - 1].med_all[2], lat[NLK - 1].med_all[0],
                lat[NLK - 1].med_all[2] / lat[NLK - 1].med_all[0]);
        if (lat[1].ran)
            target(lat[0].med_all[2] < lat[1].med_all[2],
                   "W4 analloc p99.9 below the textbook's: %.1f < %.1f ns", lat[0].med_all[2],
                   lat[1].med_all[2]);
    } else
        target(-1, "W4 analloc p99.9 <= 3x p50: not run");
    for (int mixed = 0; mixed < 2; mixed++) {
        int s = mixed ? S_A2 : S_A1;
        double lo = INFINITY, hi = 0;
        unsigned at_lo = 0, at_hi = 0, n = 0;
        for (unsigned i = 0; i < NSIZES; i++)
            if (!isnan(w6.ir[s][i])) {
                n++;
                if (w6.ir[s][i] < lo) {
                    lo = w6.ir[s][i];
                    at_lo = W6_MIN_LOG2 + i;
                }
                if (w6.ir[s][i] > hi) {
                    hi = w6.ir[s][i];
                    at_hi = W6_MIN_LOG2 + i;
                }
            }
        double limit = mixed ? 120 : 100;
        if (n >= 2 && !isnan(w6.ir[s][0]) && !isnan(w6.ir[s][NSIZES - 1])) {
            target(hi <= limit,
                   "W6 %s instructions/pair at most %.0f from 2^%u to 2^%u pages: 2^%u %.1f, 2^%u "
                   "%.1f, the most %.1f (2^%u)",
                   mixed ? "W2" : "W1", limit, W6_MIN_LOG2, W6_MAX_LOG2, W6_MIN_LOG2, w6.ir[s][0],
                   W6_MAX_LOG2, w6.ir[s][NSIZES - 1], hi, at_hi);
            target(hi / lo <= 1.1,
                   "W6 %s instructions/pair within 1.1x from 2^%u to 2^%u pages: max %.1f (2^%u) / "
                   "min %.1f (2^%u) = %.2fx over %u sizes",
                   mixed ? "W2" : "W1", W6_MIN_LOG2, W6_MAX_LOG2, hi, at_hi, lo, at_lo, hi / lo, n);
        } else
            target(-1, "W6 %s instructions/pair: no callgrind results for 2^%u and 2^%u "
                   "(run sh bench/callgrind.sh)",
                   mixed ? "W2" : "W1", W6_MIN_LOG2, W6_MAX_LOG2);
    }
    {
        double worst = 0;
        unsigned at = 0, n = 0;
        size_t fixed = 0;
        for (unsigned i = 16 - W6_MIN_LOG2; i < NSIZES; i++)
            if (w6.ran[i]) {
                double b = 8.0 * (double)(w6.meta_bytes[i] - w6.meta_fixed[i]) /
                           (double)((size_t)1 << (W6_MIN_LOG2 + i));
                n++;
                fixed = w6.meta_fixed[i] > fixed ? w6.meta_fixed[i] : fixed;
                if (b > worst) {
                    worst = b;
                    at = W6_MIN_LOG2 + i;
                }
            }
        if (n)
            target(worst <= 3.2,
                   "metadata <= 3.2 bits/page from 2^16 pages up, beside the fixed tables: at most "
                   "%.3f (2^%u); fixed: at most %zu bytes (stats.meta_fixed_bytes)",
                   worst, at, fixed);
        else
            target(-1, "metadata <= 3.2 bits/page: W6 not run");
    }
    if (w7r[0].ran && w7r[1].ran) {
        target(w7r[0].failed[W7_HUGE] <= w7r[1].failed[W7_HUGE],
               "W7 analloc's order-9 requests fail no more often than the textbook's: %zu and %zu of "
               "%zu",
               w7r[0].failed[W7_HUGE], w7r[1].failed[W7_HUGE], w7_huge_requests);
        double r = median(w7r[1].ns, (size_t)w7r[1].ran) / median(w7r[0].ns, (size_t)w7r[0].ran);
        say("      (W7 throughput: analloc %.2fx the textbook's)\n", r);
    } else
        target(-1, "W7 order-9 failures: not run");
    say("targets: %d met, %d missed, %d skipped; correctness errors: %d\n", targets_met,
        targets_failed, targets_skipped, correctness_errors);

    char title[512];
    snprintf(title, sizeof title, "analloc benchmarks (%s): %s, %s", opt.quick ? "quick" : "full",
             model, COMPILER);
    write_svg(lat, lat_kinds, NLK, &w6, have_ir, title);
    say("wrote %s/results.txt, %s/results.csv, %s/latency.csv, %s/bench.svg in %.0f s\n", opt.out,
        opt.out, opt.out, opt.out, (now_ns() - start) / 1e9);
    fclose(csv_out);
    fclose(txt_out);
    free(vec);
    if (correctness_errors)
        return 1;
    return opt.strict && targets_failed ? 3 : 0;
}
