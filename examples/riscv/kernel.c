/*
 * kernel.c - an S-mode riscv64 test kernel for QEMU's virt machine under
 * OpenSBI: every hart allocates and frees at once from one analloc, each
 * through its own per-CPU store, with a real spinlock (amoswap.w.aq/.rl) as
 * the allocator's lock hooks for the slow paths.
 *
 *  1. The entering hart (boot.S) reads the device tree that OpenSBI passes
 *     in a1: the /memory node, /reserved-memory (OpenSBI's mmode_resv*),
 *     the memory reservation block, the harts (/cpus/cpu@N reg), the timer
 *     frequency and /chosen/bootargs.  The arena is the largest stretch of
 *     RAM that none of these, the kernel image and the device tree itself
 *     cover; the metadata is a static buffer in .bss (outside the arena).
 *  2. It sets up the allocator (analloc_init), installs the lock hooks,
 *     attaches one struct analloc_cpu per hart, records the free bytes and
 *     the largest free block, and starts the other harts with SBI HSM.
 *  3. Random phase, all harts at once: per-hart xorshift sequences (seeded
 *     from the printed seed) of allocations of orders 0-5 (all of them the
 *     store's orders), frees of the hart's own blocks, and
 *     blocks sent to another hart's mailbox (a ring under a spinlock),
 *     which that hart frees: cross-hart frees.  Every block carries its
 *     owner's tag and a pattern (the whole block up to 2 pages, the first
 *     and last 8 words of larger ones), checked before each free.  The
 *     entering hart runs analloc_check every CHECK_EVERY operations and the
 *     next hart analloc_drain every DRAIN_EVERY, while the others keep going.
 *  4. After a barrier: mailboxes emptied, every block freed; bad calls on
 *     one hart (interior, unaligned, outside, reserved pointers; a store
 *     not attached; attach twice; then a double free of a block that waits
 *     in another hart's store must give ANALLOC_EFREE); every store detached,
 *     one of them by another hart than its owner (the hot-unplug path);
 *     then analloc_check, a walk of the whole arena (every page free, none
 *     used), the free bytes and the largest free block as after setup.
 *  5. A summary on the console (every kernel line starts with "rv: ", so
 *     the run script can drop OpenSBI's banner) and an exit through the
 *     virt test device (sifive_test at 0x100000): 0x5555 passes, (code <<
 *     16) | 0x3333 fails with exit status `code`: 1 a failed check, 2 a
 *     trap, 3 a timeout at a barrier, 4 setup.
 *
 * bootargs (QEMU -append): seed=N, ops=N (per hart), live=N (blocks a hart
 * holds at most), maxorder=N (orders 0..N), and the negative controls, each
 * of which must make the run fail:
 *   break=nolock  lock hooks that do nothing: the harts race in the slow
 *                 paths, which tags, analloc_check or the end state catch
 *   break=tag     one hart overwrites the tag of a block another hart
 *                 keeps: the owner's check before its free catches it
 *   break=trap    an illegal instruction: the trap handler must report it
 *
 * RV_CPU_STORES (riscv.mk builds both) selects the per-CPU stores (1) or
 * the plain calls analloc_alloc/analloc_free under the same lock hooks (0).
 * See hart_alloc and hart_free.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "analloc.h"

#ifndef RV_CPU_STORES
#define RV_CPU_STORES 1
#endif

#define RV_MAXH 8            /* hart ids 0..RV_MAXH-1 (boot.S too) */
#define PAGE 4096u
#define MAX_ORDER 5          /* orders 0-5 in the random phase */
#define LIVE_MAX 256         /* blocks a hart may hold (live=N, 64 by default) */
#define RING 32              /* mailbox entries per hart */
#define CHECK_EVERY 1000     /* analloc_check by the entering hart, in operations */
#define DRAIN_EVERY 2000     /* analloc_drain by the next hart, in operations */
#define ARENA_MAX (1ul << 30)
#define BARRIER_SECONDS 60

#define UART0 0x10000000ul
#define TEST_DEV 0x100000ul

/* ---- atomics, spinlock ----------------------------------------------------- */

static void spin_lock(uint32_t *l)
{
    uint32_t old;
    for (;;) {
        __asm__ volatile("amoswap.w.aq %0, %2, %1" : "=r"(old), "+A"(*l) : "r"(1u) : "memory");
        if (old == 0)
            return;
        while (__atomic_load_n(l, __ATOMIC_RELAXED) != 0)
            ;
    }
}
static int spin_trylock(uint32_t *l)
{
    uint32_t old;
    __asm__ volatile("amoswap.w.aq %0, %2, %1" : "=r"(old), "+A"(*l) : "r"(1u) : "memory");
    return old == 0;
}
static void spin_unlock(uint32_t *l)
{
    __asm__ volatile("amoswap.w.rl zero, zero, %0" : "+A"(*l) : : "memory");
}
static unsigned this_hart(void)
{
    unsigned long id;
    __asm__ volatile("mv %0, tp" : "=r"(id));
    return (unsigned)id;
}
static uint64_t rdtime(void)
{
    uint64_t t;
    __asm__ volatile("rdtime %0" : "=r"(t));
    return t;
}

/* ---- exit, console ------------------------------------------------------------- */

static _Noreturn void vm_exit(unsigned code)
{
    volatile uint32_t *dev = (volatile uint32_t *)TEST_DEV;
    *dev = code == 0 ? 0x5555u : (code << 16) | 0x3333u;
    for (;;)
        __asm__ volatile("wfi");
}

static uint32_t console_lock;

static void uart_putc(char c)
{
    volatile uint8_t *u = (volatile uint8_t *)UART0;
    while ((u[5] & 0x20) == 0) /* LSR: transmitter holding register empty */
        ;
    u[0] = (uint8_t)c;
}
static void console_write(const char *s, int locked)
{
    int got = 0;
    if (locked)
        spin_lock(&console_lock);
    else /* from the trap handler: the lock may be ours */
        for (long i = 0; i < 10000000 && !(got = spin_trylock(&console_lock)); i++)
            ;
    for (; *s; s++) {
        if (*s == '\n')
            uart_putc('\r');
        uart_putc(*s);
    }
    if (locked || got)
        spin_unlock(&console_lock);
}

/* The few libc functions a compiler may call (struct copies, zeroing). */
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);

void *memcpy(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    for (size_t i = 0; i < n; i++) {
        __asm__ volatile("" ::: "memory"); /* no loop-to-memcpy idiom */
        d[i] = s[i];
    }
    return dst;
}
void *memmove(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    if (d <= s || d >= s + n)
        return memcpy(dst, src, n);
    while (n--) {
        __asm__ volatile("" ::: "memory");
        d[n] = s[n];
    }
    return dst;
}
void *memset(void *dst, int c, size_t n)
{
    unsigned char *d = dst;
    for (size_t i = 0; i < n; i++) {
        __asm__ volatile("" ::: "memory");
        d[i] = (unsigned char)c;
    }
    return dst;
}
int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;
    for (size_t i = 0; i < n; i++) {
        __asm__ volatile("" ::: "memory");
        if (x[i] != y[i])
            return x[i] < y[i] ? -1 : 1;
    }
    return 0;
}

