/*
 * analloc_malloc.c - malloc, free and friends on analloc, for LD_PRELOAD.
 *
 *   LD_PRELOAD=build/libanalloc-malloc.so some-program
 *   ANALLOC_MALLOC_STATS=1 ...   one line of statistics per process at exit
 *   ANALLOC_TRACE=/tmp/t.%p ...  a trace of every call (tools/trace/README.md)
 *
 * Small requests (up to LARGE) come from buddy arenas with 16-byte pages,
 * one analloc each.  At the first call the library reserves one stretch of
 * address space (PROT_NONE, up to 64 GiB) cut into 64 MiB slots; arena i
 * lives at the start of slot i, 4 MiB << i bytes (64 MiB at most), made
 * readable and writable when it is created, with its struct analloc, its
 * mutex and its metadata (3 bits per 16 bytes, zeroed by analloc_init) in
 * a mapping of their own.  A pointer's arena is slots[(p - region) >> 26].
 * Larger requests get a mapping each, with a 32-byte header in front of the
 * pointer; anything outside the region must carry such a header.  The last
 * 8 freed mappings of up to 4 MiB are kept for reuse.
 *
 * Every arena has its own pthread mutex, installed with analloc_set_lock;
 * a global mutex guards the creation of arenas.  Each thread starts its
 * search at the arena that last served it.
 *
 * Per-thread stores.  Once the process has had a second thread, each
 * thread has a struct analloc_cpu for each of the first NSTORE arenas, in
 * its TLS, attached on its first call there: malloc and free of up to 2 KiB
 * go through the calling thread's store without the arena's mutex
 * (larger orders, aligned requests and realloc are the plain calls).  A
 * process that never had one (__libc_single_threaded) attaches none and
 * keeps the arenas' own block cache, which costs no atomic operation.  The
 * thread's key destructor detaches its stores (their blocks go back).
 *
 * fork.  A store call holds the store's spinlock inside the library, and
 * any failing allocation, drain or detach spins for it: a child forked
 * while another thread is inside a store call would spin forever.  So each
 * thread has a pthread mutex, held around each of its calls on an arena
 * with stores (store or plain: a failing plain allocation gives stores
 * back too; a thread without stores, before its key is set or after its
 * destructor ran, holds stray_lock instead), and the threads are in a
 * registry; before_fork takes the registry's mutex, every
 * registered thread's mutex, then the older locks and every arena mutex:
 * no call that can hold a store's spinlock is running when fork copies the
 * memory.  In the child the handler detaches the stores of every thread
 * but the forking one (they do not exist there, and glibc may give their
 * TLS to the child's next threads).  The lock order is the registry, a
 * thread's mutex, the rest, then the library's (its list of stores, a
 * store, the arena's mutex); the registry's and the threads' mutexes are
 * never taken inside a library call.  A thread's mutex is uncontended except during a fork: one
 * mutex per thread, not per store, since a thread makes one call at a time.
 *
 * The library never calls malloc: setup is lazy, on the first call, and
 * only pthread_atfork and pthread_setspecific (called with no lock held)
 * may call back into it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/single_threaded.h>
#include <unistd.h>

#include "analloc.h"
#define TRACE_WRITER
#include "../../tools/trace/trace_format.h"

#define PAGE 16u                           /* smallest block and malloc's alignment */
#define SLOT_SHIFT 26                      /* 64 MiB per slot */
#define SLOT ((size_t)1 << SLOT_SHIFT)
#define FIRST_ARENA ((size_t)4 << 20)      /* arena i: FIRST_ARENA << i bytes, at most SLOT */
#define MAX_SLOTS 1024u                    /* 64 GiB of address space, if the system gives it */
#ifndef LARGE
#define LARGE ((size_t)1 << 20)            /* larger requests get their own mapping */
#endif
#define OS_PAGE 4096u
#define KEEP 8                             /* freed mappings kept for reuse, each ... */
#define KEEP_MAX ((size_t)4 << 20)         /* ... of at most 4 MiB */
#define BIG_MAGIC ((uintptr_t)0x616e616c6c6f6321u)
#define NSTORE 8u                          /* arenas 0 to 7 get a store per thread */

