/*
 * threads.c - analloc under threads: throughput at 1, 2, 4 and 8 threads
 * (bench/README.md, "Threads", tells how to read it).
 *
 * usage: threads [--quick] [--out DIR] [--runs N] [--seed N] [--pairs N]
 *                [--threads LIST] [--only w1,w2,pc] [--alloc LIST] [--no-pin]
 *                [--no-dlopen] [--strict]
 *
 * Workloads on page-sized requests (4 KiB pages; one arena of 2^16 pages):
 *   W1  per-thread page churn: each thread keeps a small set of one-page
 *       blocks and frees one of them and allocates a page, over and over;
 *   W2  per-thread mixed orders: blocks of 1 to 64 pages (order k with
 *       probability 2^-(k+1)), each thread keeping about half of its share
 *       of the arena live, freeing a random live block, allocating another;
 *   PC  producer/consumer: threads in pairs, one allocates pages and passes
 *       them through a lock-free single-producer single-consumer ring to the
 *       other, which frees them (every block freed by another thread).
 * Allocators: analloc with one lock (lock hooks: a pthread mutex, or a
 * spinlock), analloc with a per-CPU store per thread (analloc_cpu_alloc and
 * analloc_cpu_free; the mutex hooks for the slow paths), and glibc, jemalloc
 * and mimalloc (dlopen'd, as bench.c does).  An operation is one allocation
 * or one free; every thread makes the same fixed number of them; throughput
 * is all threads' operations over the wall time from the first thread's
 * start to the last one's end, in millions per second; the median of 5 runs.
 * Table to DIR/threads.txt, every figure to DIR/threads.csv, PASS/FAIL lines
 * for the targets at the end.  DIR is build/bench unless told.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <gnu/libc-version.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
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

/*
 * THREADS_PERCPU: 1 builds the per-CPU comparator (analloc_cpu_attach,
 * analloc_cpu_alloc, analloc_cpu_free); 0 leaves it out, for a library
 * without the per-CPU stores: its row then says so and its targets SKIP.
 */
#ifndef THREADS_PERCPU
#define THREADS_PERCPU 1
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

#if defined(__x86_64__) || defined(__i386__)
#define cpu_relax() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define cpu_relax() __asm__ __volatile__("yield" ::: "memory")
#else
#define cpu_relax() ((void)0)
#endif

#define PAGE 4096u
#define LOG2P 16u                 /* the arena: 2^16 pages, 256 MiB */
#define ARENA_PAGES ((size_t)1 << LOG2P)
#define ARENA_BYTES ((size_t)PAGE << LOG2P)
#define MAX_ORDER_MIXED 6u        /* W2: 1 to 64 pages */
#define W1_LIVE 16u               /* W1: one-page blocks each thread keeps */
#define RING 256u                 /* PC: the ring's slots (a power of two) */
#define SOLO_BATCH (RING / 2u)    /* PC at one thread: blocks allocated, then freed */
#define MAX_THREADS 64
#define MAX_RUNS 15
#define ORDER_SHIFT 26u
#define SLOT_MASK ((1u << ORDER_SHIFT) - 1u)
#define CACHELINE 64

/* ---- output ----------------------------------------------------------------- */

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
    fputs("threads: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static void csv_row(const char *workload, const char *alloc, unsigned threads, const char *metric,
                    double value, const char *unit)
{
    if (csv_out)
        fprintf(csv_out, "%s,%s,%u,%s,%.6g,%s\n", workload, alloc, threads, metric, value, unit);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        die("out of memory (%zu bytes)", n);
    return p;
}

static void *xaligned(size_t n)
{
    void *p = NULL;
    if (posix_memalign(&p, CACHELINE, n ? n : 1) != 0)
        die("out of memory (%zu bytes)", n);
    memset(p, 0, n);
    return p;
}

/* ---- options ------------------------------------------------------------------ */

static struct {
    int quick;
    int runs;
    const char *out;
    uint64_t seed;
    size_t pairs; /* per thread: 2 x pairs operations */
    const char *only;
    const char *alloc; /* --alloc: a list of allocator names */
    int pin;
    int strict;
    int no_general;
    unsigned nthr;
    unsigned thr[8];
} opt = {0, 0, "build/bench", 0x5eed2024a110cULL, 0, NULL, NULL, 1, 0, 0, 4, {1, 2, 4, 8}};

static int in_list(const char *list, const char *w)
{
    if (list == NULL)
        return 1;
    size_t n = strlen(w);
    for (const char *p = list; (p = strstr(p, w)) != NULL; p += n)
        if ((p == list || p[-1] == ',') && (p[n] == '\0' || p[n] == ','))
            return 1;
    return 0;
}
static int want(const char *w) { return in_list(opt.only, w); }

/* ---- random numbers: splitmix64, one state per thread's plan -------------------- */