/* ---- formatting: %s %c %d %u %x %p with l/z, width, '0', '-' ------------------ */

struct buf {
    char *p;
    size_t n, cap;
};
static void buf_putc(struct buf *b, char c)
{
    if (b->n + 1 < b->cap)
        b->p[b->n++] = c;
}
static void buf_num(struct buf *b, uint64_t v, unsigned base, int neg, int width, char pad,
                    int left)
{
    char t[24];
    int n = 0;
    do {
        unsigned d = (unsigned)(v % base);
        v /= base;
        t[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
    } while (v != 0);
    if (neg)
        t[n++] = '-';
    if (!left)
        for (int i = n; i < width; i++)
            buf_putc(b, pad);
    while (n > 0)
        buf_putc(b, t[--n]);
    if (left)
        for (int i = n; i < width; i++)
            buf_putc(b, ' ');
}
static void buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            buf_putc(b, *fmt);
            continue;
        }
        fmt++;
        int left = 0, width = 0, lng = 0;
        char pad = ' ';
        if (*fmt == '-') {
            left = 1;
            fmt++;
        }
        if (*fmt == '0') {
            pad = '0';
            fmt++;
        }
        while (*fmt >= '0' && *fmt <= '9')
            width = width * 10 + (*fmt++ - '0');
        while (*fmt == 'l' || *fmt == 'z') {
            lng = 1;
            fmt++;
        }
        switch (*fmt) {
        case 's': {
            const char *s = va_arg(ap, const char *);
            int n = 0;
            while (s[n])
                n++;
            if (!left)
                for (int i = n; i < width; i++)
                    buf_putc(b, ' ');
            for (int i = 0; i < n; i++)
                buf_putc(b, s[i]);
            if (left)
                for (int i = n; i < width; i++)
                    buf_putc(b, ' ');
            break;
        }
        case 'c':
            buf_putc(b, (char)va_arg(ap, int));
            break;
        case 'd': {
            long v = lng ? va_arg(ap, long) : va_arg(ap, int);
            buf_num(b, v < 0 ? 0 - (uint64_t)v : (uint64_t)v, 10, v < 0, width, pad, left);
            break;
        }
        case 'u':
            buf_num(b, lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned), 10, 0, width, pad,
                    left);
            break;
        case 'x':
            buf_num(b, lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned), 16, 0, width, pad,
                    left);
            break;
        case 'p':
            buf_num(b, (uintptr_t)va_arg(ap, void *), 16, 0, width, pad, left);
            break;
        case '%':
            buf_putc(b, '%');
            break;
        default:
            buf_putc(b, '?');
        }
    }
}

/* One console line "rv: ...\n", written whole under the console lock. */
__attribute__((format(printf, 1, 2))) static void say(const char *fmt, ...)
{
    char line[256];
    struct buf b = { line, 0, sizeof line - 1 };
    const char *pre = "rv: ";
    while (*pre)
        buf_putc(&b, *pre++);
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    line[b.n++] = '\n';
    line[b.n] = 0;
    console_write(line, 1);
}

/* ---- SBI ------------------------------------------------------------------------ */

struct sbiret {
    long error, value;
};
static struct sbiret sbi_call(long ext, long fid, unsigned long a0, unsigned long a1,
                              unsigned long a2)
{
    register unsigned long r0 __asm__("a0") = a0;
    register unsigned long r1 __asm__("a1") = a1;
    register unsigned long r2 __asm__("a2") = a2;
    register long r6 __asm__("a6") = fid;
    register long r7 __asm__("a7") = ext;
    __asm__ volatile("ecall" : "+r"(r0), "+r"(r1) : "r"(r2), "r"(r6), "r"(r7) : "memory");
    struct sbiret r = { (long)r0, (long)r1 };
    return r;
}
#define SBI_EXT_HSM 0x48534Dl

/* ---- the device tree ---------------------------------------------------------- */

#define FDT_MAGIC 0xd00dfeedu
#define FDT_BEGIN_NODE 1u
#define FDT_END_NODE 2u
#define FDT_PROP 3u
#define FDT_NOP 4u
#define FDT_END 9u
#define MAX_RANGES 16

struct range {
    uint64_t lo, hi;
    const char *what;
};
struct machine {
    struct range mem[MAX_RANGES], resv[MAX_RANGES];
    unsigned nmem, nresv;
    unsigned harts[RV_MAXH], nharts;
    uint64_t timebase;
    const char *bootargs;
    uint32_t fdt_size;
};
static struct machine M;

static uint32_t be32(const void *p)
{
    const uint8_t *b = p;
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}
static uint64_t cells(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v = v << 32 | be32(p + 4 * i);
    return v;
}
static int str_eq(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}
static int str_prefix(const char *s, const char *pre)
{
    while (*pre)
        if (*s++ != *pre++)
            return 0;
    return 1;
}

/* Read what the kernel needs; 0, or -1 if the tree is not one. */
static int fdt_read(const void *fdt)
{
    const uint8_t *h = fdt;
    if (be32(h) != FDT_MAGIC)
        return -1;
    M.fdt_size = be32(h + 4);
    const uint8_t *st = h + be32(h + 8);
    const char *strings = (const char *)h + be32(h + 12);
    /* The memory reservation block: (address, size) pairs up to (0, 0). */
    for (const uint8_t *r = h + be32(h + 16); M.nresv < MAX_RANGES; r += 16) {
        uint64_t a = cells(r, 2), s = cells(r + 8, 2);
        if (a == 0 && s == 0)
            break;
        M.resv[M.nresv++] = (struct range){ a, a + s, "/memreserve/" };
    }
    const char *path[4] = { 0 };
    unsigned acells[4] = { 2, 2, 2, 2 }, scells[4] = { 1, 1, 1, 1 };
    int depth = -1;
    for (const uint8_t *p = st;;) {
        uint32_t tok = be32(p);
        p += 4;
        if (tok == FDT_BEGIN_NODE) {
            const char *name = (const char *)p;
            size_t n = 0;
            while (name[n])
                n++;
            p += (n + 4) & ~(size_t)3;
            depth++;
            if (depth < 4) {
                path[depth] = name;
                /* Defaults for the children, until a property says otherwise. */
                acells[depth] = 2;
                scells[depth] = 1;
            }
        } else if (tok == FDT_END_NODE) {
            depth--;
        } else if (tok == FDT_PROP) {
            uint32_t len = be32(p), nameoff = be32(p + 4);
            const uint8_t *v = p + 8;
            const char *pn = strings + nameoff;
            p = v + ((len + 3) & ~3u);
            if (depth < 0 || depth > 3)
                continue;
            if (str_eq(pn, "#address-cells"))
                acells[depth] = be32(v);
            else if (str_eq(pn, "#size-cells"))
                scells[depth] = be32(v);
            const char *n1 = depth >= 1 ? path[1] : "";
            unsigned pa = depth >= 1 ? acells[depth - 1] : 2;
            unsigned ps = depth >= 1 ? scells[depth - 1] : 2;
            if (depth == 1 && str_prefix(n1, "memory") && str_eq(pn, "reg")) {
                for (uint32_t o = 0; o + 4 * (pa + ps) <= len && M.nmem < MAX_RANGES;
                     o += 4 * (pa + ps)) {
                    uint64_t a = cells(v + o, pa), s = cells(v + o + 4 * pa, ps);
                    M.mem[M.nmem++] = (struct range){ a, a + s, path[1] };
                }
            } else if (depth == 2 && str_eq(n1, "reserved-memory") && str_eq(pn, "reg")) {
                for (uint32_t o = 0; o + 4 * (pa + ps) <= len && M.nresv < MAX_RANGES;
                     o += 4 * (pa + ps)) {
                    uint64_t a = cells(v + o, pa), s = cells(v + o + 4 * pa, ps);
                    M.resv[M.nresv++] = (struct range){ a, a + s, path[2] };
                }
            } else if (depth == 2 && str_eq(n1, "cpus") && str_prefix(path[2], "cpu@") &&
                       str_eq(pn, "reg")) {
                if (M.nharts < RV_MAXH)
                    M.harts[M.nharts] = (unsigned)cells(v, pa);
                M.nharts++;
            } else if (depth == 1 && str_eq(n1, "cpus") && str_eq(pn, "timebase-frequency")) {
                M.timebase = len == 8 ? cells(v, 2) : be32(v);
            } else if (depth == 1 && str_eq(n1, "chosen") && str_eq(pn, "bootargs")) {
                M.bootargs = (const char *)v;
            }
        } else if (tok == FDT_NOP) {
            continue;
        } else if (tok == FDT_END) {
            return 0;
        } else {
            return -1;
        }
    }
}