#define EXPORT __attribute__((visibility("default")))
#define TLS _Thread_local __attribute__((tls_model("initial-exec")))

struct arena {
    struct analloc a;
    pthread_mutex_t lock;
    unsigned index;  /* its slot; below NSTORE: threads use per-thread stores */
};

/* The header of a mapping of its own, right before the pointer. */
struct big {
    size_t len;      /* bytes mapped */
    size_t off;      /* pointer - start of the mapping */
    uintptr_t check; /* BIG_MAGIC ^ pointer ^ len */
    size_t reused;   /* a kept mapping: not zero */
};

static pthread_mutex_t grow_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t keep_lock = PTHREAD_MUTEX_INITIALIZER;
static struct { char *base; size_t len; } kept[KEEP]; /* freed mappings, a ring */
static unsigned keep_next;                 /* the slot the next freed mapping takes */
static char *region;                       /* the reserved address space */
static unsigned nslots;                    /* 64 MiB slots in it */
static struct arena *slots[MAX_SLOTS];     /* arena of each slot; the first narenas are set */
static unsigned narenas;                   /* written under grow_lock, read without */
static int ready, atfork_done;
static int multi;                          /* the process has had a second thread: stores in use */
static int stats_fd = -1;                  /* ANALLOC_MALLOC_STATS: a copy of stderr */
static size_t big_now, big_total, calls_total; /* statistics (atomic) */
static TLS unsigned hint;                  /* arena that served this thread last */
static TLS unsigned calls;                 /* this thread's calls not yet in calls_total */
static pthread_key_t thread_key;
static int key_ok;

/* A thread's stores, in its TLS: one per arena below NSTORE, attached on
 * the thread's first call there.  `lock` is held around every call of the
 * thread on those arenas (store or plain), so that before_fork, holding
 * every registered thread's lock, knows no call that touches a store is
 * running (see fork below). */
enum { NEW, LIVE, OFF }; /* OFF: no stores (starting, no key, or after thread_end) */
struct stores {
    pthread_mutex_t lock;
    struct stores *next, **prevp; /* the registry, under registry_lock */
    unsigned attached;            /* bit i: store[i] is attached to arena i */
    int state;                    /* NEW, LIVE (registered, key set: thread_end will run), OFF */
    struct analloc_cpu store[NSTORE];
};
static TLS struct stores mine;
static struct stores *registry;            /* every LIVE thread's */
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t stray_lock = PTHREAD_MUTEX_INITIALIZER; /* calls of threads without stores */

/* ---- small helpers (no stdio: it may allocate) ---------------------------- */

static void say_to(int fd, const char *s) { ssize_t r = write(fd, s, strlen(s)); (void)r; }
static void say(const char *s) { say_to(2, s); }

static char *fmt_uint(char *out, size_t v)
{
    char tmp[24];
    int n = 0;
    do tmp[n++] = (char)('0' + v % 10); while ((v /= 10) != 0);
    while (n) *out++ = tmp[--n];
    *out = 0;
    return out;
}

static char *fmt_hex(char *out, uintptr_t v)
{
    int shift = (int)(sizeof v * 8) - 4;
    *out++ = '0', *out++ = 'x';
    while (shift > 0 && (v >> shift) == 0) shift -= 4;
    for (; shift >= 0; shift -= 4) *out++ = "0123456789abcdef"[(v >> shift) & 15];
    *out = 0;
    return out;
}

static _Noreturn void bad_pointer(const char *what, const void *p, const char *why)
{
    char buf[40];
    fmt_hex(buf, (uintptr_t)p);
    say("analloc-malloc: ");
    say(what);
    say("(");
    say(buf);
    say("): ");
    say(why);
    say("\n");
    abort();
}

static void on_error(void *ctx, int error, const void *p)
{
    (void)ctx;
    bad_pointer("free or realloc", p, analloc_strerror(error));
}

static void flush_calls(void)
{
    __atomic_add_fetch(&calls_total, calls, __ATOMIC_RELAXED);
    calls = 0;
}

/* Detach t's stores (their blocks go back to the arenas) and take t off the
 * registry; registry_lock held, t's owner making no call (it is exiting, or
 * gone: a fork's child). */