static uint64_t rnd(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static uint32_t rnd_below(uint64_t *s, uint64_t n) { return (uint32_t)(((rnd(s) >> 32) * n) >> 32); }

/* W2's orders: k with probability 2^-(k+1), the rest on the largest (as bench.c). */
static unsigned rnd_order(uint64_t *s)
{
    uint64_t r = ~rnd(s);
    unsigned k = r ? (unsigned)__builtin_ctzll(r) : MAX_ORDER_MIXED;
    return k < MAX_ORDER_MIXED ? k : MAX_ORDER_MIXED;
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
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

/* ---- the general allocators, loaded with dlopen (as bench.c) ----------------------- */

static void *(*je_mallocx)(size_t, int);
static void (*je_dallocx)(void *, int);
static void *(*mi_malloc_aligned_p)(size_t, size_t);
static void (*mi_free_p)(void *);

static int load_sym(void *h, const char *name, void *fp, size_t fp_size)
{
    void *sym = dlsym(h, name);
    if (sym == NULL || fp_size != sizeof sym)
        return -1;
    memcpy(fp, &sym, sizeof sym);
    return 0;
}

enum akind { A_MUTEX, A_SPIN, A_PERCPU, A_GLIBC, A_JEMALLOC, A_MIMALLOC, A_NONE, NA };
static const char *const aname[NA] = {"analloc-mutex", "analloc-spin", "analloc-percpu", "glibc",
                                      "jemalloc",      "mimalloc",     "none"};
static int available[NA];
static char anote[NA][256];

/*
 * Debian's libjemalloc.so.2 uses initial-exec TLS, more than glibc keeps
 * for dlopen: re-execute once with a larger reserve (as bench.c does).
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
        return;
    static char buf[2048];
    snprintf(buf, sizeof buf, "%s%s%s", t ? t : "", t ? ":" : "", tunable);
    setenv("GLIBC_TUNABLES", buf, 1);
    setenv("ANALLOC_BENCH_REEXEC", "1", 1);
    fflush(NULL);
    execv("/proc/self/exe", argv);
}

static void load_allocators(void)
{
    available[A_MUTEX] = available[A_SPIN] = available[A_GLIBC] = available[A_NONE] = 1;
    snprintf(anote[A_NONE], sizeof anote[A_NONE],
             "no allocator: alloc returns a constant pointer, free does nothing (the harness's own "
             "cost; in PC, the ring's)");
    snprintf(anote[A_MUTEX], sizeof anote[A_MUTEX],
             "one allocator, analloc_alloc/analloc_free, lock hooks: a pthread mutex");
    snprintf(anote[A_SPIN], sizeof anote[A_SPIN],
             "the same, lock hooks: a test-and-test-and-set spinlock (pause while held)");
#if THREADS_PERCPU
    available[A_PERCPU] = 1;
    snprintf(anote[A_PERCPU], sizeof anote[A_PERCPU],
             "the same allocator, a struct analloc_cpu per thread (analloc_cpu_attach), "
             "analloc_cpu_alloc/analloc_cpu_free; the mutex hooks for the slow paths");
#else
    snprintf(anote[A_PERCPU], sizeof anote[A_PERCPU],
             "SKIPPED: built with THREADS_PERCPU 0 (a library without the per-CPU stores)");
#endif
    snprintf(anote[A_GLIBC], sizeof anote[A_GLIBC], "glibc %s, posix_memalign(4096)/free",
             gnu_get_libc_version());
#if defined(__SANITIZE_ADDRESS__)
    opt.no_general = 1;
#endif
    if (opt.no_general) {
        snprintf(anote[A_JEMALLOC], sizeof anote[A_JEMALLOC], "SKIPPED: --no-dlopen");
        snprintf(anote[A_MIMALLOC], sizeof anote[A_MIMALLOC], "SKIPPED: --no-dlopen");
        return;
    }
    void *h = dlopen("libjemalloc.so.2", RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
    if (h && load_sym(h, "mallocx", &je_mallocx, sizeof je_mallocx) == 0 &&
        load_sym(h, "dallocx", &je_dallocx, sizeof je_dallocx) == 0) {
        available[A_JEMALLOC] = 1;
        int (*mallctl)(const char *, void *, size_t *, void *, size_t);
        const char *ver = "?";
        size_t len = sizeof ver;
        if (load_sym(h, "mallctl", &mallctl, sizeof mallctl) == 0)
            (void)mallctl("version", &ver, &len, NULL, 0);
        snprintf(anote[A_JEMALLOC], sizeof anote[A_JEMALLOC],
                 "jemalloc %.20s, mallocx(MALLOCX_LG_ALIGN(12))/dallocx, dlopen'd%s", ver,
                 reexec_note);
    } else {
        snprintf(anote[A_JEMALLOC], sizeof anote[A_JEMALLOC],
                 "SKIPPED: %.100s (Debian: apt-get install libjemalloc2)",
                 h ? "mallocx not found" : dlerror());
    }
    h = dlopen("libmimalloc.so.2", RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
    if (h && load_sym(h, "mi_malloc_aligned", &mi_malloc_aligned_p, sizeof mi_malloc_aligned_p) == 0 &&
        load_sym(h, "mi_free", &mi_free_p, sizeof mi_free_p) == 0) {
        available[A_MIMALLOC] = 1;
        int (*mi_version)(void);
        int v = 0;
        if (load_sym(h, "mi_version", &mi_version, sizeof mi_version) == 0)
            v = mi_version();
        snprintf(anote[A_MIMALLOC], sizeof anote[A_MIMALLOC],
                 "mimalloc %d.%d.%d, mi_malloc_aligned(4096)/mi_free, dlopen'd", v / 100,
                 v / 10 % 10, v % 10);
    } else {
        snprintf(anote[A_MIMALLOC], sizeof anote[A_MIMALLOC],
                 "SKIPPED: %.100s (Debian: apt-get install libmimalloc2.0)",
                 h ? "mi_malloc_aligned not found" : dlerror());
    }
}

/* ---- lock hooks --------------------------------------------------------------------- */

/* Lock sections entered by this thread (the hooks count them). */
static _Thread_local uint64_t tl_locks;

struct mutex_box {
    _Alignas(CACHELINE) pthread_mutex_t m;
};
struct spin_box {
    _Alignas(CACHELINE) atomic_uint v;
    char pad[CACHELINE - sizeof(atomic_uint)];
};
static struct mutex_box the_mutex = {PTHREAD_MUTEX_INITIALIZER};
static struct spin_box the_spin;

static void mutex_lock(void *ctx)
{
    pthread_mutex_lock(&((struct mutex_box *)ctx)->m);
    tl_locks++;
}
static void mutex_unlock(void *ctx) { pthread_mutex_unlock(&((struct mutex_box *)ctx)->m); }

/* analloc_set_relax's hook for analloc-percpu: give the CPU away. */
static void relax_yield(void *ctx)
{
    (void)ctx;
    sched_yield();
}

/* A kernel's spinlock without the kernel: nothing stops the scheduler from
 * preempting the holder (a kernel disables preemption). */
static void spin_lock(void *ctx)
{
    atomic_uint *v = &((struct spin_box *)ctx)->v;
    for (;;) {
        if (atomic_exchange_explicit(v, 1u, memory_order_acquire) == 0u)
            break;
        while (atomic_load_explicit(v, memory_order_relaxed) != 0u)
            cpu_relax();
    }
    tl_locks++;
}
static void spin_unlock(void *ctx)
{
    atomic_store_explicit(&((struct spin_box *)ctx)->v, 0u, memory_order_release);
}

/* ---- plans: each thread's operations, generated up front ------------------------------ */

enum wkind { W_CHURN, W_MIXED, W_PC, NW };
static const char *const wname[NW] = {"W1", "W2", "PC"};
static const char *const wlong[NW] = {"W1 page churn", "W2 mixed orders 1-64 pages",
                                      "PC producer/consumer"};

/*
 * W1 and W2: fill nfill blocks (order fill_order[i], or one page), free the
 * blocks kill[0..nkill), keep the survivors in slots 0..nslots, then run ops:
 * free the block in a slot (if any), allocate a new one into it.  PC uses
 * none of it.  The same plan serves every allocator and every run.
 */
struct plan {
    size_t nfill;
    uint8_t *fill_order; /* NULL: one page each */
    size_t nkill;
    uint32_t *kill;
    size_t nslots;
    uint32_t *survivor;
    size_t nops; /* warm + timed */
    uint32_t *ops;
    size_t live_pages;
};

static uint64_t plan_seed(enum wkind w, unsigned nthreads, unsigned t)
{
    uint64_t s = opt.seed ^ ((uint64_t)w << 56) ^ ((uint64_t)nthreads << 40) ^ ((uint64_t)t << 24);
    (void)rnd(&s); /* decorrelate neighbouring seeds */
    return s;
}

static void plan_make(struct plan *p, enum wkind w, unsigned nthreads, unsigned t, size_t nops)
{
    memset(p, 0, sizeof *p);
    if (w == W_PC)
        return;
    uint64_t s = plan_seed(w, nthreads, t);
    size_t share = ARENA_PAGES / nthreads, requested = 0;
    if (w == W_CHURN) {
        p->nfill = W1_LIVE;
        requested = W1_LIVE;
    } else {
        p->fill_order = xmalloc(share);
        while (requested < share / 4 * 3) {
            unsigned k = rnd_order(&s);
            p->fill_order[p->nfill++] = (uint8_t)k;
            requested += (size_t)1 << k;
        }
    }
    p->kill = xmalloc(p->nfill * sizeof *p->kill);
    size_t live = requested;
    if (w == W_MIXED) {
        for (size_t i = 0; i < p->nfill; i++)
            p->kill[i] = (uint32_t)i;
        for (size_t i = p->nfill; i > 1; i--) {
            size_t j = rnd_below(&s, i);
            uint32_t x = p->kill[i - 1];
            p->kill[i - 1] = p->kill[j];
            p->kill[j] = x;
        }
        while (live > share / 2)
            live -= (size_t)1 << p->fill_order[p->kill[p->nkill++]];
    }
    p->live_pages = live;
    uint8_t *dead = calloc(p->nfill, 1);
    if (dead == NULL)
        die("out of memory");
    for (size_t i = 0; i < p->nkill; i++)
        dead[p->kill[i]] = 1;
    p->survivor = xmalloc((p->nfill - p->nkill) * sizeof *p->survivor);
    for (size_t i = 0; i < p->nfill; i++)
        if (!dead[i])
            p->survivor[p->nslots++] = (uint32_t)i;
    free(dead);
    p->nops = nops;
    p->ops = xmalloc(nops * sizeof *p->ops);
    for (size_t i = 0; i < nops; i++) {
        uint32_t v = rnd_below(&s, p->nslots);
        unsigned k = w == W_MIXED ? rnd_order(&s) : 0;
        p->ops[i] = v | (uint32_t)k << ORDER_SHIFT;
    }
}

static void plan_free(struct plan *p)
{
    free(p->fill_order);
    free(p->kill);
    free(p->survivor);
    free(p->ops);
    memset(p, 0, sizeof *p);
}

/* ---- the SPSC ring of PC -------------------------------------------------------------- */

struct ring {
    _Alignas(CACHELINE) atomic_size_t head; /* written by the producer */
    _Alignas(CACHELINE) atomic_size_t tail; /* written by the consumer */
    _Alignas(CACHELINE) void *slot[RING];
};

/* Wait politely: spin a little, then give the CPU away (the peer may be
 * waiting for it when threads outnumber CPUs). */
static void backoff(unsigned *spins)
{
    if (++*spins < 64)
        cpu_relax();
    else
        sched_yield();
}

static inline void ring_push(struct ring *r, size_t *head, size_t *tail_seen, void *p)
{
    unsigned spins = 0;
    while (*head - *tail_seen == RING) {
        *tail_seen = atomic_load_explicit(&r->tail, memory_order_acquire);
        if (*head - *tail_seen == RING)
            backoff(&spins);
    }
    r->slot[*head & (RING - 1u)] = p;
    atomic_store_explicit(&r->head, ++*head, memory_order_release);
}

static inline void *ring_pop(struct ring *r, size_t *tail, size_t *head_seen)
{
    unsigned spins = 0;
    while (*head_seen == *tail) {
        *head_seen = atomic_load_explicit(&r->head, memory_order_acquire);
        if (*head_seen == *tail)
            backoff(&spins);
    }
    void *p = r->slot[*tail & (RING - 1u)];
    atomic_store_explicit(&r->tail, ++*tail, memory_order_release);
    return p;
}

/* ---- one run ------------------------------------------------------------------------- */

enum role { R_CHURN, R_PRODUCER, R_CONSUMER, R_SOLO };

struct run;

struct worker {
    _Alignas(CACHELINE) unsigned id;
    enum role role;
    struct run *run;
    const struct plan *plan;
    struct ring *ring;   /* PC: the pair's ring */
    struct analloc *a;
    struct analloc_cpu *cpu;
    void **slot;
    size_t warm, n;      /* operations (W1, W2: pairs; PC: blocks) before and after the barrier */
    double t0, t1;
    double cpu0, cpu1;   /* the thread's CPU time, ns */
    uint64_t locks;      /* lock sections during the timed part */
    size_t failed, fill_failed;
    int err;
};

struct run {
    enum akind kind;
    enum wkind w;
    unsigned nthreads;
    pthread_barrier_t barrier;
    struct analloc a;
    struct worker *wk;
};

static unsigned char *arena; /* PROT_NONE: analloc never touches managed memory */
static void *meta;
static size_t meta_need;
static int ncpu;

/* The operations, inlined into the drivers below.  free returns nonzero on an
 * error the allocator reports (only analloc reports any). */
static inline void *op_alloc_analloc(struct worker *w, unsigned k)
{
    return analloc_alloc(w->a, (size_t)PAGE << k);
}
static inline int op_free_analloc(struct worker *w, void *p) { return analloc_free(w->a, p); }

#if THREADS_PERCPU
static inline void *op_alloc_percpu(struct worker *w, unsigned k)
{
    return analloc_cpu_alloc(w->cpu, (size_t)PAGE << k);
}
static inline int op_free_percpu(struct worker *w, void *p) { return analloc_cpu_free(w->cpu, p); }
#endif

static inline void *op_alloc_glibc(struct worker *w, unsigned k)
{
    (void)w;
    void *p;
    return posix_memalign(&p, PAGE, (size_t)PAGE << k) == 0 ? p : NULL;
}
static inline int op_free_glibc(struct worker *w, void *p)
{
    (void)w;
    free(p);
    return 0;
}

static inline void *op_alloc_jemalloc(struct worker *w, unsigned k)
{
    (void)w;
    return je_mallocx((size_t)PAGE << k, 12); /* MALLOCX_LG_ALIGN(12) */
}
static inline int op_free_jemalloc(struct worker *w, void *p)
{
    (void)w;
    je_dallocx(p, 0);
    return 0;
}

static inline void *op_alloc_mimalloc(struct worker *w, unsigned k)
{
    (void)w;
    return mi_malloc_aligned_p((size_t)PAGE << k, PAGE);
}
static inline int op_free_mimalloc(struct worker *w, void *p)
{
    (void)w;
    mi_free_p(p);
    return 0;
}

static inline void *op_alloc_none(struct worker *w, unsigned k)
{
    (void)k;
    return w;
}
static inline int op_free_none(struct worker *w, void *p)
{
    (void)w;
    (void)p;
    return 0;
}

static double thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void start_clock(struct worker *w)
{
    pthread_barrier_wait(&w->run->barrier);
    w->locks = tl_locks;
    w->t0 = now_ns();
    w->cpu0 = thread_cpu_ns();
}

static void stop_clock(struct worker *w)
{
    w->cpu1 = thread_cpu_ns();
    w->t1 = now_ns();
    w->locks = tl_locks - w->locks;
    pthread_barrier_wait(&w->run->barrier); /* nobody cleans up while others are timed */
}

/*
 * One worker's whole life for allocator X: prepare (untimed), warm up
 * (untimed), the barrier, the timed operations, the barrier, then give
 * everything back (untimed).
 */
#define DEFINE_WORKER(X)                                                                       \
    static size_t X##_steps(struct worker *w, const uint32_t *ops, size_t n)                    \
    {                                                                                          \
        size_t failed = 0;                                                                     \
        int e = 0;                                                                             \
        void **slot = w->slot;                                                                 \
        for (size_t i = 0; i < n; i++) {                                                       \
            uint32_t op = ops[i];                                                              \
            void **s = &slot[op & SLOT_MASK];                                                  \
            if (*s != NULL)                                                                    \
                e |= op_free_##X(w, *s);                                                       \
            void *q = op_alloc_##X(w, op >> ORDER_SHIFT);                                      \
            failed += q == NULL;                                                               \
            *s = q;                                                                            \
        }                                                                                      \
        w->err |= e;                                                                           \
        return failed;                                                                         \
    }                                                                                          \
    static size_t X##_produce(struct worker *w, size_t n, size_t *head, size_t *tail_seen)     \
    {                                                                                          \
        size_t failed = 0;                                                                     \
        for (size_t i = 0; i < n; i++) {                                                       \
            void *p = op_alloc_##X(w, 0);                                                      \
            failed += p == NULL;                                                               \
            ring_push(w->ring, head, tail_seen, p);                                            \
        }                                                                                      \
        return failed;                                                                         \
    }                                                                                          \
    static void X##_consume(struct worker *w, size_t n, size_t *tail, size_t *head_seen)       \
    {                                                                                          \
        int e = 0;                                                                             \
        for (size_t i = 0; i < n; i++) {                                                       \
            void *p = ring_pop(w->ring, tail, head_seen);                                      \
            if (p != NULL)                                                                     \
                e |= op_free_##X(w, p);                                                        \
        }                                                                                      \
        w->err |= e;                                                                           \
    }                                                                                          \
    /* one thread: SOLO_BATCH pages allocated, then freed in the same order */                 \
    static size_t X##_solo(struct worker *w, size_t n)                                          \
    {                                                                                          \
        size_t failed = 0;                                                                     \
        int e = 0;                                                                             \
        void **b = w->slot;                                                                    \
        for (size_t done = 0; done < n;) {                                                     \
            size_t m = n - done < SOLO_BATCH ? n - done : SOLO_BATCH;                          \
            for (size_t i = 0; i < m; i++) {                                                   \
                b[i] = op_alloc_##X(w, 0);                                                     \
                failed += b[i] == NULL;                                                        \
            }                                                                                  \
            for (size_t i = 0; i < m; i++)                                                     \
                if (b[i] != NULL)                                                              \
                    e |= op_free_##X(w, b[i]);                                                 \
            done += m;                                                                         \
        }                                                                                      \
        w->err |= e;                                                                           \
        return failed;                                                                         \
    }                                                                                          \
    static void X##_life(struct worker *w)                                                     \
    {                                                                                          \
        const struct plan *p = w->plan;                                                        \
        size_t head = 0, seen = 0;                                                             \
        switch (w->role) {                                                                     \
        case R_CHURN: {                                                                        \
            int e = 0;                                                                         \
            for (size_t i = 0; i < p->nfill; i++) {                                            \
                w->slot[i] = op_alloc_##X(w, p->fill_order ? p->fill_order[i] : 0);            \
                w->fill_failed += w->slot[i] == NULL;                                          \
            }                                                                                  \
            for (size_t i = 0; i < p->nkill; i++) {                                            \
                void *q = w->slot[p->kill[i]];                                                 \
                if (q != NULL)                                                                 \
                    e |= op_free_##X(w, q);                                                    \
                w->slot[p->kill[i]] = NULL;                                                    \
            }                                                                                  \
            for (size_t s = 0; s < p->nslots; s++)                                             \
                w->slot[s] = w->slot[p->survivor[s]];                                          \
            w->err |= e;                                                                       \
            X##_steps(w, p->ops, w->warm);                                                     \
            start_clock(w);                                                                    \
            w->failed = X##_steps(w, p->ops + w->warm, w->n);                                  \
            stop_clock(w);                                                                     \
            for (size_t s = 0; s < p->nslots; s++)                                             \
                if (w->slot[s] != NULL) {                                                      \
                    e |= op_free_##X(w, w->slot[s]);                                           \
                    w->slot[s] = NULL;                                                         \
                }                                                                              \
            w->err |= e;                                                                       \
            break;                                                                             \
        }                                                                                      \
        case R_PRODUCER:                                                                       \
            X##_produce(w, w->warm, &head, &seen);                                             \
            start_clock(w);                                                                    \
            w->failed = X##_produce(w, w->n, &head, &seen);                                    \
            stop_clock(w);                                                                     \
            break;                                                                             \
        case R_CONSUMER:                                                                       \
            X##_consume(w, w->warm, &head, &seen);                                             \
            start_clock(w);                                                                    \
            X##_consume(w, w->n, &head, &seen);                                                \
            stop_clock(w);                                                                     \
            break;                                                                             \
        case R_SOLO:                                                                           \
            X##_solo(w, w->warm);                                                              \
            start_clock(w);                                                                    \
            w->failed = X##_solo(w, w->n);                                                     \
            stop_clock(w);                                                                     \
            break;                                                                             \
        }                                                                                      \
    }

DEFINE_WORKER(analloc)
#if THREADS_PERCPU
DEFINE_WORKER(percpu)
#endif
DEFINE_WORKER(glibc)
DEFINE_WORKER(jemalloc)
DEFINE_WORKER(mimalloc)
DEFINE_WORKER(none)

static void (*const life[NA])(struct worker *) = {
    [A_MUTEX] = analloc_life,     [A_SPIN] = analloc_life,
#if THREADS_PERCPU
    [A_PERCPU] = percpu_life,
#endif
    [A_GLIBC] = glibc_life,       [A_JEMALLOC] = jemalloc_life, [A_MIMALLOC] = mimalloc_life,
    [A_NONE] = none_life,
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    if (opt.pin && ncpu > 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET((int)(w->id % (unsigned)ncpu), &set);
        (void)pthread_setaffinity_np(pthread_self(), sizeof set, &set);
    }
    life[w->run->kind](w);
    return NULL;
}

struct cell {
    int ran;
    double mops[MAX_RUNS];
    double med;
    size_t failed, fill_failed;
    double locks_per_op; /* analloc: lock sections per operation, last run */
    double busy[MAX_RUNS]; /* the threads' CPU time over wall x min(threads, CPUs) */
};

static int correctness_errors;

static void error_at(const struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void error_at(const struct run *r, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    say("ERROR: %s, %s, %u threads: %s\n", wname[r->w], aname[r->kind], r->nthreads, buf);
    correctness_errors++;
}

static int is_analloc(enum akind k) { return k == A_MUTEX || k == A_SPIN || k == A_PERCPU; }

static void run_one(enum wkind wk, enum akind kind, unsigned nthreads, const struct plan *plans,
                    size_t warm, size_t pairs, int rep, struct cell *c)
{
    static struct run r; /* big: the allocator's struct inside */
    memset(&r, 0, sizeof r);
    r.kind = kind;
    r.w = wk;
    r.nthreads = nthreads;
    r.wk = xaligned(nthreads * sizeof *r.wk);
    struct ring *rings = NULL;
    struct analloc_cpu *cpus = NULL;
    if (is_analloc(kind)) {
        int e = analloc_init(&r.a, arena, ARENA_BYTES, PAGE, meta, meta_need);
        if (e != 0)
            die("analloc_init: %s", analloc_strerror(e));
        if (kind == A_SPIN) {
            atomic_store(&the_spin.v, 0u);
            e = analloc_set_lock(&r.a, spin_lock, spin_unlock, &the_spin);
        } else {
            e = analloc_set_lock(&r.a, mutex_lock, mutex_unlock, &the_mutex);
        }
        if (e != 0)
            die("analloc_set_lock: %s", analloc_strerror(e));
    }
#if THREADS_PERCPU
    if (kind == A_PERCPU) {
        /* threads share CPUs: a thread that waits for a store's or a
         * bucket's spinlock yields now and then (analloc_set_relax) */
        int er = analloc_set_relax(&r.a, relax_yield, NULL);
        if (er != 0)
            die("analloc_set_relax: %s", analloc_strerror(er));
        /* one store per thread, each on cache lines of its own */
        size_t stride = (sizeof(struct analloc_cpu) + CACHELINE - 1) / CACHELINE * CACHELINE;
        cpus = xaligned(nthreads * stride);
        for (unsigned t = 0; t < nthreads; t++) {
            struct analloc_cpu *cp = (struct analloc_cpu *)((char *)cpus + t * stride);
            int e = analloc_cpu_attach(&r.a, cp);
            if (e != 0)
                die("analloc_cpu_attach: %s", analloc_strerror(e));
            r.wk[t].cpu = cp;
        }
    }
#endif
    if (wk == W_PC && nthreads > 1)
        rings = xaligned(nthreads / 2 * sizeof *rings);
    if (pthread_barrier_init(&r.barrier, NULL, nthreads) != 0)
        die("pthread_barrier_init");
    for (unsigned t = 0; t < nthreads; t++) {
        struct worker *w = &r.wk[t];
        w->id = t;
        w->run = &r;
        w->a = &r.a;
        w->plan = &plans[t];
        if (wk != W_PC) {
            w->role = R_CHURN;
            w->warm = warm;
            w->n = pairs;
            w->slot = calloc(plans[t].nfill, sizeof *w->slot);
        } else {
            /* every thread makes 2 x pairs operations, as in W1 and W2 */
            w->role = nthreads == 1 ? R_SOLO : t % 2 ? R_CONSUMER : R_PRODUCER;
            w->warm = nthreads == 1 ? warm : 2 * warm;
            w->n = nthreads == 1 ? pairs : 2 * pairs;
            w->ring = nthreads == 1 ? NULL : &rings[t / 2];
            w->slot = calloc(SOLO_BATCH, sizeof *w->slot);
        }
        if (w->slot == NULL)
            die("out of memory");
    }
    pthread_t tid[MAX_THREADS];
    for (unsigned t = 0; t < nthreads; t++)
        if (pthread_create(&tid[t], NULL, worker_main, &r.wk[t]) != 0)
            die("pthread_create");
    for (unsigned t = 0; t < nthreads; t++)
        pthread_join(tid[t], NULL);

    double t0 = r.wk[0].t0, t1 = r.wk[0].t1;
    size_t failed = 0, fill_failed = 0;
    uint64_t locks = 0;
    double cpu = 0;
    for (unsigned t = 0; t < nthreads; t++) {
        struct worker *w = &r.wk[t];
        cpu += w->cpu1 - w->cpu0;
        t0 = w->t0 < t0 ? w->t0 : t0;
        t1 = w->t1 > t1 ? w->t1 : t1;
        failed += w->failed;
        fill_failed += w->fill_failed;
        locks += w->locks;
        if (w->err)
            error_at(&r, "thread %u: a free reported an error", t);
        free(w->slot);
    }
    double ops = 2.0 * (double)pairs * nthreads;
    c->mops[rep] = ops / (t1 - t0) * 1e3;
    c->ran = rep + 1;
    c->failed = failed;
    c->fill_failed = fill_failed;
    c->locks_per_op = (double)locks / ops;
    c->busy[rep] = cpu / ((t1 - t0) * (nthreads < (unsigned)ncpu ? nthreads : (unsigned)ncpu));

    if (is_analloc(kind)) {
#if THREADS_PERCPU
        for (unsigned t = 0; cpus && t < nthreads; t++)
            if (analloc_cpu_detach(r.wk[t].cpu) != 0)
                error_at(&r, "analloc_cpu_detach failed");
#endif
        int e = analloc_check(&r.a);
        if (e != 0)
            error_at(&r, "analloc_check: %s", analloc_strerror(e));
        if (analloc_free_bytes(&r.a) != r.a.managed)
            error_at(&r, "%zu of %zu pages free after every block was freed",
                     analloc_free_bytes(&r.a) / PAGE, (size_t)r.a.managed / PAGE);
    }
    pthread_barrier_destroy(&r.barrier);
    free(cpus);
    free(rings);
    free(r.wk);
}

/* ---- targets -------------------------------------------------------------------------- */

static int targets_met, targets_failed, targets_skipped;

__attribute__((format(printf, 2, 3))) static void target(int state, const char *fmt, ...)
{
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

/* ---- the machine ------------------------------------------------------------------------ */

static void cpu_model(char *buf, size_t n)
{
    snprintf(buf, n, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f == NULL)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) == 0) {
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

static void load_avg(char *buf, size_t n)
{
    snprintf(buf, n, "load average unknown");
    FILE *f = fopen("/proc/loadavg", "r");
    if (f == NULL)
        return;
    double l1, l5, l15;
    if (fscanf(f, "%lf %lf %lf", &l1, &l5, &l15) == 3)
        snprintf(buf, n, "load average %.2f %.2f %.2f", l1, l5, l15);
    fclose(f);
}

static void usage(void)
{
    fprintf(stderr,
            "usage: threads [--quick] [--out DIR] [--runs N] [--seed N] [--pairs N]\n"
            "               [--threads LIST] [--only w1,w2,pc] [--alloc LIST] [--no-pin]\n"
            "               [--no-dlopen] [--strict]\n");
    exit(2);
}

static void parse_threads(const char *s)
{
    opt.nthr = 0;
    for (char *end; *s; s = *end ? end + 1 : end) {
        long v = strtol(s, &end, 10);
        if (end == s || v < 1 || v > MAX_THREADS || (v > 1 && v % 2) || opt.nthr == 8)
            die("--threads: a list of 1 and even counts up to %d, at most 8 of them", MAX_THREADS);
        opt.thr[opt.nthr++] = (unsigned)v;
    }
}

static int thr_index(unsigned n)
{
    for (unsigned i = 0; i < opt.nthr; i++)
        if (opt.thr[i] == n)
            return (int)i;
    return -1;
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
            opt.pin = 0;
        else if (strcmp(a, "--no-dlopen") == 0)
            opt.no_general = 1;
        else if (i + 1 < argc && strcmp(a, "--out") == 0)
            opt.out = argv[++i];
        else if (i + 1 < argc && strcmp(a, "--runs") == 0)
            opt.runs = atoi(argv[++i]);
        else if (i + 1 < argc && strcmp(a, "--seed") == 0)
            opt.seed = strtoull(argv[++i], NULL, 0);
        else if (i + 1 < argc && strcmp(a, "--pairs") == 0)
            opt.pairs = strtoull(argv[++i], NULL, 0);
        else if (i + 1 < argc && strcmp(a, "--threads") == 0)
            parse_threads(argv[++i]);
        else if (i + 1 < argc && strcmp(a, "--only") == 0)
            opt.only = argv[++i];
        else if (i + 1 < argc && strcmp(a, "--alloc") == 0)
            opt.alloc = argv[++i];
        else
            usage();
    }
    if (opt.runs == 0)
        opt.runs = opt.quick ? 3 : 5;
    if (opt.runs < 1 || opt.runs > MAX_RUNS)
        usage();
    reexec_for_static_tls(argv);
    double start = now_ns();
    const size_t pairs = opt.pairs ? opt.pairs : opt.quick ? 10000 : 200000; /* per thread */
    const size_t warm = pairs / 10;

    char path[4096];
    mkdir(opt.out, 0777);
    snprintf(path, sizeof path, "%s/threads.txt", opt.out);
    txt_out = fopen(path, "w");
    snprintf(path, sizeof path, "%s/threads.csv", opt.out);
    csv_out = fopen(path, "w");
    if (txt_out == NULL || csv_out == NULL)
        die("cannot write into %s (%s)", opt.out, strerror(errno));
    fprintf(csv_out, "workload,allocator,threads,metric,value,unit\n");

    ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
    load_allocators();
    for (int k = 0; k < NA; k++)
        if (available[k] && !in_list(opt.alloc, aname[k])) {
            available[k] = 0;
            snprintf(anote[k], sizeof anote[k], "not run (--alloc)");
        }

    /* the arena: mapped once, PROT_NONE, aligned to its size as a kernel's
     * zone would be; analloc reads and writes none of it (any access would
     * fault), so the mapping costs no memory */
    void *m = mmap(NULL, 2 * ARENA_BYTES, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    if (m == MAP_FAILED)
        die("mmap of the arena: %s", strerror(errno));
    arena = (unsigned char *)(((uintptr_t)m + ARENA_BYTES - 1u) & ~(uintptr_t)(ARENA_BYTES - 1u));
    meta_need = analloc_meta_size(ARENA_BYTES, PAGE);
    meta = xmalloc(meta_need);

    char model[256];
    struct utsname un;
    uname(&un);
    cpu_model(model, sizeof model);
    say("analloc threads benchmark (%s run: %d runs per figure, the median quoted)\n",
        opt.quick ? "QUICK" : "full", opt.runs);
    say("machine:   %s; %d online CPUs; %s %s %s\n", model, ncpu, un.sysname, un.release,
        un.machine);
    say("threads:   %s", "");
    for (unsigned i = 0; i < opt.nthr; i++)
        say("%s%u", i ? ", " : "", opt.thr[i]);
    say(" (%s)\n", opt.pin ? "thread i pinned to CPU i mod the online CPUs" : "not pinned");
    say("compiler:  %s\n", COMPILER);
    say("flags:     bench %s\n", BENCH_CFLAGS);
    say("           library %s\n", BENCH_LIB_CFLAGS);
    say("seed:      %#llx (splitmix64, one state per thread and workload; the same sequence for "
        "every allocator)\n",
        (unsigned long long)opt.seed);
    char load[128];
    load_avg(load, sizeof load);
    say("load:      %s before the run (the machine's other work competes for the CPUs)\n", load);
    say("arena:     2^%u pages of %u bytes (%zu MiB) at %p, mmap'd once, PROT_NONE\n", LOG2P,
        PAGE, ARENA_BYTES >> 20, (void *)arena);
    say("work:      %zu free+alloc pairs (%zu operations) per thread, timed, after %zu untimed; an "
        "operation is one allocation or one free\n",
        pairs, 2 * pairs, warm);
    say("allocators:\n");
    for (int k = 0; k < NA; k++)
        say("  %-15s %s\n", aname[k], anote[k]);
    say("workloads:\n");
    say("  W1  each thread: %u one-page blocks, then free a random one of them and allocate a "
        "page\n",
        W1_LIVE);
    say("  W2  each thread: blocks of 1-64 pages (order k with probability 2^-(k+1)) to 3/4 of "
        "its share of the arena, random ones freed to 1/2, then free a random block and allocate "
        "a random order\n");
    say("  PC  threads in pairs: the even one allocates pages into a lock-free SPSC ring of %u, "
        "the odd one frees them; at 1 thread the thread allocates %u pages, then frees them\n",
        RING, SOLO_BATCH);

    struct cell cells[NW][NA][8];
    memset(cells, 0, sizeof cells);
    for (int wk = 0; wk < NW; wk++) {
        static const char *const flag[NW] = {"w1", "w2", "pc"};
        if (!want(flag[wk]))
            continue;
        for (unsigned ti = 0; ti < opt.nthr; ti++) {
            unsigned nt = opt.thr[ti];
            struct plan *plans = xmalloc(nt * sizeof *plans);
            for (unsigned t = 0; t < nt; t++)
                plan_make(&plans[t], (enum wkind)wk, nt, t, warm + pairs);
            double c0 = now_ns();
            for (int rep = 0; rep < opt.runs; rep++)
                for (int k = 0; k < NA; k++)
                    if (available[k])
                        run_one((enum wkind)wk, (enum akind)k, nt, plans, warm, pairs, rep,
                                &cells[wk][k][ti]);
            say("  ... %s at %u thread%s: %.1f s\n", wname[wk], nt, nt > 1 ? "s" : "",
                (now_ns() - c0) / 1e9);
            for (unsigned t = 0; t < nt; t++)
                plan_free(&plans[t]);
            free(plans);
        }
    }

    /* ---- the table */
    say("\nthroughput, million operations per second (median of %d runs; min-max in the CSV)\n",
        opt.runs);
    say("%-28s %-15s", "workload", "allocator");
    for (unsigned i = 0; i < opt.nthr; i++)
        say(" %7u thr", opt.thr[i]);
    say("  %9s\n", "lock/op");
    for (int wk = 0; wk < NW; wk++) {
        int first = 1;
        for (int k = 0; k < NA; k++) {
            if (!cells[wk][k][0].ran)
                continue;
            say("%-28s %-15s", first ? wlong[wk] : "", aname[k]);
            first = 0;
            double lpo = 0;
            for (unsigned i = 0; i < opt.nthr; i++) {
                struct cell *c = &cells[wk][k][i];
                c->med = median(c->mops, (size_t)c->ran);
                say(" %11.2f", c->med);
                csv_row(wname[wk], aname[k], opt.thr[i], "mops", c->med, "Mops/s");
                csv_row(wname[wk], aname[k], opt.thr[i], "mops_min", vmin(c->mops, (size_t)c->ran),
                        "Mops/s");
                csv_row(wname[wk], aname[k], opt.thr[i], "mops_max", vmax(c->mops, (size_t)c->ran),
                        "Mops/s");
                csv_row(wname[wk], aname[k], opt.thr[i], "failed", (double)c->failed, "count");
                if (is_analloc((enum akind)k)) {
                    csv_row(wname[wk], aname[k], opt.thr[i], "locks_per_op", c->locks_per_op,
                            "ratio");
                    lpo = c->locks_per_op > lpo ? c->locks_per_op : lpo;
                }
            }
            if (is_analloc((enum akind)k))
                say("  %9.4f\n", lpo);
            else
                say("  %9s\n", "-");
        }
    }
    for (int k = 0; k < NA; k++)
        if (!available[k])
            say("%-28s %-15s %s\n", "", aname[k], anote[k]);
    say("(lock/op: lock sections per operation, the most over the thread counts, counted by the "
        "lock hooks)\n");

    /* the CPUs the threads had */
    say("\nCPU share: the threads' CPU time over wall time x min(threads, %d CPUs), median of the "
        "runs\n(below 100%%: threads slept, on a mutex or yielding, or other processes had the CPUs)\n",
        ncpu);
    say("%-4s %-15s", "", "allocator");
    for (unsigned i = 0; i < opt.nthr; i++)
        say(" %7u thr", opt.thr[i]);
    say("\n");
    for (int wk = 0; wk < NW; wk++)
        for (int k = 0; k < NA; k++) {
            if (!cells[wk][k][0].ran)
                continue;
            say("%-4s %-15s", wname[wk], aname[k]);
            for (unsigned i = 0; i < opt.nthr; i++) {
                struct cell *c = &cells[wk][k][i];
                double b = median(c->busy, (size_t)c->ran);
                say(" %10.0f%%", 100 * b);
                csv_row(wname[wk], aname[k], opt.thr[i], "cpu_share", b, "ratio");
            }
            say("\n");
        }

    /* failures */
    for (int wk = 0; wk < NW; wk++)
        for (int k = 0; k < NA; k++)
            for (unsigned i = 0; i < opt.nthr; i++)
                if (cells[wk][k][i].ran && (cells[wk][k][i].failed || cells[wk][k][i].fill_failed))
                    say("note: %s, %s, %u threads: %zu allocations failed while timed, %zu while "
                        "filling (last run)\n",
                        wname[wk], aname[k], opt.thr[i], cells[wk][k][i].failed,
                        cells[wk][k][i].fill_failed);

    /* ---- ratios: scaling, and per-CPU against one lock */
    say("\nscaling: throughput at n threads over the same allocator's at 1 thread\n");
    say("%-4s %-15s", "", "allocator");
    for (unsigned i = 0; i < opt.nthr; i++)
        say(" %7u thr", opt.thr[i]);
    say("\n");
    for (int wk = 0; wk < NW; wk++)
        for (int k = 0; k < NA; k++) {
            if (!cells[wk][k][0].ran)
                continue;
            say("%-4s %-15s", wname[wk], aname[k]);
            for (unsigned i = 0; i < opt.nthr; i++) {
                double x = cells[wk][k][i].med / cells[wk][k][0].med;
                say(" %10.2fx", x);
                csv_row(wname[wk], aname[k], opt.thr[i], "scaling_vs_first", x, "ratio");
            }
            say("\n");
        }
    say("\nagainst the single-lock analloc (mutex): throughput over analloc-mutex's at the same "
        "thread count\n");
    say("%-4s %-15s", "", "allocator");
    for (unsigned i = 0; i < opt.nthr; i++)
        say(" %7u thr", opt.thr[i]);
    say("\n");
    for (int wk = 0; wk < NW; wk++)
        for (int k = 1; k < NA; k++) {
            if (k == A_NONE || !cells[wk][k][0].ran || !cells[wk][A_MUTEX][0].ran)
                continue;
            say("%-4s %-15s", wname[wk], aname[k]);
            for (unsigned i = 0; i < opt.nthr; i++) {
                double x = cells[wk][k][i].med / cells[wk][A_MUTEX][i].med;
                say(" %10.2fx", x);
                csv_row(wname[wk], aname[k], opt.thr[i], "x_analloc_mutex", x, "ratio");
            }
            say("\n");
        }
    if (cells[0][A_PERCPU][0].ran && cells[0][A_SPIN][0].ran) {
        say("\nper-CPU against the single-lock analloc with a spinlock\n");
        for (int wk = 0; wk < NW; wk++) {
            if (!cells[wk][A_PERCPU][0].ran)
                continue;
            say("%-4s %-15s", wname[wk], aname[A_PERCPU]);
            for (unsigned i = 0; i < opt.nthr; i++) {
                double x = cells[wk][A_PERCPU][i].med / cells[wk][A_SPIN][i].med;
                say(" %10.2fx", x);
                csv_row(wname[wk], aname[A_PERCPU], opt.thr[i], "x_analloc_spin", x, "ratio");
            }
            say("\n");
        }
    }

    /* ---- targets */
    say("\ntargets:\n");
    int i1 = thr_index(1), i2 = thr_index(2), i8 = thr_index(8);
    struct cell *pc = cells[W_CHURN][A_PERCPU];
    if (!pc[0].ran || i1 < 0 || i2 < 0)
        target(-1, "W1: analloc-percpu at 2 threads >= 1.8x 1 thread (%s)",
               pc[0].ran ? "needs --threads with 1 and 2" : "analloc-percpu not run");
    else
        target(pc[i2].med >= 1.8 * pc[i1].med,
               "W1: analloc-percpu at 2 threads >= 1.8x 1 thread: %.2fx (%.2f against %.2f Mops/s)",
               pc[i2].med / pc[i1].med, pc[i2].med, pc[i1].med);
    /* Eight threads on this machine's CPUs can at best match two, so "at
     * least the 2-thread throughput" is judged against the slowest of the
     * 2-thread runs: a median inside their spread is no collapse. */
    if (!pc[0].ran || i2 < 0 || i8 < 0) {
        target(-1, "W1: analloc-percpu at 8 threads >= 2 threads (%s)",
               pc[0].ran ? "needs --threads with 2 and 8" : "analloc-percpu not run");
    } else {
        double slowest2 = pc[i2].mops[0];
        for (int r = 1; r < pc[i2].ran; r++)
            slowest2 = pc[i2].mops[r] < slowest2 ? pc[i2].mops[r] : slowest2;
        target(pc[i8].med >= slowest2,
               "W1: analloc-percpu at 8 threads >= 2 threads (the slowest 2-thread run): %.2fx "
               "(%.2f against %.2f Mops/s; the 2-thread median %.2f)",
               pc[i8].med / slowest2, pc[i8].med, slowest2, pc[i2].med);
    }

    load_avg(load, sizeof load);
    say("\nload:      %s after the run\n", load);
    say("%d targets met, %d missed, %d skipped; %d correctness errors; %.1f s\n", targets_met,
        targets_failed, targets_skipped, correctness_errors, (now_ns() - start) / 1e9);
    say("written: %s/threads.txt, %s/threads.csv\n", opt.out, opt.out);
    fclose(txt_out);
    fclose(csv_out);
    free(meta);
    munmap(m, 2 * ARENA_BYTES);
    if (correctness_errors)
        return 1;
    return opt.strict && targets_failed ? 3 : 0;
}