/* "key=value" in bootargs: the value's start, or NULL. */
static const char *arg(const char *key)
{
    const char *s = M.bootargs;
    if (!s)
        return 0;
    while (*s) {
        while (*s == ' ')
            s++;
        const char *k = key, *t = s;
        while (*k && *t == *k)
            k++, t++;
        if (*k == 0 && *t == '=')
            return t + 1;
        while (*s && *s != ' ')
            s++;
    }
    return 0;
}
static uint64_t arg_num(const char *key, uint64_t def)
{
    const char *v = arg(key);
    if (!v || *v < '0' || *v > '9')
        return def;
    uint64_t n = 0;
    while (*v >= '0' && *v <= '9')
        n = n * 10 + (uint64_t)(*v++ - '0');
    return n;
}
static int arg_is(const char *key, const char *val)
{
    const char *v = arg(key);
    if (!v)
        return 0;
    while (*val && *v == *val)
        v++, val++;
    return *val == 0 && (*v == 0 || *v == ' ');
}

/* ---- shared state --------------------------------------------------------------- */

struct blk {
    uintptr_t p;
    uint64_t tag; /* 0xa1 << 56 | owner hart << 48 | serial */
    unsigned order;
};

struct hart {
    unsigned id;
    uint64_t rng;
    struct blk live[LIVE_MAX];
    unsigned nlive;
    uint64_t serial;
    /* counts */
    unsigned long ops, allocs, frees, sent, cross_frees, nomem, locks, checks, drains;
    unsigned long by_order[MAX_ORDER + 1];
    uint64_t t_start, t_end;
} __attribute__((aligned(64)));

struct mailbox {
    uint32_t lock;
    unsigned head, tail; /* tail - head entries, head first */
    struct blk ring[RING];
} __attribute__((aligned(64)));

static struct analloc A;
static uint64_t meta[ANALLOC_META_SIZE_MAX(ARENA_MAX, PAGE) / 8 + 1];
#if RV_CPU_STORES
static struct analloc_cpu stores[RV_MAXH] __attribute__((aligned(64)));
#endif
static struct hart H[RV_MAXH];
static struct mailbox MB[RV_MAXH];
static uint32_t alloc_lock __attribute__((aligned(64)));
static unsigned nharts, boot_hart;
static unsigned long ops_per_hart;
static unsigned live_max, max_order;
static uint64_t seed;
static int mode_nolock, mode_tag;
static uintptr_t arena_lo, arena_hi;

static unsigned failures, failed, printed_failures;
static unsigned bar_count, bar_gen;
static unsigned started;

/* break=tag: the victim block and its owner, published for the corrupter. */
static struct blk pinned;
static uintptr_t pinned_pub;
static unsigned pin_owner, pin_corrupter;
/* The block that waits in the store of the other hart for the double free. */
static uintptr_t parked_block;

static int last_hook_error;
static const void *last_hook_ptr;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
    __atomic_fetch_add(&failures, 1, __ATOMIC_RELAXED);
    __atomic_store_n(&failed, 1, __ATOMIC_RELEASE);
    if (__atomic_fetch_add(&printed_failures, 1, __ATOMIC_RELAXED) >= 20)
        return;
    char line[256];
    struct buf b = { line, 0, sizeof line - 1 };
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    line[b.n] = 0;
    say("FAIL: hart %u: %s", this_hart(), line);
}
static int has_failed(void)
{
    return __atomic_load_n(&failed, __ATOMIC_ACQUIRE) != 0;
}

_Noreturn void ktrap(unsigned long scause, unsigned long sepc, unsigned long stval,
                     unsigned long hart);
_Noreturn void ktrap(unsigned long scause, unsigned long sepc, unsigned long stval,
                     unsigned long hart)
{
    char line[160];
    struct buf b = { line, 0, sizeof line - 1 };
    const char *pre = "rv: TRAP on hart ";
    while (*pre)
        buf_putc(&b, *pre++);
    buf_num(&b, hart, 10, 0, 0, ' ', 0);
    pre = ": scause 0x";
    while (*pre)
        buf_putc(&b, *pre++);
    buf_num(&b, scause, 16, 0, 0, ' ', 0);
    pre = " sepc 0x";
    while (*pre)
        buf_putc(&b, *pre++);
    buf_num(&b, sepc, 16, 0, 0, ' ', 0);
    pre = " stval 0x";
    while (*pre)
        buf_putc(&b, *pre++);
    buf_num(&b, stval, 16, 0, 0, ' ', 0);
    pre = "\nrv: FAIL (trap)\n";
    while (*pre)
        buf_putc(&b, *pre++);
    line[b.n] = 0;
    console_write(line, 0);
    vm_exit(2);
}

/* A barrier for every hart; a hart that waits BARRIER_SECONDS ends the run. */
static void barrier(const char *what)
{
    unsigned gen = __atomic_load_n(&bar_gen, __ATOMIC_ACQUIRE);
    if (__atomic_fetch_add(&bar_count, 1, __ATOMIC_ACQ_REL) == nharts - 1) {
        __atomic_store_n(&bar_count, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&bar_gen, gen + 1, __ATOMIC_RELEASE);
        return;
    }
    uint64_t deadline = rdtime() + BARRIER_SECONDS * M.timebase;
    while (__atomic_load_n(&bar_gen, __ATOMIC_ACQUIRE) == gen)
        if (rdtime() > deadline) {
            say("FAIL: hart %u: timeout at the barrier \"%s\" (%u of %u harts there)",
                this_hart(), what, __atomic_load_n(&bar_count, __ATOMIC_RELAXED), nharts);
            say("FAIL (timeout)");
            vm_exit(3);
        }
}