static void stores_drop(struct stores *t)
{
    for (unsigned i = 0; i < NSTORE; i++)
        if (t->attached >> i & 1) analloc_cpu_detach(&t->store[i]);
    t->attached = 0;
    *t->prevp = t->next;
    if (t->next) t->next->prevp = t->prevp;
    t->state = OFF;
}

/* thread_key's destructor, at thread exit: the statistics, and the stores
 * given back.  Later calls of the thread (other destructors, glibc's own
 * freeing) use no store, so its TLS can be reused safely. */
static void thread_end(void *t)
{
    flush_calls();
    if (mine.state == LIVE) {
        pthread_mutex_lock(&registry_lock);
        stores_drop(t);
        pthread_mutex_unlock(&registry_lock);
    }
    mine.state = OFF;
}

/* A NEW thread becomes LIVE (its key set, registered) once setup made the
 * key; true if the thread is LIVE.  pthread_setspecific may call malloc:
 * the thread is OFF meanwhile. */
static int thread_start(void)
{
    struct stores *t = &mine;
    if (t->state != NEW || !__atomic_load_n(&key_ok, __ATOMIC_ACQUIRE)) return t->state == LIVE;
    t->state = OFF;
    if (pthread_setspecific(thread_key, t) != 0) return 0;
    pthread_mutex_init(&t->lock, NULL);
    pthread_mutex_lock(&registry_lock);
    t->next = registry, t->prevp = &registry;
    if (registry) registry->prevp = &t->next;
    registry = t;
    t->state = LIVE;
    pthread_mutex_unlock(&registry_lock);
    return 1;
}

static void lock_fn(void *m) { pthread_mutex_lock(m); }
static void unlock_fn(void *m) { pthread_mutex_unlock(m); }
/* analloc_set_relax: a thread that finds a store's or a table bucket's
 * spinlock taken 64 times in a row yields (the holder may be preempted). */
static void relax_yield(void *ctx) { (void)ctx; sched_yield(); }

static size_t round_up(size_t n, size_t to) { return (n + to - 1) & ~(to - 1); }

/* ---- setup, arenas, fork ------------------------------------------------- */

/* The order of the locks, everywhere: registry_lock, a thread's lock (never
 * two at once but here), stray_lock, grow_lock, keep_lock, then the
 * library's (a list of stores, a store's spinlock, an arena's mutex). */
static void before_fork(void)
{
    pthread_mutex_lock(&registry_lock);
    for (struct stores *t = registry; t; t = t->next) pthread_mutex_lock(&t->lock);
    pthread_mutex_lock(&stray_lock);
    pthread_mutex_lock(&grow_lock);
    pthread_mutex_lock(&keep_lock);
    for (unsigned i = 0; i < narenas; i++) pthread_mutex_lock(&slots[i]->lock);
}

static void after_fork(void)
{
    for (unsigned i = narenas; i-- > 0;) pthread_mutex_unlock(&slots[i]->lock);
    pthread_mutex_unlock(&keep_lock);
    pthread_mutex_unlock(&grow_lock);
    pthread_mutex_unlock(&stray_lock);
    for (struct stores *t = registry; t; t = t->next) pthread_mutex_unlock(&t->lock);
    pthread_mutex_unlock(&registry_lock);
}

/* In the child only the forking thread exists: the others' stores (in TLS
 * that glibc may give to the child's next threads) are given back. */
static void after_fork_child(void)
{
    trace_child(); /* the trace file is the parent's */
    after_fork();
    pthread_mutex_lock(&registry_lock);
    for (struct stores *t = registry, *next; t; t = next) {
        next = t->next;
        if (t != &mine) stores_drop(t);
    }
    pthread_mutex_unlock(&registry_lock);
}