/* ---- the allocator's hooks ------------------------------------------------------- */

static void lock_hook(void *ctx)
{
    spin_lock(ctx);
    H[this_hart()].locks++; /* under the lock: only its holder writes */
}
static void unlock_hook(void *ctx)
{
    spin_unlock(ctx);
}
/* break=nolock: hooks that are called and do nothing. */
static void nop_hook(void *ctx)
{
    (void)ctx;
}
static void error_hook(void *ctx, int error, const void *ptr)
{
    (void)ctx;
    last_hook_error = error;
    last_hook_ptr = ptr;
}

/*
 * The two calls of the random phase.  RV_CPU_STORES 0 builds them on the
 * plain API (analloc_alloc/analloc_free under the lock hooks) for a library
 * without the stores' engine; the rest of the kernel is the same.
 */
static void *hart_alloc(unsigned h, size_t size)
{
#if RV_CPU_STORES
    return analloc_cpu_alloc(&stores[h], size);
#else
    (void)h;
    return analloc_alloc(&A, size);
#endif
}
static int hart_free(unsigned h, void *p)
{
#if RV_CPU_STORES
    return analloc_cpu_free(&stores[h], p);
#else
    (void)h;
    return analloc_free(&A, p);
#endif
}

/* ---- tags ------------------------------------------------------------------------ */

#define TAG_MAGIC 0xa1ull
#define PAT_K 0x9e3779b97f4a7c15ull

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}
static uint64_t pattern(uint64_t tag, size_t i)
{
    return i == 0 ? tag : tag ^ (i * PAT_K);
}
static size_t words_of(unsigned order)
{
    return ((size_t)PAGE << order) / 8;
}
/* Blocks of up to 2 pages are filled whole; larger ones at both ends. */
static int whole(unsigned order)
{
    return order <= 1;
}
#define EDGE 8

static void tag_write(const struct blk *b)
{
    volatile uint64_t *w = (volatile uint64_t *)b->p;
    size_t n = words_of(b->order);
    if (whole(b->order)) {
        for (size_t i = 0; i < n; i++)
            w[i] = pattern(b->tag, i);
        return;
    }
    for (size_t i = 0; i < EDGE; i++) {
        w[i] = pattern(b->tag, i);
        w[n - 1 - i] = pattern(b->tag, n - 1 - i);
    }
}
static int tag_word_bad(const struct blk *b, size_t i, const char *when)
{
    volatile uint64_t *w = (volatile uint64_t *)b->p;
    uint64_t got = w[i], want = pattern(b->tag, i);
    if (got == want)
        return 0;
    /* Whose is it?  A word i of another block's pattern: got ^ (i * K). */
    uint64_t t = i == 0 ? got : got ^ (i * PAT_K);
    if (t >> 56 == TAG_MAGIC)
        fail("%s: block %lx (order %u, hart %u's tag %lx): word %lu is %lx, expected %lx:"
             " hart %u's tag %lx",
             when, (unsigned long)b->p, b->order, (unsigned)(b->tag >> 48 & 0xff),
             (unsigned long)b->tag, (unsigned long)i, (unsigned long)got, (unsigned long)want,
             (unsigned)(t >> 48 & 0xff), (unsigned long)t);
    else
        fail("%s: block %lx (order %u, hart %u's tag %lx): word %lu is %lx, expected %lx", when,
             (unsigned long)b->p, b->order, (unsigned)(b->tag >> 48 & 0xff),
             (unsigned long)b->tag, (unsigned long)i, (unsigned long)got, (unsigned long)want);
    return 1;
}
static int tag_check(const struct blk *b, const char *when)
{
    size_t n = words_of(b->order);
    if (whole(b->order)) {
        for (size_t i = 0; i < n; i++)
            if (tag_word_bad(b, i, when))
                return 1;
        return 0;
    }
    for (size_t i = 0; i < EDGE; i++)
        if (tag_word_bad(b, i, when) || tag_word_bad(b, n - 1 - i, when))
            return 1;
    return 0;
}

/* ---- one hart's operations ------------------------------------------------------ */

static unsigned pick_order(uint64_t r)
{
    /* 0: 30%, 1: 25%, 2: 15%, 3: 12%, 4: 10%, 5: 8%; maxorder=N folds the
     * orders above N onto 0..N. */
    static const unsigned char cut[MAX_ORDER + 1] = { 30, 55, 70, 82, 92, 100 };
    unsigned x = (unsigned)(r % 100);
    unsigned o = 0;
    while (x >= cut[o])
        o++;
    return o <= max_order ? o : o % (max_order + 1);
}

/* Allocate a block of order `order` (a size within it), check and tag it. */
static int op_alloc(struct hart *h, unsigned order, uint64_t r)
{
    size_t bytes = (size_t)PAGE << order;
    size_t size = bytes - (size_t)(r % (bytes / 2)); /* (bytes/2, bytes] */
    if (order == 0 && (r & 0xf00) == 0)
        size = 0; /* one page */
    void *p = hart_alloc(h->id, size);
    h->ops++;
    if (!p) {
        h->nomem++;
        return 0;
    }
    uintptr_t a = (uintptr_t)p;
    if (a < arena_lo || a + bytes > arena_hi || (a & (bytes - 1)) != 0) {
        fail("alloc(%lu) of order %u gave %lx: outside the arena [%lx, %lx) or not aligned",
             (unsigned long)size, order, (unsigned long)a, (unsigned long)arena_lo,
             (unsigned long)arena_hi);
        return -1;
    }
    struct blk *b = &h->live[h->nlive++];
    b->p = a;
    b->order = order;
    b->tag = TAG_MAGIC << 56 | (uint64_t)h->id << 48 | (++h->serial & 0xffffffffffffull);
    tag_write(b);
    h->allocs++;
    h->by_order[order]++;
    if ((r >> 32 & 63) == 0) {
        size_t got = analloc_mem_size(&A, p);
        if (got != bytes) {
            fail("analloc_mem_size(%lx) is %lu, expected %lu", (unsigned long)a,
                 (unsigned long)got, (unsigned long)bytes);
            return -1;
        }
    }
    return 0;
}

/* Check a block's tags and free it through hart h's store. */
static int free_checked(struct hart *h, const struct blk *b, const char *when)
{
    if (tag_check(b, when))
        return -1;
    int rc = hart_free(h->id, (void *)b->p);
    if (rc != 0) {
        fail("%s: free of block %lx (order %u, hart %u's) returned %d (%s)", when,
             (unsigned long)b->p, b->order, (unsigned)(b->tag >> 48 & 0xff), rc,
             analloc_strerror(rc));
        return -1;
    }
    return 0;
}

static int op_free(struct hart *h, uint64_t r)
{
    unsigned i = (unsigned)(r % h->nlive);
    struct blk b = h->live[i];
    h->live[i] = h->live[--h->nlive];
    h->ops++;
    h->frees++;
    return free_checked(h, &b, "before free");
}

/* Send one of h's blocks to hart `to`; if its mailbox is full, free it here. */
static int op_send(struct hart *h, uint64_t r)
{
    unsigned to = (unsigned)((h->id + 1 + (r >> 20) % (nharts - 1)) % nharts);
    unsigned i = (unsigned)(r % h->nlive);
    struct blk b = h->live[i];
    h->live[i] = h->live[--h->nlive];
    h->ops++;
    struct mailbox *m = &MB[to];
    spin_lock(&m->lock);
    int full = m->tail - m->head == RING;
    if (!full)
        m->ring[m->tail++ % RING] = b;
    spin_unlock(&m->lock);
    if (!full) {
        h->sent++;
        return 0;
    }
    h->frees++;
    return free_checked(h, &b, "before free");
}

/* Free every block in h's mailbox (another hart's blocks). */
static int mailbox_drain(struct hart *h)
{
    struct mailbox *m = &MB[h->id];
    for (;;) {
        struct blk b;
        spin_lock(&m->lock);
        int empty = m->tail == m->head;
        if (!empty)
            b = m->ring[m->head++ % RING];
        spin_unlock(&m->lock);
        if (empty)
            return 0;
        h->cross_frees++;
        if (free_checked(h, &b, "before a cross-hart free"))
            return -1;
    }
}

static void random_phase(struct hart *h)
{
    int corrupted = 0;
    h->t_start = rdtime();
    for (unsigned long i = 0; i < ops_per_hart && !has_failed(); i++) {
        if ((i & 7) == 0 && mailbox_drain(h))
            break;
        uint64_t r = xorshift(&h->rng);
        unsigned pick = (unsigned)(r >> 40) % 100;
        int rc;
        if (h->nlive == 0 || (h->nlive < live_max && pick < 50))
            rc = op_alloc(h, pick_order(r >> 8), r);
        else if (pick < 80 || nharts == 1)
            rc = op_free(h, r);
        else
            rc = op_send(h, r);
        if (rc)
            break;
        if (h->id == boot_hart && i % CHECK_EVERY == CHECK_EVERY - 1) {
            h->checks++;
            int c = analloc_check(&A);
            if (c != 0) {
                fail("analloc_check during the random phase, after %lu operations: %d (%s)",
                     i + 1, c, analloc_strerror(c));
                break;
            }
        }
        /* Another hart gives every store (and the cache) back meanwhile. */
        if (h->id == (boot_hart + 1) % nharts && nharts > 1 &&
            i % DRAIN_EVERY == DRAIN_EVERY - 1) {
            h->drains++;
            analloc_drain(&A);
        }
        /* The block another hart keeps for break=tag, pinned halfway. */
        if (h->id == pin_owner && i == ops_per_hart / 2) {
            void *p = hart_alloc(h->id, PAGE * 2);
            if (!p) {
                fail("no block for the pinned block");
                break;
            }
            pinned = (struct blk){ (uintptr_t)p, TAG_MAGIC << 56 | (uint64_t)h->id << 48 | 0xfffffffull, 1 };
            tag_write(&pinned);
            __atomic_store_n(&pinned_pub, pinned.p, __ATOMIC_RELEASE);
        }
        if (mode_tag && h->id == pin_corrupter && !corrupted &&
            __atomic_load_n(&pinned_pub, __ATOMIC_ACQUIRE) != 0) {
            /* The negative control: write our own tag over the other's. */
            *(volatile uint64_t *)pinned.p = TAG_MAGIC << 56 | (uint64_t)h->id << 48 | 0xbad;
            corrupted = 1;
            say("break=tag: hart %u overwrote the tag of hart %u's block %lx", h->id, pin_owner,
                (unsigned long)pinned.p);
        }
    }
    /* break=tag: the corrupter may finish before the owner pins its block. */
    uint64_t deadline = rdtime() + BARRIER_SECONDS * M.timebase;
    while (mode_tag && h->id == pin_corrupter && !corrupted && !has_failed()) {
        if (__atomic_load_n(&pinned_pub, __ATOMIC_ACQUIRE) != 0) {
            *(volatile uint64_t *)pinned.p = TAG_MAGIC << 56 | (uint64_t)h->id << 48 | 0xbad;
            corrupted = 1;
            say("break=tag: hart %u overwrote the tag of hart %u's block %lx", h->id, pin_owner,
                (unsigned long)pinned.p);
        } else if (rdtime() > deadline) {
            fail("break=tag: hart %u's block was never pinned", pin_owner);
        }
    }
    h->t_end = rdtime();
}

/* After the random phase: no more sends.  Empty the mailbox, free all. */
static void free_everything(struct hart *h)
{
    if (mailbox_drain(h))
        return;
    while (h->nlive > 0) {
        struct blk b = h->live[--h->nlive];
        h->frees++;
        if (free_checked(h, &b, "at the end, before free"))
            return;
    }
    if (h->id == pin_owner && pinned.p) {
        if (free_checked(h, &pinned, "at the end, the pinned block, before free"))
            return;
        pinned.p = 0;
    }
}

/* ---- bad calls (one hart) ------------------------------------------------------- */

static unsigned bad_calls;

static void expect(const char *what, int got, int want, int hook_want, size_t free_before)
{
    bad_calls++;
    if (got != want)
        fail("bad call %s returned %d (%s), expected %d (%s)", what, got, analloc_strerror(got),
             want, analloc_strerror(want));
    if (hook_want != 0 && last_hook_error != hook_want)
        fail("bad call %s: the error hook heard %d, expected %d", what, last_hook_error,
             hook_want);
    if (analloc_free_bytes(&A) != free_before)
        fail("bad call %s changed the free bytes: %lu, were %lu", what,
             (unsigned long)analloc_free_bytes(&A), (unsigned long)free_before);
    last_hook_error = 0;
}

struct parked_ctx {
    uintptr_t p;
    unsigned kind;
};
static int parked_cb(void *ctx, void *block, size_t bytes, unsigned kind)
{
    struct parked_ctx *pc = ctx;
    if ((uintptr_t)block <= pc->p && pc->p < (uintptr_t)block + bytes)
        pc->kind = kind;
    return 0;
}

/* The double free of the parked block, which waits in another hart's store
 * (plain API: in the block cache). */