/* Reserve the region: as many 64 MiB slots as the system lets us have. */
static void setup(void)
{
    pthread_mutex_lock(&grow_lock);
    if (!__atomic_load_n(&ready, __ATOMIC_RELAXED)) {
        for (unsigned n = MAX_SLOTS; n >= 1 && !region; n /= 2) {
            size_t len = ((size_t)n + 1) * SLOT;
            char *m = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
            if (m == MAP_FAILED) continue;
            char *r = (char *)round_up((uintptr_t)m, SLOT); /* align to a slot: trim both ends */
            if (r > m) munmap(m, (size_t)(r - m));
            munmap(r + (size_t)n * SLOT, (size_t)(m + len - (r + (size_t)n * SLOT)));
            region = r, nslots = n;
        }
        __atomic_store_n(&ready, 1, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&grow_lock);
    /* May call malloc (glibc keeps the handlers in a growing array): no lock held. */
    if (!__atomic_exchange_n(&atfork_done, 1, __ATOMIC_ACQ_REL)) {
        pthread_atfork(before_fork, after_fork, after_fork_child);
        __atomic_store_n(&key_ok, pthread_key_create(&thread_key, thread_end) == 0, __ATOMIC_RELEASE);
        /* Programs may close stderr before the report (coreutils do): keep a copy. */
        const char *s = getenv("ANALLOC_MALLOC_STATS");
        if (s && *s != '/') stats_fd = fcntl(2, F_DUPFD_CLOEXEC, 3);
    }
}

/* Make sure there are more than `seen` arenas: create one unless another
 * thread already did.  False if the region is full or the system says no. */
static int grow(unsigned seen)
{
    int ok = 0;
    pthread_mutex_lock(&grow_lock);
    unsigned i = narenas;
    if (i > seen) {
        ok = 1;
    } else if (i < nslots) {
        size_t size = i < SLOT_SHIFT - 22 ? FIRST_ARENA << i : SLOT;
        size_t meta = analloc_meta_size(size, PAGE);
        size_t hdr = round_up(sizeof(struct arena), 64);
        size_t len = round_up(hdr + meta, OS_PAGE);
        char *base = region + (size_t)i * SLOT;
        struct arena *ar = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (ar != MAP_FAILED && mprotect(base, size, PROT_READ | PROT_WRITE) == 0 &&
            analloc_init(&ar->a, base, size, PAGE, (char *)ar + hdr, meta) == 0) {
            pthread_mutex_init(&ar->lock, NULL);
            ar->index = i;
            analloc_set_lock(&ar->a, lock_fn, unlock_fn, &ar->lock);
            analloc_set_relax(&ar->a, relax_yield, NULL); /* threads share CPUs */
            analloc_set_error_hook(&ar->a, on_error, NULL);
            __atomic_store_n(&slots[i], ar, __ATOMIC_RELEASE);
            __atomic_store_n(&narenas, i + 1, __ATOMIC_RELEASE);
            ok = 1;
        } else if (ar != MAP_FAILED) {
            munmap(ar, len);
        }
    }
    pthread_mutex_unlock(&grow_lock);
    return ok;
}

/* The arena that owns p, or NULL if p is not in the region. */
static struct arena *owner(const void *p)
{
    uintptr_t off = (uintptr_t)p - (uintptr_t)region;
    if (region == NULL || off >= (size_t)nslots * SLOT) return NULL;
    struct arena *ar = __atomic_load_n(&slots[off >> SLOT_SHIFT], __ATOMIC_ACQUIRE);
    if (ar == NULL) bad_pointer("free or realloc", p, "inside the heap but in no arena");
    return ar;
}

/* Whether calls on arena ar use stores: below NSTORE, once the process has
 * had a second thread.  Otherwise the plain calls, with no lock of ours:
 * above NSTORE no store exists, and a process that never had a second
 * thread has none either (nothing else can run, or fork, during the call:
 * only the caller could create a thread). */
static inline int use_stores(const struct arena *ar)
{
    if (ar->index >= NSTORE) return 0;
    if (__builtin_expect(__atomic_load_n(&multi, __ATOMIC_RELAXED), 1)) return 1;
    if (__libc_single_threaded) return 0;
    __atomic_store_n(&multi, 1, __ATOMIC_RELAXED);
    return 1;
}

/* Before a call on arena ar, when use_stores(ar): the lock to hold around
 * it, and in *c the store to use: the calling thread's store (attached now
 * if need be) with the thread's lock, or, for a thread without stores, no
 * store and stray_lock.  leave(lock) after the call. */
static pthread_mutex_t *enter(struct arena *ar, struct analloc_cpu **c)
{
    unsigned i = ar->index;
    struct stores *t = &mine;
    *c = NULL;
    if (t->state != LIVE && !thread_start()) {
        pthread_mutex_lock(&stray_lock);
        return &stray_lock;
    }
    if (!(t->attached >> i & 1)) {
        pthread_mutex_lock(&registry_lock); /* (before_fork waits for it) */
        if (analloc_cpu_attach(&ar->a, &t->store[i]) == 0) t->attached |= 1u << i;
        pthread_mutex_unlock(&registry_lock);
    }
    pthread_mutex_lock(&t->lock);
    if (t->attached >> i & 1) *c = &t->store[i]; /* (attaching cannot fail: the arena is set up) */
    return &t->lock;
}

static void leave(pthread_mutex_t *m) { pthread_mutex_unlock(m); }

/* A block of n <= LARGE bytes aligned to align <= LARGE, from the arenas:
 * the thread's last arena first, then the others, then a new one. */
static void *arena_alloc(size_t n, size_t align)
{
    if (!__atomic_load_n(&ready, __ATOMIC_ACQUIRE)) setup();
    for (;;) {
        unsigned count = __atomic_load_n(&narenas, __ATOMIC_ACQUIRE);
        unsigned i = hint < count ? hint : 0;
        for (unsigned k = 0; k < count; k++, i = i + 1 < count ? i + 1 : 0) {
            struct arena *ar = slots[i];
            struct analloc_cpu *c = NULL;
            pthread_mutex_t *m = use_stores(ar) ? enter(ar, &c) : NULL;
            void *p = align > PAGE ? analloc_alloc_aligned(&ar->a, n, align, 0)
                      : c        ? analloc_cpu_alloc(c, n)
                                 : analloc_alloc(&ar->a, n);
            if (m) leave(m);
            if (p) {
                hint = i;
                return p;
            }
        }
        if (!grow(count)) return NULL;
        hint = count;
    }
}

/* ---- mappings of their own ------------------------------------------------ */

static struct big *big_of(void *p)
{
    struct big *h = (struct big *)p - 1;
    if ((uintptr_t)p % PAGE || h->check != (BIG_MAGIC ^ (uintptr_t)p ^ h->len) ||
        h->off < sizeof *h || h->off >= h->len || ((uintptr_t)p - h->off) % OS_PAGE)
        return NULL;
    return h;
}

static void *big_set(char *base, size_t len, size_t off)
{
    char *p = base + off;
    struct big *h = (struct big *)p - 1;
    h->len = len, h->off = off, h->check = BIG_MAGIC ^ (uintptr_t)p ^ len;
    return p;
}

/* A kept mapping of need to 2 x need bytes (the smallest), or NULL. */
static char *keep_take(size_t need, size_t *len)
{
    unsigned best = KEEP;
    char *m = NULL;
    pthread_mutex_lock(&keep_lock);
    for (unsigned i = 0; i < KEEP; i++)
        if (kept[i].base && kept[i].len >= need && kept[i].len / 2 <= need &&
            (best == KEEP || kept[i].len < kept[best].len))
            best = i;
    if (best < KEEP) m = kept[best].base, *len = kept[best].len, kept[best].base = NULL;
    pthread_mutex_unlock(&keep_lock);
    return m;
}

/* Keep a freed mapping of at most KEEP_MAX bytes (its pages stay resident:
 * the next one of that size faults nothing in); the oldest goes. */
static void keep_put(char *m, size_t len)
{
    if (len <= KEEP_MAX) {
        pthread_mutex_lock(&keep_lock);
        char *old = kept[keep_next].base;
        size_t old_len = kept[keep_next].len;
        kept[keep_next].base = m, kept[keep_next].len = len;
        keep_next = (keep_next + 1) % KEEP;
        pthread_mutex_unlock(&keep_lock);
        m = old, len = old_len;
    }
    if (m) munmap(m, len);
}

static void *big_alloc(size_t n, size_t align)
{
    if (align < PAGE) align = PAGE;
    if (n > SIZE_MAX / 2 - align - OS_PAGE) return NULL;
    size_t len = round_up(n + sizeof(struct big) + align, OS_PAGE);
    char *m = keep_take(len, &len);
    size_t reused = m != NULL;
    if (!m) m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return NULL;
    __atomic_add_fetch(&big_now, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&big_total, 1, __ATOMIC_RELAXED);
    uintptr_t p = round_up((uintptr_t)m + sizeof(struct big), align);
    void *q = big_set(m, len, p - (uintptr_t)m);
    ((struct big *)q - 1)->reused = reused;
    return q;
}

static void big_free(struct big *h)
{
    __atomic_sub_fetch(&big_now, 1, __ATOMIC_RELAXED);
    keep_put((char *)(h + 1) - h->off, h->len);
}

/* ---- the interface --------------------------------------------------------- */

static void *alloc(size_t n, size_t align)
{
    if (++calls == 4096) flush_calls();
    if (mine.state == NEW) thread_start(); /* its calls are counted at exit too */
    void *p = n <= LARGE && align <= LARGE ? arena_alloc(n, align) : big_alloc(n, align);
    if (p == NULL) errno = ENOMEM;
    return p;
}

static size_t usable(void *p)
{
    struct arena *ar = owner(p);
    if (ar) return analloc_mem_size(&ar->a, p);
    struct big *h = big_of(p);
    return h ? h->len - h->off : 0;
}

/* ANALLOC_TRACE: a record per exported call (internal calls are not
 * recorded: a moving realloc is one record).  getenv and open do not
 * allocate, so the file is opened at the first call. */
static int tracing(void)
{
    if (__builtin_expect(trace_w.state == 0, 0)) trace_open(PAGE);
    return trace_w.state == 1;
}

static void *traced(unsigned op, size_t n, void *p, uint64_t arg)
{
    if (tracing()) trace_rec(op, n, p, arg);
    return p;
}

EXPORT void *malloc(size_t n) { return traced(TRACE_ALLOC, n, alloc(n, PAGE), 0); }

static void free_untraced(void *p);

EXPORT void free(void *p)
{
    if (p != NULL && tracing()) trace_rec(TRACE_FREE, 0, p, 0);
    free_untraced(p);
}

static void free_untraced(void *p)
{
    if (p == NULL) return;
    struct arena *ar = owner(p);
    if (ar) {
        if (!use_stores(ar)) {
            analloc_free(&ar->a, p); /* on_error aborts on a bad pointer */
            return;
        }
        struct analloc_cpu *c;
        pthread_mutex_t *m = enter(ar, &c);
        if (c) analloc_cpu_free(c, p);
        else analloc_free(&ar->a, p);
        leave(m);
        return;
    }
    struct big *h = big_of(p);
    if (h == NULL) bad_pointer("free", p, "not allocated here");
    big_free(h);
}

EXPORT void *calloc(size_t count, size_t size)
{
    size_t n;
    if (__builtin_mul_overflow(count, size, &n)) {
        errno = ENOMEM;
        return NULL;
    }
    void *p = alloc(n, PAGE);
    if (p && (owner(p) || big_of(p)->reused)) memset(p, 0, n); /* fresh mappings are zero */
    return traced(TRACE_ALLOC, n, p, 0);
}

static void *realloc_untraced(void *p, size_t n);

EXPORT void *realloc(void *p, size_t n)
{
    if (p != NULL && n == 0) { /* glibc: free and return NULL */
        free(p);
        return NULL;
    }
    if (!tracing()) return realloc_untraced(p, n);
    trace_hold(); /* (see trace_hold: no record between the move and its own) */
    void *q = realloc_untraced(p, n);
    trace_rec(TRACE_REALLOC, n, q, (uint64_t)(uintptr_t)p);
    trace_release();
    return q;
}

static void *realloc_untraced(void *p, size_t n)
{
    if (p == NULL) return alloc(n, PAGE);
    struct arena *ar = owner(p);
    struct big *h = ar ? NULL : big_of(p);
    if (!ar && !h) bad_pointer("realloc", p, "not allocated here");
    if (ar && n <= LARGE) {
        struct analloc_cpu *c; /* (unused: a failing realloc may give stores back) */
        pthread_mutex_t *m = use_stores(ar) ? enter(ar, &c) : NULL;
        void *q = analloc_realloc(&ar->a, p, n); /* in place if the buddies allow */
        if (m) leave(m);
        if (q) return q;
    }
    if (h && n > LARGE) { /* let the kernel move the pages */
        size_t len = round_up(n + h->off, OS_PAGE), off = h->off;
        if (n > SIZE_MAX / 2) goto fail;
        char *m = mremap((char *)p - off, h->len, len, MREMAP_MAYMOVE);
        if (m == MAP_FAILED) goto fail;
        return big_set(m, len, off);
    }
    void *q = alloc(n, PAGE); /* another arena, or between arena and mapping */
    if (q == NULL) return NULL;
    size_t old = usable(p);
    memcpy(q, p, old < n ? old : n);
    free_untraced(p);
    return q;
fail:
    errno = ENOMEM;
    return NULL;
}

EXPORT void *reallocarray(void *p, size_t count, size_t size)
{
    size_t n;
    if (__builtin_mul_overflow(count, size, &n)) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(p, n);
}

EXPORT void *memalign(size_t align, size_t n)
{
    if (align > SIZE_MAX / 2 + 1) {
        errno = EINVAL;
        return NULL;
    }
    while (align & (align - 1)) align += align & -align; /* glibc: the next power of two */
    return traced(TRACE_ALIGNED, n, alloc(n, align), align);
}

EXPORT void *aligned_alloc(size_t align, size_t n) { return memalign(align, n); }

EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
    if (align % sizeof(void *) || (align & (align - 1)) || align == 0) return EINVAL;
    int saved = errno;
    void *p = traced(TRACE_ALIGNED, n, alloc(n, align), align);
    errno = saved;
    if (p == NULL) return ENOMEM;
    *out = p;
    return 0;
}