static void bad_double_free(struct hart *h)
{
    size_t fb = analloc_free_bytes(&A);
    void *parked = (void *)parked_block;
    expect("double free (the block waits in another hart's store)", hart_free(h->id, parked),
           ANALLOC_EFREE, ANALLOC_EFREE, fb);
    expect("double free by analloc_free (the block waits in another hart's store)",
           analloc_free(&A, parked), ANALLOC_EFREE, ANALLOC_EFREE, fb);
    bad_calls++;
    if (analloc_mem_size(&A, parked) != 0)
        fail("analloc_mem_size of the block in another hart's store is %lu, expected 0",
             (unsigned long)analloc_mem_size(&A, parked));
    bad_calls++;
    if (analloc_realloc(&A, parked, 2 * PAGE) != 0 || last_hook_error != ANALLOC_EFREE)
        fail("analloc_realloc of the block in another hart's store did not fail with "
             "ANALLOC_EFREE (the hook heard %d)", last_hook_error);
    last_hook_error = 0;
    if (analloc_free_bytes(&A) != fb)
        fail("analloc_realloc of a block in a store changed the free bytes");
    /* What the header does not say: how a walk and the statistics see a
     * block in a store.  Reported, not checked. */
    struct parked_ctx pc = { (uintptr_t)parked, 0 };
    analloc_walk(&A, ANALLOC_BLOCK_ALL, parked_cb, &pc);
    struct analloc_stats st = { .size = sizeof st };
    analloc_stats(&A, &st);
    say("the parked block (%s): walk kind %s, stats free %lu KiB, cached %lu KiB "
        "(%lu blocks), live %lu",
        RV_CPU_STORES ? "in another hart's store" : "in the block cache",
        pc.kind == ANALLOC_BLOCK_USED     ? "used"
        : pc.kind == ANALLOC_BLOCK_FREE   ? "free"
        : pc.kind == ANALLOC_BLOCK_CACHED ? "cached"
        : pc.kind == 0                    ? "(not visited)"
                                          : "other",
        (unsigned long)st.free_bytes / 1024, (unsigned long)st.cached_bytes / 1024,
        (unsigned long)st.cached_blocks, (unsigned long)st.live_blocks);
}

/* The other bad calls, before the block is parked: an allocation here may
 * give every store back (and merge the cache). */
static void bad_calls_run(struct hart *h)
{
    size_t fb;
    /* A live block of 4 pages. */
    char *q = hart_alloc(h->id, 4 * PAGE);
    if (!q) {
        fail("bad calls: no block of 4 pages");
        return;
    }
    fb = analloc_free_bytes(&A);
    expect("interior pointer (second page of a live block)", hart_free(h->id, q + PAGE),
           ANALLOC_EINTERIOR, ANALLOC_EINTERIOR, fb);
    expect("pointer inside the first page", hart_free(h->id, q + 8), ANALLOC_EALIGN,
           ANALLOC_EALIGN, fb);
    expect("pointer below the arena", hart_free(h->id, (void *)(arena_lo - PAGE)), ANALLOC_ERANGE,
           ANALLOC_ERANGE, fb);
    expect("pointer at the arena's end", hart_free(h->id, (void *)arena_hi), ANALLOC_ERANGE,
           ANALLOC_ERANGE, fb);
    expect("free(NULL)", hart_free(h->id, 0), 0, 0, fb);
    /* A reserved page: a block of the first order no cache keeps, freed
     * (merged at once), its first page reserved. */
    struct analloc_stats st = { .size = sizeof st };
    analloc_stats(&A, &st);
    size_t big = (size_t)PAGE << st.cache_orders;
    void *r = analloc_alloc(&A, big);
    if (!r || analloc_free(&A, r) != 0) {
        fail("bad calls: no block of %lu bytes to reserve", (unsigned long)big);
    } else {
        int rc = analloc_reserve(&A, (uintptr_t)r, PAGE);
        if (rc != 0) {
            fail("analloc_reserve of a free page: %d (%s)", rc, analloc_strerror(rc));
        } else {
            fb = analloc_free_bytes(&A);
            expect("pointer to a reserved page", hart_free(h->id, r), ANALLOC_ERESERVED,
                   ANALLOC_ERESERVED, fb);
            expect("unaligned pointer into a reserved page",
                   hart_free(h->id, (char *)r + 24), ANALLOC_ERESERVED, ANALLOC_ERESERVED, fb);
            expect("reserve a reserved page", analloc_reserve(&A, (uintptr_t)r, PAGE),
                   ANALLOC_EBUSY, 0, fb);
            rc = analloc_release(&A, (uintptr_t)r, PAGE);
            if (rc != 0)
                fail("analloc_release: %d (%s)", rc, analloc_strerror(rc));
        }
    }
    fb = analloc_free_bytes(&A);
    expect("reserve a live page", analloc_reserve(&A, (uintptr_t)q, PAGE), ANALLOC_EBUSY, 0, fb);
#if RV_CPU_STORES
    static struct analloc_cpu loose; /* never attached */
    expect("analloc_cpu_free through a store never attached", analloc_cpu_free(&loose, q),
           ANALLOC_EINVAL, 0, fb);
    if (analloc_cpu_alloc(&loose, PAGE) != 0)
        fail("analloc_cpu_alloc through a store never attached gave a block");
    expect("attach an attached store", analloc_cpu_attach(&A, &stores[h->id]), ANALLOC_EBUSY, 0,
           fb);
    expect("analloc_set_cache with stores attached", analloc_set_cache(&A, 8), ANALLOC_EBUSY, 0,
           fb);
#endif
    int rc = hart_free(h->id, q);
    if (rc != 0)
        fail("free of the 4-page block: %d (%s)", rc, analloc_strerror(rc));
    fb = analloc_free_bytes(&A);
    expect("double free of a block just freed", hart_free(h->id, q), ANALLOC_EFREE, ANALLOC_EFREE,
           fb);
}

/* ---- the end: walk and compare ------------------------------------------------- */

struct walk_ctx {
    uintptr_t next;
    size_t free_pages, used_pages, cached_pages, reserved_pages, blocks;
    int bad;
};
static int walk_cb(void *ctx, void *block, size_t bytes, unsigned kind)
{
    struct walk_ctx *w = ctx;
    uintptr_t a = (uintptr_t)block;
    if (kind != ANALLOC_BLOCK_RESERVED) {
        if (a != w->next)
            w->bad = 1; /* a gap or an overlap */
        w->next = a + bytes;
    }
    w->blocks++;
    size_t pages = bytes / PAGE;
    if (kind == ANALLOC_BLOCK_FREE)
        w->free_pages += pages;
    else if (kind == ANALLOC_BLOCK_USED)
        w->used_pages += pages;
    else if (kind == ANALLOC_BLOCK_CACHED)
        w->cached_pages += pages;
    else
        w->reserved_pages += pages;
    return 0;
}

static size_t setup_free, setup_largest;

static void final_checks(void)
{
    analloc_drain(&A);
    int c = analloc_check(&A);
    if (c != 0)
        fail("analloc_check at the end: %d (%s)", c, analloc_strerror(c));
    struct walk_ctx w = { .next = (uintptr_t)A.start };
    int rc = analloc_walk(&A, ANALLOC_BLOCK_ALL, walk_cb, &w);
    size_t pages = A.managed / PAGE;
    say("walk at the end: %lu blocks, %lu pages free, %lu used, %lu cached, %lu reserved; "
        "managed %lu pages",
        (unsigned long)w.blocks, (unsigned long)w.free_pages, (unsigned long)w.used_pages,
        (unsigned long)w.cached_pages, (unsigned long)w.reserved_pages, (unsigned long)pages);
    if (rc != 0 || w.bad || w.next != (uintptr_t)A.start + A.managed)
        fail("walk at the end: returned %d, the blocks do not tile the arena", rc);
    if (w.free_pages != pages || w.used_pages || w.cached_pages || w.reserved_pages)
        fail("walk at the end: %lu free pages of %lu, %lu used, %lu cached, %lu reserved",
             (unsigned long)w.free_pages, (unsigned long)pages, (unsigned long)w.used_pages,
             (unsigned long)w.cached_pages, (unsigned long)w.reserved_pages);
    size_t fb = analloc_free_bytes(&A), lf = analloc_largest_free(&A);
    say("at the end: free %lu KiB (after setup %lu KiB), largest free %lu KiB (after setup %lu KiB)",
        (unsigned long)fb / 1024, (unsigned long)setup_free / 1024, (unsigned long)lf / 1024,
        (unsigned long)setup_largest / 1024);
    if (fb != setup_free || lf != setup_largest)
        fail("at the end: free bytes %lu and largest free %lu, after setup %lu and %lu",
             (unsigned long)fb, (unsigned long)lf, (unsigned long)setup_free,
             (unsigned long)setup_largest);
#if RV_CPU_STORES
    /* The block cache stays off after the last detach, until it is set. */
    struct analloc_stats st = { .size = sizeof st };
    analloc_stats(&A, &st);
    if (st.cache_slots != 0)
        fail("after the last detach the block cache has %u slots, expected 0 (off)",
             st.cache_slots);
    rc = analloc_set_cache(&A, st.cache_slots_max);
    if (rc != 0)
        fail("analloc_set_cache after the last detach: %d (%s)", rc, analloc_strerror(rc));
#endif
}

/* ---- every hart ----------------------------------------------------------------- */

static void summary_and_exit(void);

static void hart_main(unsigned id)
{
    struct hart *h = &H[id];
    barrier("start");
    random_phase(h);
    barrier("random phase done");
    free_everything(h);
    barrier("all freed");
    if (id == boot_hart)
        bad_calls_run(h);
    barrier("bad calls done");
    /* The other hart's store keeps one block for the double free. */
    unsigned parker = (boot_hart + 1) % nharts;
    if (id == parker) {
        void *p = hart_alloc(id, PAGE);
        if (!p || hart_free(id, p) != 0)
            fail("no block to park in the store");
        parked_block = (uintptr_t)p;
    }
    barrier("block parked");
    if (id == boot_hart)
        bad_double_free(h);
    barrier("double free done");
    if (id == parker) {
        /* The newest block of its order in the store comes back first. */
        void *p = hart_alloc(id, PAGE);
        if ((uintptr_t)p != parked_block)
            fail("the store of hart %u gave %p, not its newest block %lx", id, p,
                 (unsigned long)parked_block);
        if (p && hart_free(id, p) != 0)
            fail("free of the parked block failed");
    }
    barrier("parked block back");
#if RV_CPU_STORES
    /* Hot unplug: each hart detaches its store, but the last hart's store is
     * detached by the entering hart once the last hart has stopped. */
    unsigned last = (boot_hart + nharts - 1) % nharts;
    if (id != last || nharts == 1) {
        int rc = analloc_cpu_detach(&stores[id]);
        if (rc != 0)
            fail("analloc_cpu_detach of its own store: %d (%s)", rc, analloc_strerror(rc));
    }
    barrier("own stores detached");
    if (id == boot_hart && nharts > 1) {
        int rc = analloc_cpu_detach(&stores[last]);
        if (rc != 0)
            fail("analloc_cpu_detach of hart %u's store from hart %u: %d (%s)", last, id, rc,
                 analloc_strerror(rc));
        rc = analloc_cpu_detach(&stores[last]);
        if (rc != ANALLOC_EINVAL)
            fail("analloc_cpu_detach twice: %d, expected ANALLOC_EINVAL", rc);
        say("stores detached: %u by their owners, hart %u's by hart %u", nharts - 1, last, id);
    }
#endif
    barrier("stores detached");
    if (id == boot_hart) {
        final_checks();
        summary_and_exit();
    }
    for (;;)
        __asm__ volatile("wfi");
}

void secondary_main(unsigned long hartid);
void secondary_main(unsigned long hartid)
{
    __atomic_fetch_add(&started, 1, __ATOMIC_ACQ_REL);
    hart_main((unsigned)hartid);
}

static void summary_and_exit(void)
{
    unsigned long ops = 0, cross = 0, sent = 0, locks = 0, nomem = 0;
    uint64_t t0 = ~0ull, t1 = 0;
    for (unsigned i = 0; i < nharts; i++) {
        struct hart *h = &H[i];
        say("hart %u: %lu operations (alloc %lu, free %lu, sent %lu, no memory %lu), "
            "cross-hart frees %lu, lock sections %lu, orders 0-5: %lu %lu %lu %lu %lu %lu, %lu ms",
            i, h->ops, h->allocs, h->frees, h->sent, h->nomem, h->cross_frees, h->locks,
            h->by_order[0], h->by_order[1], h->by_order[2], h->by_order[3], h->by_order[4],
            h->by_order[5], (unsigned long)((h->t_end - h->t_start) * 1000 / M.timebase));
        ops += h->ops;
        cross += h->cross_frees;
        sent += h->sent;
        locks += h->locks;
        nomem += h->nomem;
        if (h->t_start < t0)
            t0 = h->t_start;
        if (h->t_end > t1)
            t1 = h->t_end;
    }
    if (cross != sent)
        fail("%lu blocks sent, %lu freed by their receivers", sent, cross);
    unsigned f = __atomic_load_n(&failures, __ATOMIC_ACQUIRE);
    say("summary: %u harts, %s, seed %lu, %lu operations per hart, %lu in all, cross-hart "
        "frees %lu, lock sections %lu, no memory %lu, during the run analloc_check %lu and "
        "analloc_drain %lu, bad calls %u, random phase %lu ms, failures %u",
        nharts, RV_CPU_STORES ? "per-CPU stores" : "plain API (no stores)",
        (unsigned long)seed, ops_per_hart, ops, cross, locks, nomem, H[boot_hart].checks,
        H[(boot_hart + 1) % nharts].drains, bad_calls,
        (unsigned long)((t1 - t0) * 1000 / M.timebase), f);
    if (f) {
        say("FAIL (%u failures)", f);
        vm_exit(1);
    }
    say("PASS (%u harts, %lu operations, %lu cross-hart frees, 0 failures)", nharts, ops, cross);
    vm_exit(0);
}

/* ---- the entering hart ------------------------------------------------------- */

extern char _kernel_start[], _kernel_end[];
extern char secondary_entry[];

static void add_resv(uint64_t lo, uint64_t hi, const char *what)
{
    if (M.nresv < MAX_RANGES)
        M.resv[M.nresv++] = (struct range){ lo, hi, what };
}