EXPORT void *valloc(size_t n) { return traced(TRACE_ALIGNED, n, alloc(n, OS_PAGE), OS_PAGE); }

EXPORT void *pvalloc(size_t n)
{
    if (n > SIZE_MAX - OS_PAGE) {
        errno = ENOMEM;
        return NULL;
    }
    n = n ? round_up(n, OS_PAGE) : OS_PAGE;
    return traced(TRACE_ALIGNED, n, alloc(n, OS_PAGE), OS_PAGE);
}

EXPORT size_t malloc_usable_size(void *p) { return p ? usable(p) : 0; }

/* ANALLOC_MALLOC_STATS=1: one line on stderr when the process exits;
 * ANALLOC_MALLOC_STATS=/a/file: appended to that file. */
__attribute__((destructor)) static void report(void)
{
    if (trace_w.state == 1) trace_final();
    const char *to = getenv("ANALLOC_MALLOC_STATS");
    if (to == NULL) return;
    char line[320], comm[32] = "?", *e = line;
    int fd = open("/proc/self/comm", O_RDONLY);
    if (fd >= 0) {
        ssize_t r = read(fd, comm, sizeof comm - 1);
        comm[r > 0 ? r - 1 : 0] = 0; /* drop the newline */
        close(fd);
    }
    size_t used = 0, live = 0, managed = 0;
    unsigned count = __atomic_load_n(&narenas, __ATOMIC_ACQUIRE);
    for (unsigned i = 0; i < count; i++) {
        struct analloc_stats st = {.size = sizeof st};
        analloc_stats(&slots[i]->a, &st);
        used += st.used_bytes, live += st.live_blocks, managed += st.managed_bytes;
    }
    flush_calls();
    e = fmt_uint(stpcpy(e, "analloc-malloc: pid "), (size_t)getpid());
    e = stpcpy(stpcpy(stpcpy(e, " "), comm), ": ~");
    e = fmt_uint(e, __atomic_load_n(&calls_total, __ATOMIC_RELAXED));
    e = fmt_uint(stpcpy(e, " allocations, "), count);
    e = fmt_uint(stpcpy(e, " arenas of "), managed >> 20);
    e = fmt_uint(stpcpy(e, " MiB, "), live);
    e = fmt_uint(stpcpy(e, " blocks ("), used >> 10);
    e = fmt_uint(stpcpy(e, " KiB) live at exit, "), big_total);
    e = fmt_uint(stpcpy(e, " large mappings ("), big_now);
    stpcpy(e, " live)\n");
    if (*to == '/') {
        int out = open(to, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (out >= 0) say_to(out, line), close(out);
    } else {
        say_to(stats_fd >= 0 ? stats_fd : 2, line);
    }
}