/* The largest stretch of a memory range that no reservation touches. */
static void pick_arena(uint64_t *lo, uint64_t *hi)
{
    *lo = *hi = 0;
    for (unsigned m = 0; m < M.nmem; m++) {
        /* Candidate starts: the range's start and each reservation's end. */
        for (unsigned c = 0; c <= M.nresv; c++) {
            uint64_t s = c == 0 ? M.mem[m].lo : M.resv[c - 1].hi;
            if (s < M.mem[m].lo || s >= M.mem[m].hi)
                continue;
            uint64_t e = M.mem[m].hi;
            int inside = 0;
            for (unsigned r = 0; r < M.nresv; r++) {
                if (M.resv[r].lo <= s && s < M.resv[r].hi)
                    inside = 1;
                if (M.resv[r].lo > s && M.resv[r].lo < e)
                    e = M.resv[r].lo;
            }
            s = (s + PAGE - 1) & ~(uint64_t)(PAGE - 1);
            e &= ~(uint64_t)(PAGE - 1);
            if (!inside && e > s && e - s > *hi - *lo)
                *lo = s, *hi = e;
        }
    }
    if (*hi - *lo > ARENA_MAX)
        *hi = *lo + ARENA_MAX;
}

void kmain(unsigned long hartid, void *fdt);
void kmain(unsigned long hartid, void *fdt)
{
    boot_hart = (unsigned)hartid;
    say("analloc riscv64 test kernel: entered on hart %lu (OpenSBI's lottery), device tree at %p",
        hartid, fdt);
    if (fdt_read(fdt) != 0) {
        say("FAIL: no device tree at %p", fdt);
        vm_exit(4);
    }
    if (M.timebase == 0)
        M.timebase = 10000000;
    seed = arg_num("seed", 1);
    ops_per_hart = arg_num("ops", 100000);
    max_order = (unsigned)arg_num("maxorder", MAX_ORDER);
    if (max_order > MAX_ORDER)
        max_order = MAX_ORDER;
    live_max = (unsigned)arg_num("live", 64);
    if (live_max == 0 || live_max > LIVE_MAX)
        live_max = LIVE_MAX;
    mode_nolock = arg_is("break", "nolock");
    mode_tag = arg_is("break", "tag");
    say("bootargs: \"%s\"; seed %lu, %lu operations per hart, orders 0-%u, up to %u live "
        "blocks each%s",
        M.bootargs ? M.bootargs : "", (unsigned long)seed, ops_per_hart, max_order, live_max,
        mode_nolock ? ", break=nolock: lock hooks that do nothing"
        : mode_tag  ? ", break=tag: one hart overwrites another's tag"
                    : "");
    if (arg_is("break", "trap"))
        __asm__ volatile(".word 0"); /* an illegal instruction */

    nharts = M.nharts;
    for (unsigned i = 0; i < nharts; i++)
        if (nharts > RV_MAXH || M.harts[i] != i) {
            say("FAIL: harts must be 0..%u (at most %u); the tree lists %u", nharts - 1, RV_MAXH,
                nharts);
            vm_exit(4);
        }
    say("harts: %u, timebase %lu Hz", nharts, (unsigned long)M.timebase);
    add_resv((uintptr_t)_kernel_start, (uintptr_t)_kernel_end, "kernel image");
    add_resv((uintptr_t)fdt, (uintptr_t)fdt + M.fdt_size, "device tree");
    for (unsigned i = 0; i < M.nmem; i++)
        say("memory  [%lx, %lx) %lu KiB  %s", (unsigned long)M.mem[i].lo,
            (unsigned long)M.mem[i].hi, (unsigned long)(M.mem[i].hi - M.mem[i].lo) / 1024,
            M.mem[i].what);
    for (unsigned i = 0; i < M.nresv; i++)
        say("reserve [%lx, %lx) %lu KiB  %s", (unsigned long)M.resv[i].lo,
            (unsigned long)M.resv[i].hi, (unsigned long)(M.resv[i].hi - M.resv[i].lo) / 1024,
            M.resv[i].what);
    uint64_t lo, hi;
    pick_arena(&lo, &hi);
    arena_lo = lo;
    arena_hi = hi;
    int rc = analloc_init(&A, (void *)lo, hi - lo, PAGE, meta, sizeof meta);
    if (rc != 0) {
        say("FAIL: analloc_init [%lx, %lx): %d (%s)", (unsigned long)lo, (unsigned long)hi, rc,
            analloc_strerror(rc));
        vm_exit(4);
    }
    say("arena [%lx, %lx) %lu KiB, %lu pages of %u bytes, depth %lu, metadata %lu bytes at %p "
        "(outside the arena)",
        (unsigned long)lo, (unsigned long)hi, (unsigned long)(hi - lo) / 1024,
        (unsigned long)(A.managed / PAGE), PAGE, (unsigned long)A.depth,
        (unsigned long)analloc_meta_bytes(&A), (void *)meta);
    if (mode_nolock)
        rc = analloc_set_lock(&A, nop_hook, nop_hook, &alloc_lock);
    else
        rc = analloc_set_lock(&A, lock_hook, unlock_hook, &alloc_lock);
    if (rc == 0)
        analloc_set_error_hook(&A, error_hook, 0);
#if RV_CPU_STORES
    for (unsigned i = 0; i < nharts && rc == 0; i++)
        rc = analloc_cpu_attach(&A, &stores[i]);
#endif
    if (rc != 0) {
        say("FAIL: setting up the hooks and stores: %d (%s)", rc, analloc_strerror(rc));
        vm_exit(4);
    }
    setup_free = analloc_free_bytes(&A);
    setup_largest = analloc_largest_free(&A);
    say("after setup: free %lu KiB, largest free %lu KiB; %s", (unsigned long)setup_free / 1024,
        (unsigned long)setup_largest / 1024,
        RV_CPU_STORES ? "one per-CPU store attached per hart"
                      : "plain API: analloc_alloc/analloc_free under the lock (no stores)");

    for (unsigned i = 0; i < nharts; i++) {
        uint64_t s = seed * 0x9e3779b97f4a7c15ull + (i + 1) * 0xbf58476d1ce4e5b9ull;
        H[i].id = i;
        H[i].rng = s ? s : 1;
    }
    pin_owner = (boot_hart + nharts - 1) % nharts;
    pin_corrupter = (boot_hart + 1) % nharts;
    if (pin_corrupter == pin_owner)
        pin_corrupter = boot_hart;
    for (unsigned i = 0; i < nharts; i++) {
        if (i == boot_hart)
            continue;
        struct sbiret r = sbi_call(SBI_EXT_HSM, 0, i, (uintptr_t)secondary_entry, 0);
        if (r.error != 0) {
            say("FAIL: SBI HSM hart_start(%u): error %ld", i, r.error);
            vm_exit(4);
        }
    }
    say("started %u harts with SBI HSM", nharts - 1);
    hart_main(boot_hart);
}
