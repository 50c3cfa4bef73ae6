/*
 * kernel.c - a minimal multiboot (v1) i386 kernel that hands the machine's
 * RAM to analloc and puts the allocator through a self-test on real memory.
 *
 *  1. Read the bootloader's memory map (multiboot mmap entries, or
 *     mem_lower/mem_upper) and print it on COM1.
 *  2. One allocator over the span from the first usable page above the
 *     kernel image to the end of the highest usable region below 4 GiB,
 *     analloc_with_chunk with the struct analloc inside the chunk's used
 *     prefix (as in the seed: pre-allocated data first, here the boot
 *     loader's strings when they lie right after the kernel, then the
 *     struct; the metadata follows).  Every hole and firmware area in the
 *     span, and any boot structure in it, is then reserved.
 *  3. A self-test: deterministic random allocations of mixed orders, frees,
 *     reallocs, ANALLOC_LOW / ANALLOC_HIGH placement, DMA-style
 *     analloc_alloc_range below 16 MiB, over-aligned blocks; a pattern in
 *     every block, verified before it is freed; analloc_check and a walk of
 *     the whole arena at intervals; at the end everything freed, drained and
 *     compared with the state after setup.
 *  4. A summary and the free-memory map on COM1, then an exit through QEMU's
 *     isa-debug-exit device: 0 (QEMU exits 1) on success, 1 (QEMU exits 3)
 *     on failure, 2 (QEMU exits 5) on a CPU exception.
 *
 * Kernel command line (QEMU -append), for tests of the test:
 *   seed=N        the PRNG seed (default 1)
 *   ops=N         random operations (default 6000)
 *   hole=A:S      pretend the firmware reserved [A, A+S) (K/M/G suffixes)
 *   nommap        ignore the mmap entries: use mem_lower/mem_upper
 *   break=WHAT    negative controls, each must make the run fail:
 *                 pattern (overwrite a word of a live block), meta (flip a
 *                 metadata bit), leak (keep one block at the end), hang
 *                 (loop forever: the caller's timeout must catch it),
 *                 fault (divide by zero: a CPU exception)
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "analloc.h"
#include "analloc/buddy.h"

#define PAGE 4096u
#define KIB 1024u
#define MIB (1024u * 1024u)
#define DMA_LIMIT (16u * MIB)

/* ---- ports, serial, exit ------------------------------------------------- */

static inline void outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}
static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
static inline void outl(uint16_t port, uint32_t v)
{
    __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

#define COM1 0x3f8
static void serial_init(void)
{
    outb(COM1 + 1, 0x00); /* no interrupts */
    outb(COM1 + 3, 0x80); /* DLAB */
    outb(COM1 + 0, 0x01); /* 115200 baud */
    outb(COM1 + 1, 0x00);
    outb(COM1 + 3, 0x03); /* 8N1 */
    outb(COM1 + 2, 0xc7); /* FIFO on, cleared */
    outb(COM1 + 4, 0x03); /* DTR, RTS */
}
static void serial_putc(char c)
{
    if (c == '\n')
        serial_putc('\r');
    while ((inb(COM1 + 5) & 0x20) == 0)
        ;
    outb(COM1, (uint8_t)c);
}
static void serial_puts(const char *s)
{
    while (*s)
        serial_putc(*s++);
}

static _Noreturn void qemu_exit(uint32_t code)
{
    outl(0xf4, code); /* isa-debug-exit: QEMU exits with (code << 1) | 1 */
    for (;;)
        __asm__ volatile("cli; hlt");
}

/* ---- the few libc functions a compiler may call -------------------------- */

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);

void *memcpy(void *dst, const void *src, size_t n)
{
    void *d = dst;
    __asm__ volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(n) : : "memory");
    return dst;
}
void *memmove(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    if (d <= s || d >= s + n)
        return memcpy(dst, src, n);
    while (n--) {
        __asm__ volatile("" ::: "memory"); /* no loop-to-memmove idiom */
        d[n] = s[n];
    }
    return dst;
}
void *memset(void *dst, int c, size_t n)
{
    void *d = dst;
    __asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
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
static size_t kstrlen(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

/* ---- kprintf: %s %c %d %u %x %p %zu %zx %llx, width, '0', '-' ----------- */

static void put_u64(uint64_t v, unsigned base, int width, char pad, int left)
{
    char buf[24];
    int n = 0;
    do {
        /* Base 10 only for values below 2^32: no 64-bit division (libgcc). */
        unsigned d;
        if (base == 16) {
            d = (unsigned)(v & 15u);
            v >>= 4;
        } else {
            uint32_t w = (uint32_t)v;
            d = w % 10u;
            v = w / 10u;
        }
        buf[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
    } while (v != 0 && n < (int)sizeof buf);
    if (!left)
        for (int i = n; i < width; i++)
            serial_putc(pad);
    while (n > 0)
        serial_putc(buf[--n]);
    if (left)
        for (int i = n; i < width; i++)
            serial_putc(' ');
}

static void kvprintf(const char *fmt, va_list ap)
{
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            serial_putc(*fmt);
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
            lng += *fmt == 'l';
            fmt++;
        }
        switch (*fmt) {
        case 's': {
            const char *s = va_arg(ap, const char *);
            int n = (int)kstrlen(s);
            if (!left)
                for (int i = n; i < width; i++)
                    serial_putc(' ');
            serial_puts(s);
            if (left)
                for (int i = n; i < width; i++)
                    serial_putc(' ');
            break;
        }
        case 'c':
            serial_putc((char)va_arg(ap, int));
            break;
        case 'd': {
            int v = va_arg(ap, int);
            if (v < 0) {
                serial_putc('-');
                v = -v;
            }
            put_u64((unsigned)v, 10, width, pad, left);
            break;
        }
        case 'u':
            put_u64(va_arg(ap, unsigned), 10, width, pad, left);
            break;
        case 'x':
            if (lng >= 2)
                put_u64(va_arg(ap, uint64_t), 16, width, pad, left);
            else
                put_u64(va_arg(ap, unsigned), 16, width, pad, left);
            break;
        case 'p':
            serial_puts("0x");
            put_u64((uintptr_t)va_arg(ap, void *), 16, 8, '0', 0);
            break;
        default:
            serial_putc('%');
            serial_putc(*fmt);
        }
    }
}

static void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void kprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kvprintf(fmt, ap);
    va_end(ap);
}

/* ---- failures ------------------------------------------------------------ */

static unsigned failures;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
    va_list ap;
    failures++;
    if (failures > 20)
        return; /* counted, not printed */
    serial_puts("FAIL: ");
    va_start(ap, fmt);
    kvprintf(fmt, ap);
    va_end(ap);
    serial_putc('\n');
}

static _Noreturn void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static _Noreturn void fatal(const char *fmt, ...)
{
    va_list ap;
    serial_puts("FATAL: ");
    va_start(ap, fmt);
    kvprintf(fmt, ap);
    va_end(ap);
    serial_puts("\nANALLOC-KERNEL: FAIL (setup)\n");
    qemu_exit(1);
}

/* ---- CPU exceptions ------------------------------------------------------ */

extern const uint32_t isr_table[32];
struct idt_gate {
    uint16_t off_lo, sel;
    uint8_t zero, type;
    uint16_t off_hi;
} __attribute__((packed));
static struct idt_gate idt[32];

void kexception(uint32_t vector, uint32_t error, uint32_t eip);
void kexception(uint32_t vector, uint32_t error, uint32_t eip)
{
    kprintf("\nCPU EXCEPTION %u (error %x) at eip %x\nANALLOC-KERNEL: FAIL (exception)\n",
            vector, error, eip);
    qemu_exit(2);
}

static void idt_init(void)
{
    for (unsigned i = 0; i < 32; i++) {
        idt[i].off_lo = (uint16_t)(isr_table[i] & 0xffffu);
        idt[i].sel = 0x08;
        idt[i].zero = 0;
        idt[i].type = 0x8e; /* present, ring 0, 32-bit interrupt gate */
        idt[i].off_hi = (uint16_t)(isr_table[i] >> 16);
    }
    struct {
        uint16_t limit;
        uint32_t base;
    } __attribute__((packed)) ptr = {sizeof idt - 1, (uint32_t)(uintptr_t)idt};
    __asm__ volatile("lidt %0" : : "m"(ptr));
}

/* ---- multiboot ----------------------------------------------------------- */

#define MB_BOOT_MAGIC 0x2BADB002u
struct mb_info {
    uint32_t flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
    uint32_t syms[4];
    uint32_t mmap_length, mmap_addr;
    uint32_t drives_length, drives_addr, config_table, boot_loader_name, apm_table;
};
struct mb_mmap {
    uint32_t size;
    uint64_t base, len;
    uint32_t type;
} __attribute__((packed));
struct mb_mod {
    uint32_t start, end, string, reserved;
};

/* The memory map, copied out of the multiboot information. */
#define MAXMAP 64
struct region {
    uint64_t base, len;
    uint32_t type; /* 1 usable, 2 reserved, 3 ACPI, 4 NVS, 5 bad; 0x100|t from hole= */
};
static struct region map[MAXMAP];
static unsigned nmap;

/* Memory that holds something: the kernel image, the boot loader's data. */
#define MAXBOOT 24
struct busy {
    uintptr_t lo, hi;
    const char *what;
};
static struct busy boot[MAXBOOT];
static unsigned nboot;

static uint32_t boot_sum[MAXBOOT];

static void add_boot(uintptr_t lo, uintptr_t hi, const char *what)
{
    if (nboot < MAXBOOT && hi > lo)
        boot[nboot++] = (struct busy){lo, hi, what};
}

/* FNV-1a of a boot data area (not the kernel image: its .bss changes). */
static uint32_t checksum(const struct busy *b)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)b->lo; p < (const unsigned char *)b->hi;
         p++)
        h = (h ^ *p) * 16777619u;
    return h;
}

static char cmdline[512];

static const char *type_name(uint32_t t)
{
    switch (t & 0xff) {
    case 1:
        return t & 0x100 ? "usable?" : "usable";
    case 2:
        return t & 0x100 ? "reserved (hole= on the command line)" : "reserved";
    case 3:
        return "ACPI reclaimable";
    case 4:
        return "ACPI NVS";
    case 5:
        return "bad memory";
    default:
        return "other";
    }
}

/* ---- command line -------------------------------------------------------- */

/* Find "key=" (or "key" alone when want_value is 0) as a word; return what
 * follows the '=' or the word's end, or NULL. */
static const char *opt(const char *key, int want_value)
{
    size_t k = kstrlen(key);
    for (const char *p = cmdline; *p;) {
        while (*p == ' ')
            p++;
        const char *w = p;
        while (*p && *p != ' ')
            p++;
        if ((size_t)(p - w) >= k && memcmp(w, key, k) == 0) {
            if (want_value && w[k] == '=')
                return w + k + 1;
            if (!want_value && (w + k == p))
                return p;
        }
    }
    return NULL;
}

static uint64_t parse_num(const char **sp)
{
    const char *s = *sp;
    uint64_t v = 0;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        s += 2;
        for (;; s++) {
            unsigned d;
            if (*s >= '0' && *s <= '9')
                d = (unsigned)(*s - '0');
            else if (*s >= 'a' && *s <= 'f')
                d = (unsigned)(*s - 'a' + 10);
            else if (*s >= 'A' && *s <= 'F')
                d = (unsigned)(*s - 'A' + 10);
            else
                break;
            v = (v << 4) | d;
        }
    } else {
        while (*s >= '0' && *s <= '9')
            v = v * 10u + (unsigned)(*s++ - '0');
    }
    if (*s == 'K' || *s == 'k')
        v <<= 10, s++;
    else if (*s == 'M' || *s == 'm')
        v <<= 20, s++;
    else if (*s == 'G' || *s == 'g')
        v <<= 30, s++;
    *sp = s;
    return v;
}

static int has_break(const char *what)
{
    const char *v = opt("break", 1);
    size_t n = kstrlen(what);
    return v != NULL && memcmp(v, what, n) == 0 && (v[n] == 0 || v[n] == ' ');
}

/* ---- the usable memory below 4 GiB ---------------------------------------- */

/* Usable intervals, sorted, disjoint, merged: a byte is usable when a usable
 * entry covers it and no other entry does (firmware maps may overlap). */
#define LIMIT_4G ((uint64_t)1 << 32)
struct ival {
    uint64_t lo, hi;
};
static struct ival usable[2 * MAXMAP + 2];
static unsigned nusable;

static void compute_usable(void)
{
    uint64_t pts[2 * MAXMAP + 2];
    unsigned n = 0;
    for (unsigned i = 0; i < nmap; i++) {
        uint64_t lo = map[i].base, hi = map[i].base + map[i].len;
        if (lo >= LIMIT_4G)
            continue; /* 32-bit: memory above 4 GiB is ignored */
        if (hi > LIMIT_4G)
            hi = LIMIT_4G;
        pts[n++] = lo;
        pts[n++] = hi;
    }
    for (unsigned i = 1; i < n; i++) /* insertion sort */
        for (unsigned j = i; j > 0 && pts[j - 1] > pts[j]; j--) {
            uint64_t t = pts[j];
            pts[j] = pts[j - 1];
            pts[j - 1] = t;
        }
    nusable = 0;
    for (unsigned i = 0; i + 1 < n; i++) {
        uint64_t lo = pts[i], hi = pts[i + 1];
        if (lo == hi)
            continue;
        int ok = 0, bad = 0;
        for (unsigned j = 0; j < nmap; j++)
            if (map[j].base <= lo && map[j].base + map[j].len >= hi) {
                if (map[j].type == 1)
                    ok = 1;
                else
                    bad = 1;
            }
        if (!ok || bad)
            continue;
        if (nusable > 0 && usable[nusable - 1].hi == lo)
            usable[nusable - 1].hi = hi;
        else
            usable[nusable++] = (struct ival){lo, hi};
    }
}

/* ---- the allocator and what the self-test knows about it ------------------- */

static analloc_t A;                   /* inside the chunk it manages */
static uintptr_t span_lo, span_hi;    /* the chunk */
static uintptr_t arena_lo, arena_hi;  /* allocatable pages: [start, start + managed) */
static uintptr_t meta_lo;             /* metadata: [meta_lo, arena_lo) at most */

/* The ranges reserved after setup, page-rounded, clipped, sorted, merged. */
#define MAXRESV 64 /* at least any build's ANALLOC_RESERVE_MAX (1 to 64) */
static struct busy resv[MAXRESV + 8];
static unsigned nresv;

static void note_resv(uintptr_t lo, uintptr_t hi, const char *what)
{
    lo &= ~(uintptr_t)(PAGE - 1u);
    hi = (hi + PAGE - 1u) & ~(uintptr_t)(PAGE - 1u);
    if (hi == 0)
        hi = ~(uintptr_t)(PAGE - 1u);
    unsigned i = nresv;
    while (i > 0 && resv[i - 1].lo > lo) {
        resv[i] = resv[i - 1];
        i--;
    }
    resv[i] = (struct busy){lo, hi, what};
    nresv++;
    /* merge overlapping and adjacent neighbours, as the allocator does */
    unsigned w = 0;
    for (unsigned r = 1; r < nresv; r++) {
        if (resv[r].lo <= resv[w].hi) {
            if (resv[r].hi > resv[w].hi)
                resv[w].hi = resv[r].hi;
        } else {
            resv[++w] = resv[r];
        }
    }
    nresv = w + 1;
}

static void reserve(uintptr_t lo, uintptr_t hi, const char *what)
{
    if (lo < arena_lo)
        lo = arena_lo;
    if (hi > arena_hi)
        hi = arena_hi;
    if (lo >= hi)
        return;
    int err = analloc_reserve(A, lo, hi - lo);
    kprintf("  reserve [%08x, %08x) %-24s %s\n", (unsigned)lo, (unsigned)hi, what,
            analloc_strerror(err));
    if (err != 0)
        fatal("analloc_reserve(%x, %x) for %s: %s", (unsigned)lo, (unsigned)(hi - lo), what,
              analloc_strerror(err));
    note_resv(lo, hi, what);
}

static int overlaps(uintptr_t a0, uintptr_t a1, uintptr_t b0, uintptr_t b1)
{
    return a0 < b1 && b0 < a1;
}

/* ---- PRNG (xorshift32), deterministic ------------------------------------- */

static uint32_t rng = 1;
static uint32_t rnd(void)
{
    uint32_t x = rng;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return rng = x;
}
static uint32_t rnd_below(uint32_t n)
{
    return n ? rnd() % n : 0;
}

/* ---- patterns ------------------------------------------------------------- */

static uint32_t next_tag = 1;
static inline uint32_t pat(uint32_t tag, size_t word)
{
    uint32_t x = tag * 0x9E3779B1u ^ (uint32_t)word * 0x85EBCA77u;
    return x ^ (x >> 15);
}
static void fill(uintptr_t p, size_t from, size_t to, uint32_t tag)
{
    uint32_t *w = (uint32_t *)p;
    for (size_t i = from / 4; i < to / 4; i++)
        w[i] = pat(tag, i);
}
static int verify(uintptr_t p, size_t bytes, uint32_t tag, const char *when)
{
    const uint32_t *w = (const uint32_t *)p;
    for (size_t i = 0; i < bytes / 4; i++)
        if (w[i] != pat(tag, i)) {
            fail("%s: block %x (%u bytes, tag %u): word %u is %x, expected %x", when,
                 (unsigned)p, (unsigned)bytes, tag, (unsigned)i, w[i], pat(tag, i));
            return 0;
        }
    return 1;
}

/* ---- live blocks ----------------------------------------------------------- */

#define NSLOTS 256
struct live {
    uintptr_t p;   /* 0: slot unused */
    size_t size;   /* analloc_mem_size */
    uint32_t tag;
};
static struct live slot[NSLOTS];
static unsigned nlive;

enum { K_PLAIN, K_LOW, K_HIGH, K_DMA, K_ALIGNED, K_NKINDS };
static const char *const kind_name[K_NKINDS] = {"alloc", "ANALLOC_LOW", "ANALLOC_HIGH",
                                                "range <16MiB", "aligned"};
static unsigned n_alloc[K_NKINDS], n_nomem[K_NKINDS];
static unsigned n_free, n_realloc_inplace, n_realloc_moved, n_realloc_nomem, n_checks, n_walks;
static unsigned n_placement, n_badcalls, n_dma_fill, n_ops;
static size_t peak_used;

static size_t order_bytes(unsigned k)
{
    return (size_t)PAGE << k;
}

/* A block just handed out: where it is, how large, nothing reserved in it. */
static int check_block(uintptr_t p, size_t asked, const char *what)
{
    size_t sz = analloc_mem_size(A, (void *)p);
    size_t want = PAGE;
    while (want < asked)
        want <<= 1;
    if (sz != want) {
        fail("%s: block %x of %u bytes for %u (expected %u)", what, (unsigned)p, (unsigned)sz,
             (unsigned)asked, (unsigned)want);
        return 0;
    }
    if (p % sz != 0 || p < arena_lo || p + sz > arena_hi || p + sz < p) {
        fail("%s: block %x size %u misaligned or outside the arena [%x, %x)", what,
             (unsigned)p, (unsigned)sz, (unsigned)arena_lo, (unsigned)arena_hi);
        return 0;
    }
    for (unsigned i = 0; i < nresv; i++)
        if (overlaps(p, p + sz, resv[i].lo, resv[i].hi)) {
            fail("%s: block [%x, %x) overlaps reserved [%x, %x) %s", what, (unsigned)p,
                 (unsigned)(p + sz), (unsigned)resv[i].lo, (unsigned)resv[i].hi, resv[i].what);
            return 0;
        }
    for (unsigned i = 0; i < nboot; i++)
        if (overlaps(p, p + sz, boot[i].lo, boot[i].hi)) {
            fail("%s: block [%x, %x) overlaps %s", what, (unsigned)p, (unsigned)(p + sz),
                 boot[i].what);
            return 0;
        }
    if (overlaps(p, p + sz, span_lo, arena_lo)) {
        fail("%s: block %x overlaps the struct or the metadata", what, (unsigned)p);
        return 0;
    }
    return 1;
}

static int free_slot_index(void)
{
    unsigned start = rnd_below(NSLOTS);
    for (unsigned i = 0; i < NSLOTS; i++)
        if (slot[(start + i) % NSLOTS].p == 0)
            return (int)((start + i) % NSLOTS);
    return -1;
}
static int live_slot_index(void)
{
    if (nlive == 0)
        return -1;
    unsigned start = rnd_below(NSLOTS);
    for (unsigned i = 0; i < NSLOTS; i++)
        if (slot[(start + i) % NSLOTS].p != 0)
            return (int)((start + i) % NSLOTS);
    return -1;
}

/* A random order, mostly small: 0-1 half the time, up to 9 (2 MiB) rarely. */
static unsigned random_order(void)
{
    unsigned r = rnd_below(100);
    if (r < 50)
        return rnd_below(2);
    if (r < 80)
        return 2 + rnd_below(2);
    if (r < 96)
        return 4 + rnd_below(3);
    return 7 + rnd_below(3);
}
/* A size that rounds up to exactly that order. */
static size_t size_of_order(unsigned k)
{
    size_t hi = order_bytes(k), lo = k ? order_bytes(k - 1) + 1 : 0;
    return lo + rnd_below((uint32_t)(hi - lo + 1));
}

static void do_alloc(void)
{
    int s = free_slot_index();
    if (s < 0)
        return;
    unsigned k = random_order();
    size_t size = size_of_order(k);
    unsigned kind = rnd_below(10);
    kind = kind < 5 ? K_PLAIN : kind == 5 ? K_LOW : kind == 6 ? K_HIGH : kind < 9 ? K_DMA : K_ALIGNED;
    uintptr_t lo = 0, hi = 0;
    size_t align = 0;
    unsigned flags = 0;
    void *p;
    switch (kind) {
    case K_LOW:
        p = analloc_alloc_flags(A, size, ANALLOC_LOW);
        break;
    case K_HIGH:
        p = analloc_alloc_flags(A, size, ANALLOC_HIGH);
        break;
    case K_DMA:
        /* ISA DMA: below 16 MiB; sometimes not crossing a 64 KiB boundary
         * (align 64 KiB for blocks up to 64 KiB). */
        if (k > 6)
            k = rnd_below(7), size = size_of_order(k);
        align = rnd_below(3) == 0 ? 64 * KIB : 0;
        flags = rnd_below(3) == 0 ? ANALLOC_LOW : rnd_below(2) ? ANALLOC_HIGH : 0;
        lo = 0;
        hi = DMA_LIMIT;
        p = analloc_alloc_range(A, size, align, lo, hi, flags);
        break;
    case K_ALIGNED:
        if (k > 6)
            k = rnd_below(7), size = size_of_order(k);
        align = order_bytes(k + 1 + rnd_below(4)); /* 2 to 16 times the block */
        flags = rnd_below(3) == 0 ? ANALLOC_HIGH : 0;
        p = analloc_alloc_aligned(A, size, align, flags);
        break;
    default:
        p = analloc_alloc(A, size);
    }
    if (p == NULL) {
        n_nomem[kind]++;
        /* Plain, LOW and HIGH fail only when no block of the order exists
         * (the allocator drains its cache before it gives up). */
        if (kind <= K_HIGH) {
            size_t largest = analloc_largest_free(A);
            if (largest >= order_bytes(k))
                fail("%s of %u bytes failed with a free block of %u bytes", kind_name[kind],
                     (unsigned)size, (unsigned)largest);
        }
        return;
    }
    uintptr_t q = (uintptr_t)p;
    n_alloc[kind]++;
    if (!check_block(q, size, kind_name[kind]))
        return;
    if (kind == K_DMA && (q < lo || q + order_bytes(k) > hi))
        fail("range: block [%x, %x) outside [%x, %x)", (unsigned)q,
             (unsigned)(q + order_bytes(k)), (unsigned)lo, (unsigned)hi);
    if (align != 0 && q % align != 0)
        fail("%s: block %x not aligned to %x", kind_name[kind], (unsigned)q, (unsigned)align);
    slot[s] = (struct live){q, order_bytes(k), next_tag++};
    nlive++;
    fill(q, 0, order_bytes(k), slot[s].tag);
}

static void do_free_slot(int s)
{
    struct live *l = &slot[s];
    verify(l->p, l->size, l->tag, "before free");
    int err = analloc_free(A, (void *)l->p);
    if (err != 0)
        fail("analloc_free(%x): %s", (unsigned)l->p, analloc_strerror(err));
    if (analloc_mem_size(A, (void *)l->p) != 0)
        fail("analloc_mem_size(%x) after free is not 0", (unsigned)l->p);
    n_free++;
    if (n_free % 97 == 0) { /* a double free must be refused */
        err = analloc_free(A, (void *)l->p);
        n_badcalls++;
        if (err != ANALLOC_EFREE)
            fail("double free of %x: %s, expected ANALLOC_EFREE", (unsigned)l->p,
                 analloc_strerror(err));
    }
    l->p = 0;
    nlive--;
}

static void do_realloc(void)
{
    int s = live_slot_index();
    if (s < 0)
        return;
    struct live *l = &slot[s];
    unsigned k = 0;
    while (order_bytes(k) < l->size)
        k++;
    int d = (int)rnd_below(5) - 2; /* -2 .. +2 orders */
    unsigned nk = (int)k + d < 0 ? 0 : (unsigned)((int)k + d);
    if (nk > 9)
        nk = 9;
    size_t size = size_of_order(nk), nbytes = order_bytes(nk);
    void *p = analloc_realloc(A, (void *)l->p, size);
    if (p == NULL) {
        n_realloc_nomem++;
        if (nbytes <= l->size)
            fail("realloc of %x to fewer bytes failed", (unsigned)l->p);
        if (analloc_mem_size(A, (void *)l->p) != l->size)
            fail("failed realloc of %x lost the block", (unsigned)l->p);
        verify(l->p, l->size, l->tag, "after a failed realloc");
        return;
    }
    uintptr_t q = (uintptr_t)p;
    if (q == l->p)
        n_realloc_inplace++;
    else
        n_realloc_moved++;
    if (!check_block(q, size, "realloc")) {
        l->p = q; /* keep tracking it */
        l->size = analloc_mem_size(A, p);
        return;
    }
    size_t keep = l->size < nbytes ? l->size : nbytes;
    verify(q, keep, l->tag, "after realloc");
    if (nbytes > l->size)
        fill(q, l->size, nbytes, l->tag);
    l->p = q;
    l->size = nbytes;
}

/* ---- walking ---------------------------------------------------------------- */

struct walk_state {
    uintptr_t next;          /* the blocks must tile the arena */
    size_t bytes[16];        /* per kind bit */
    unsigned used, resv_seen, bad;
    uintptr_t first_free, last_free_end;
};

static int walk_cb(void *ctx, void *block, size_t bytes, unsigned kind)
{
    struct walk_state *w = ctx;
    uintptr_t b = (uintptr_t)block;
    if (b != w->next) {
        if (w->bad++ < 3)
            fail("walk: block %x (kind %u) does not start where the last ended (%x)",
                 (unsigned)b, kind, (unsigned)w->next);
    }
    w->next = b + bytes;
    w->bytes[kind & 15] += bytes;
    if (kind == ANALLOC_BLOCK_RESERVED) {
        unsigned i = w->resv_seen++;
        if (i >= nresv || resv[i].lo != b || resv[i].hi != b + bytes)
            fail("walk: reserved range [%x, %x) is not the one reserved", (unsigned)b,
                 (unsigned)(b + bytes));
        return 0;
    }
    for (unsigned i = 0; i < nresv; i++)
        if (overlaps(b, b + bytes, resv[i].lo, resv[i].hi))
            fail("walk: block [%x, %x) kind %u overlaps reserved [%x, %x)", (unsigned)b,
                 (unsigned)(b + bytes), kind, (unsigned)resv[i].lo, (unsigned)resv[i].hi);
    if (kind == ANALLOC_BLOCK_FREE) {
        if (w->first_free == 0)
            w->first_free = b;
        w->last_free_end = b + bytes;
    }
    if (kind == ANALLOC_BLOCK_USED) {
        w->used++;
        unsigned i;
        for (i = 0; i < NSLOTS; i++)
            if (slot[i].p == b)
                break;
        if (i == NSLOTS || slot[i].size != bytes)
            fail("walk: used block [%x, %x) is not one the test holds", (unsigned)b,
                 (unsigned)(b + bytes));
    }
    return 0;
}

/* analloc_check (when `deep`: it reads all the metadata), then a walk of
 * the whole arena against what the test holds, then ANALLOC_LOW and
 * ANALLOC_HIGH against the walk. */
static void check_walk(const char *when, int deep)
{
    int err;
    if (deep) {
        err = analloc_check(A);
        n_checks++;
        if (err != 0)
            fail("analloc_check %s: %s", when, analloc_strerror(err));
    }
    struct walk_state w = {.next = arena_lo};
    err = analloc_walk(A, ANALLOC_BLOCK_ALL, walk_cb, &w);
    n_walks++;
    if (err != 0)
        fail("analloc_walk %s: %s", when, analloc_strerror(err));
    if (w.next != arena_hi)
        fail("walk %s: the blocks end at %x, not at the arena's end %x", when,
             (unsigned)w.next, (unsigned)arena_hi);
    if (w.used != nlive)
        fail("walk %s: %u used blocks, the test holds %u", when, w.used, nlive);
    if (w.resv_seen != nresv)
        fail("walk %s: %u reserved ranges, %u expected", when, w.resv_seen, nresv);
    struct analloc_stats st = {.size = sizeof st};
    analloc_stats(A, &st);
    if (st.used_bytes != w.bytes[ANALLOC_BLOCK_USED] ||
        st.free_bytes != w.bytes[ANALLOC_BLOCK_FREE] + w.bytes[ANALLOC_BLOCK_CACHED] ||
        st.reserved_bytes != w.bytes[ANALLOC_BLOCK_RESERVED] ||
        st.cached_bytes != w.bytes[ANALLOC_BLOCK_CACHED])
        fail("walk %s: byte counts differ from analloc_stats", when);
    if (st.used_bytes > peak_used)
        peak_used = st.used_bytes;
    /* Placement: LOW takes the lowest free page of the buddy system, HIGH
     * the highest (the block cache is skipped by both). */
    if (w.first_free != 0) {
        void *lo = analloc_alloc_flags(A, PAGE, ANALLOC_LOW);
        void *hi = analloc_alloc_flags(A, PAGE, ANALLOC_HIGH);
        n_placement++;
        if ((uintptr_t)lo != w.first_free)
            fail("ANALLOC_LOW %s: %p, the lowest free page is %x", when, lo,
                 (unsigned)w.first_free);
        if (hi != NULL && (uintptr_t)hi != w.last_free_end - PAGE)
            fail("ANALLOC_HIGH %s: %p, the highest free page is %x", when, hi,
                 (unsigned)(w.last_free_end - PAGE));
        if (hi == NULL && w.last_free_end - w.first_free > PAGE)
            fail("ANALLOC_HIGH %s: NULL", when);
        if (lo != NULL)
            analloc_free(A, lo);
        if (hi != NULL)
            analloc_free(A, hi);
    }
}

static void full_check(const char *when)
{
    check_walk(when, 1);
}

/* ---- dump and summary ------------------------------------------------------- */

static void dump_line(void *ctx, const char *line)
{
    (void)ctx;
    kprintf("  %s\n", line);
}

static int print_block(void *ctx, void *block, size_t bytes, unsigned kind)
{
    unsigned *n = ctx;
    if ((*n)++ < 48)
        kprintf("  %-8s [%08x, %08x) %8u KiB\n",
                kind == ANALLOC_BLOCK_FREE       ? "free"
                : kind == ANALLOC_BLOCK_CACHED   ? "cached"
                : kind == ANALLOC_BLOCK_RESERVED ? "reserved"
                                                 : "used",
                (unsigned)(uintptr_t)block, (unsigned)((uintptr_t)block + bytes),
                (unsigned)(bytes / KIB));
    return 0;
}

static void print_stats(const char *title, const struct analloc_stats *st)
{
    kprintf("%s: managed %u KiB, free %u KiB, used %u KiB, reserved %u KiB in %u ranges, "
            "cached %u KiB, live %u, largest free %u KiB, metadata %u bytes, depth %u\n",
            title, (unsigned)(st->managed_bytes / KIB), (unsigned)(st->free_bytes / KIB),
            (unsigned)(st->used_bytes / KIB), (unsigned)(st->reserved_bytes / KIB),
            st->reserved_ranges, (unsigned)(st->cached_bytes / KIB),
            (unsigned)st->live_blocks, (unsigned)(st->largest_free / KIB),
            (unsigned)st->meta_bytes, st->depth);
    kprintf("  free blocks per order:");
    for (unsigned k = 0; k <= st->depth && k < 64; k++)
        kprintf(" %u", (unsigned)st->free_blocks_of_order[k]);
    kprintf("\n");
}

/* Linux's extfrag index, per mille: -1000 means a block of the order is free. */
static void print_frag(const char *title)
{
    kprintf("%s: fragmentation index by order:", title);
    for (unsigned k = 0; k <= A->depth; k += k < 8 ? 2 : 1)
        if (k <= 10 || k == A->depth)
            kprintf(" %u:%d", k, analloc_frag_index(A, k));
    kprintf("\n");
}

/* ---- setup ------------------------------------------------------------------ */

extern char _kernel_start[], _kernel_end[];

static void read_boot_info(uint32_t magic, const struct mb_info *mb)
{
    if (magic != MB_BOOT_MAGIC)
        fatal("not started by a multiboot loader (eax %x)", magic);
    add_boot((uintptr_t)_kernel_start, (uintptr_t)_kernel_end, "kernel image");
    add_boot((uintptr_t)mb, (uintptr_t)(mb + 1), "multiboot info");
    if (mb->flags & (1u << 2)) {
        const char *c = (const char *)(uintptr_t)mb->cmdline;
        size_t n = kstrlen(c);
        add_boot(mb->cmdline, mb->cmdline + n + 1, "command line");
        if (n >= sizeof cmdline)
            n = sizeof cmdline - 1;
        memcpy(cmdline, c, n);
    }
    if (mb->flags & (1u << 9)) {
        const char *c = (const char *)(uintptr_t)mb->boot_loader_name;
        add_boot(mb->boot_loader_name, mb->boot_loader_name + kstrlen(c) + 1,
                 "boot loader name");
        kprintf("boot loader: %s\n", c);
    }
    if (mb->flags & (1u << 3) && mb->mods_count > 0) {
        const struct mb_mod *m = (const struct mb_mod *)(uintptr_t)mb->mods_addr;
        add_boot(mb->mods_addr, mb->mods_addr + mb->mods_count * sizeof *m, "module table");
        for (uint32_t i = 0; i < mb->mods_count && i < 8; i++) {
            add_boot(m[i].start, m[i].end, "module");
            if (m[i].string != 0)
                add_boot(m[i].string,
                         m[i].string + kstrlen((const char *)(uintptr_t)m[i].string) + 1,
                         "module string");
        }
    }
    kprintf("command line: \"%s\"\n", cmdline);
    int use_mmap = (mb->flags & (1u << 6)) && !opt("nommap", 0);
    if (use_mmap) {
        add_boot(mb->mmap_addr, mb->mmap_addr + mb->mmap_length, "memory map");
        uintptr_t p = mb->mmap_addr, end = p + mb->mmap_length;
        while (p + sizeof(struct mb_mmap) <= end + 4 && nmap < MAXMAP) {
            const struct mb_mmap *e = (const struct mb_mmap *)p;
            map[nmap++] = (struct region){e->base, e->len, e->type};
            p += e->size + 4;
        }
        kprintf("memory map (multiboot mmap, %u entries):\n", nmap);
    } else if (mb->flags & 1u) {
        map[nmap++] = (struct region){0, (uint64_t)mb->mem_lower * 1024u, 1};
        map[nmap++] = (struct region){0x100000, (uint64_t)mb->mem_upper * 1024u, 1};
        kprintf("memory map (mem_lower %u KiB, mem_upper %u KiB%s):\n", mb->mem_lower,
                mb->mem_upper, mb->flags & (1u << 6) ? "; mmap ignored: nommap" : "");
    } else {
        fatal("the boot loader gave no memory information");
    }
    /* hole=ADDR:SIZE on the command line: firmware areas we pretend exist. */
    for (const char *p = cmdline; *p && nmap < MAXMAP; p++) {
        if ((p == cmdline || p[-1] == ' ') && memcmp(p, "hole=", 5) == 0) {
            const char *s = p + 5;
            uint64_t a = parse_num(&s), n = 0;
            if (*s == ':') {
                s++;
                n = parse_num(&s);
            }
            if (n != 0)
                map[nmap++] = (struct region){a, n, 0x102};
        }
    }
    for (unsigned i = 0; i < nmap; i++)
        kprintf("  [%016llx, %016llx) %8u KiB  %s%s\n", map[i].base, map[i].base + map[i].len,
                (unsigned)(map[i].len >> 10), type_name(map[i].type),
                map[i].base >= LIMIT_4G ? " (above 4 GiB: ignored)" : "");
    kprintf("boot data:\n");
    for (unsigned i = 0; i < nboot; i++) {
        boot_sum[i] = i == 0 ? 0 : checksum(&boot[i]); /* boot[0]: the kernel image */
        kprintf("  [%08x, %08x) %s\n", (unsigned)boot[i].lo, (unsigned)boot[i].hi,
                boot[i].what);
    }
}

static struct analloc_stats st_setup = {.size = sizeof st_setup};
static size_t largest_setup;

static void setup_allocator(void)
{
    compute_usable();
    kprintf("usable below 4 GiB:\n");
    for (unsigned i = 0; i < nusable; i++)
        kprintf("  [%08llx, %08llx) %u KiB\n", usable[i].lo, usable[i].hi,
                (unsigned)((usable[i].hi - usable[i].lo) >> 10));
    if (nusable == 0)
        fatal("no usable memory");
    /* The span: the first usable page above the kernel image to the end of
     * the highest usable region (page-aligned, below 4 GiB). */
    uint64_t top = usable[nusable - 1].hi;
    if (top > LIMIT_4G - PAGE)
        top = LIMIT_4G - PAGE;
    span_hi = (uintptr_t)top & ~(uintptr_t)(PAGE - 1u);
    uint64_t lo = ((uintptr_t)_kernel_end + PAGE - 1u) & ~(uintptr_t)(PAGE - 1u);
    unsigned ui = 0;
    for (;; ui++) {
        if (ui == nusable)
            fatal("no usable memory above the kernel image");
        if (usable[ui].hi <= lo)
            continue;
        if (usable[ui].lo > lo)
            lo = (usable[ui].lo + PAGE - 1u) & ~(uint64_t)(PAGE - 1u);
        /* The struct goes after the boot data that follows the kernel (the
         * used prefix keeps it), the metadata after the struct: all of it
         * must be in this usable region. */
        uintptr_t used_end = (uintptr_t)lo;
        for (int again = 1; again;) {
            again = 0;
            uintptr_t s = (used_end + 63u) & ~(uintptr_t)63u;
            uintptr_t need = s + sizeof(struct analloc) +
                             analloc_meta_size(span_hi - (uintptr_t)lo, PAGE) + PAGE;
            for (unsigned i = 0; i < nboot; i++)
                if (overlaps(boot[i].lo, boot[i].hi, used_end, need)) {
                    used_end = boot[i].hi;
                    again = 1;
                }
            if (!again && need <= usable[ui].hi && lo < span_hi) {
                span_lo = (uintptr_t)lo;
                A = (analloc_t)s;
                break;
            }
        }
        if (A != NULL)
            break;
        lo = usable[ui].hi; /* too small for the metadata: the next region */
    }
    size_t used = (uintptr_t)A + sizeof *A - span_lo;
    int err = analloc_with_chunk(A, (void *)span_lo, span_hi - span_lo, used, PAGE);
    if (err != 0)
        fatal("analloc_with_chunk(%x, %x, %x): %s", (unsigned)span_lo,
              (unsigned)(span_hi - span_lo), (unsigned)used, analloc_strerror(err));
    arena_lo = (uintptr_t)A->start;
    arena_hi = arena_lo + A->managed;
    meta_lo = ((uintptr_t)A + sizeof *A + 7u) & ~(uintptr_t)7u;
    kprintf("span [%08x, %08x) %u KiB: used prefix %u bytes (boot data %u, struct analloc "
            "%u at %p), metadata %u bytes at %08x, arena [%08x, %08x) %u KiB, page %u, "
            "depth %u\n",
            (unsigned)span_lo, (unsigned)span_hi, (unsigned)((span_hi - span_lo) / KIB),
            (unsigned)used, (unsigned)((uintptr_t)A - span_lo), (unsigned)sizeof *A, (void *)A,
            (unsigned)analloc_meta_bytes(A), (unsigned)meta_lo, (unsigned)arena_lo,
            (unsigned)arena_hi, (unsigned)(A->managed / KIB), (unsigned)A->page,
            (unsigned)A->depth);
    if (meta_lo + analloc_meta_bytes(A) > arena_lo || arena_hi > span_hi)
        fatal("metadata [%x, +%x) runs into the arena at %x", (unsigned)meta_lo,
              (unsigned)analloc_meta_bytes(A), (unsigned)arena_lo);

    kprintf("reservations:\n");
    /* Holes between usable regions and everything not usable, inside the arena. */
    uintptr_t prev = arena_lo;
    for (unsigned i = 0; i < nusable; i++) {
        uint64_t ulo = usable[i].lo, uhi = usable[i].hi;
        if (uhi <= arena_lo)
            continue;
        if (ulo >= arena_hi)
            break;
        if (ulo > prev)
            reserve(prev, (uintptr_t)ulo, "hole / firmware");
        prev = uhi >= arena_hi ? arena_hi : (uintptr_t)uhi;
    }
    if (prev < arena_hi)
        reserve(prev, arena_hi, "hole / firmware");
    /* The kernel image and the boot loader's data, where they are in the arena. */
    for (unsigned i = 0; i < nboot; i++)
        if (overlaps(boot[i].lo, boot[i].hi, arena_lo, arena_hi))
            reserve(boot[i].lo, boot[i].hi, boot[i].what);
    if (nresv == 0)
        kprintf("  none: the arena is one usable region\n");
    for (unsigned i = 0; i < nboot; i++)
        if (!overlaps(boot[i].lo, boot[i].hi, arena_lo, arena_hi))
            kprintf("  %-24s [%08x, %08x) %s\n", boot[i].what, (unsigned)boot[i].lo,
                    (unsigned)boot[i].hi,
                    boot[i].lo >= span_lo && boot[i].hi <= arena_lo
                        ? "in the used prefix (kept)"
                        : "outside the span");

    if (analloc_stats(A, &st_setup) != 0)
        fatal("analloc_stats");
    largest_setup = analloc_largest_free(A);
    print_stats("after setup", &st_setup);
    print_frag("after setup");
    if (st_setup.reserved_ranges != nresv)
        fail("analloc_stats: %u reserved ranges, %u expected", st_setup.reserved_ranges, nresv);
    size_t rbytes = 0;
    for (unsigned i = 0; i < nresv; i++)
        rbytes += resv[i].hi - resv[i].lo;
    if (st_setup.reserved_bytes != rbytes)
        fail("analloc_stats: %u reserved bytes, %u expected",
             (unsigned)st_setup.reserved_bytes, (unsigned)rbytes);
    if (st_setup.free_bytes + rbytes != st_setup.managed_bytes)
        fail("after setup: free %u + reserved %u != managed %u",
             (unsigned)st_setup.free_bytes, (unsigned)rbytes, (unsigned)st_setup.managed_bytes);
}

/* ---- the self-test ------------------------------------------------------------- */

/* Calls that must be refused, with the error the header promises. */
static void bad_calls(void)
{
    struct bad {
        uintptr_t p;
        int want;
        const char *what;
    } cases[8];
    unsigned n = 0;
    cases[n++] = (struct bad){(uintptr_t)_kernel_start, ANALLOC_ERANGE, "kernel image"};
    cases[n++] = (struct bad){(uintptr_t)A & ~(uintptr_t)(PAGE - 1u), ANALLOC_ERESERVED,
                              "the struct's page (used prefix)"};
    cases[n++] = (struct bad){arena_lo + PAGE / 2, ANALLOC_EALIGN, "half a page in"};
    cases[n++] = (struct bad){arena_hi, ANALLOC_ERANGE, "the arena's end"};
    if (nresv > 0)
        cases[n++] = (struct bad){resv[0].lo, ANALLOC_ERESERVED, resv[0].what};
    for (unsigned i = 0; i < n; i++) {
        int err = analloc_free(A, (void *)cases[i].p);
        n_badcalls++;
        if (err != cases[i].want)
            fail("analloc_free(%x) (%s): %s, expected %s", (unsigned)cases[i].p, cases[i].what,
                 analloc_strerror(err), analloc_strerror(cases[i].want));
    }
    /* reserve over an allocated block: EBUSY; release of free pages: ENOTRESERVED */
    void *p = analloc_alloc(A, PAGE);
    if (p != NULL) {
        int err = analloc_reserve(A, (uintptr_t)p, PAGE);
        if (err != ANALLOC_EBUSY)
            fail("analloc_reserve over a live block: %s", analloc_strerror(err));
        analloc_free(A, p);
        n_badcalls++;
    }
    int err = analloc_release(A, arena_hi - PAGE, PAGE);
    n_badcalls++;
    int top_reserved = nresv > 0 && resv[nresv - 1].hi == arena_hi;
    if (!top_reserved && err != ANALLOC_ENOTRESERVED)
        fail("analloc_release of a free page: %s", analloc_strerror(err));
    if (top_reserved && err != 0)
        fail("analloc_release of the last reserved page: %s", analloc_strerror(err));
    if (top_reserved && err == 0 && analloc_reserve(A, arena_hi - PAGE, PAGE) != 0)
        fail("reserving the last page again failed");
    /* A request no arena can satisfy fails cleanly. */
    if (analloc_alloc(A, A->managed + 1) != NULL)
        fail("an allocation larger than the arena succeeded");
    if (analloc_alloc_range(A, PAGE, 0, DMA_LIMIT, DMA_LIMIT, 0) != NULL)
        fail("analloc_alloc_range with an empty window succeeded");
}

/* Fill the DMA zone with 64 KiB blocks from the top until it is full: every
 * block below 16 MiB, and no free 64 KiB block left there afterwards. */
static int dma_free_cb(void *ctx, void *block, size_t bytes, unsigned kind)
{
    uintptr_t b = (uintptr_t)block, e = b + bytes;
    (void)kind;
    if (e > DMA_LIMIT)
        e = DMA_LIMIT;
    uintptr_t first = (b + 64 * KIB - 1u) & ~(uintptr_t)(64 * KIB - 1u);
    if (b < DMA_LIMIT && first + 64 * KIB <= e)
        ++*(unsigned *)ctx;
    return 0;
}
static void dma_fill(void)
{
    unsigned n = 0;
    uintptr_t first = 0, prev = 0;
    analloc_drain(A); /* cached pages would hide 64 KiB blocks until the end */
    while (n < NSLOTS) {
        void *p = analloc_alloc_range(A, 64 * KIB, 0, 0, DMA_LIMIT, ANALLOC_HIGH);
        if (p == NULL)
            break;
        uintptr_t q = (uintptr_t)p;
        if (!check_block(q, 64 * KIB, "DMA fill") || q + 64 * KIB > DMA_LIMIT) {
            fail("DMA fill: block %x not below 16 MiB", (unsigned)q);
            break;
        }
        if (n > 0 && q >= prev)
            fail("DMA fill, ANALLOC_HIGH: %x not below the previous %x", (unsigned)q,
                 (unsigned)prev);
        if (n == 0)
            first = q;
        prev = q;
        slot[n] = (struct live){q, 64 * KIB, next_tag++};
        fill(q, 0, 64 * KIB, slot[n].tag);
        n++;
        nlive++;
    }
    n_dma_fill = n;
    unsigned left = 0;
    analloc_walk(A, ANALLOC_BLOCK_FREE | ANALLOC_BLOCK_CACHED, dma_free_cb, &left);
    if (n < NSLOTS && left != 0)
        fail("DMA fill stopped after %u blocks with %u free 64 KiB blocks below 16 MiB", n, left);
    kprintf("DMA fill: %u blocks of 64 KiB below 16 MiB (%u KiB), from %x down to %x\n", n,
            n * 64u, (unsigned)first, (unsigned)prev);
    check_walk("with the DMA zone full", A->managed / PAGE <= 65536);
    for (unsigned i = 0; i < n; i++)
        do_free_slot((int)i);
}

/* The vectormaps front (src/buddy.c, 1 MiB blocks) over a 2 MiB block
 * that the main allocator hands out. */
static void buddy_front(void)
{
    size_t area = 2 * MIB;
    void *p = analloc_alloc_flags(A, area, ANALLOC_HIGH);
    if (p == NULL) {
        kprintf("buddy front: no 2 MiB block free, skipped\n");
        return;
    }
    if (!check_block((uintptr_t)p, area, "buddy front area"))
        return;
    int err = buddy_init_at(p, area);
    if (err != 0) {
        fail("buddy_init_at(%p, 2 MiB): %s", p, analloc_strerror(err));
        analloc_free(A, p);
        return;
    }
    uintptr_t a0 = (uintptr_t)buddy_alloc(1 * MIB), a1 = (uintptr_t)buddy_alloc(1 * MIB);
    void *a2 = buddy_alloc(1);
    if (a0 == 0 || a1 == 0 || a2 != NULL || a0 == a1 || a0 < (uintptr_t)p || a1 < (uintptr_t)p ||
        a0 + MIB > (uintptr_t)p + area || a1 + MIB > (uintptr_t)p + area)
        fail("buddy front: blocks %x %x %p in [%p, +2 MiB)", (unsigned)a0, (unsigned)a1, a2, p);
    else {
        fill(a0, 0, MIB, 0xb0);
        fill(a1, 0, MIB, 0xb1);
        verify(a0, MIB, 0xb0, "buddy front block");
        verify(a1, MIB, 0xb1, "buddy front block");
    }
    buddy_free((void *)a0);
    buddy_free((void *)a1);
    buddy_free((void *)(a0 + 4096)); /* not a block: recorded */
    if (buddy_last_error() != ANALLOC_EALIGN)
        fail("buddy front: a bad free was not reported");
    void *whole = buddy_alloc(2 * MIB);
    if (whole != p)
        fail("buddy front: the 2 MiB block after the frees is %p, not %p", whole, p);
    buddy_free(whole);
    kprintf("buddy front (src/buddy.c) over [%p, +2 MiB): 1 MiB blocks %x and %x, then the "
            "whole area: ok\n",
            p, (unsigned)a0, (unsigned)a1);
    if (analloc_free(A, p) != 0)
        fail("freeing the buddy front's area");
}

static void selftest(void)
{
    const char *v;
    unsigned ops = 6000;
    if ((v = opt("seed", 1)) != NULL)
        rng = (uint32_t)parse_num(&v) | 1u;
    if ((v = opt("ops", 1)) != NULL)
        ops = (unsigned)parse_num(&v);
    /* A walk (and the LOW/HIGH placement check) every 100 operations;
     * analloc_check reads all the metadata, O(pages), about 0.2 s for 3 GiB
     * under QEMU's TCG: every 100 operations up to 64 Ki pages (256 MiB),
     * less often above, down to 5 times a run. */
    size_t pages = A->managed / PAGE;
    unsigned walk_every = 100, every = walk_every;
    if (pages > 65536) {
        size_t times = ((size_t)4 << 20) / pages;
        if (times < 5)
            times = 5;
        every = (unsigned)(ops / times / walk_every + 1) * walk_every;
    }
    kprintf("self-test: %u random operations, seed %u; a walk every %u, analloc_check every %u\n",
            ops, rng, walk_every, every);

    full_check("after setup");
    bad_calls();
    dma_fill();
    check_walk("after the DMA fill", A->managed / PAGE <= 65536);
    buddy_front();

    int broke = 0;
    for (unsigned i = 1; i <= ops; i++) {
        /* The number of live blocks follows a sawtooth from 0 to NSLOTS and
         * back every 1200 operations: allocate more below it, free more above. */
        unsigned phase = i % 1200, target = phase < 600 ? phase * NSLOTS / 600
                                                       : (1200 - phase) * NSLOTS / 600;
        unsigned r = rnd_below(100), pa = nlive < target ? 65 : 30;
        if (nlive == 0 || r < pa) {
            if (nlive == NSLOTS)
                do_free_slot(live_slot_index());
            else
                do_alloc();
        } else if (r < pa + 15) {
            do_realloc();
        } else {
            do_free_slot(live_slot_index());
        }
        n_ops++;
        if (!broke && i >= ops / 2 && nlive > 0) {
            int s = live_slot_index();
            if (has_break("pattern")) { /* a stray write into a live block */
                ((volatile uint32_t *)slot[s].p)[slot[s].size / 8] ^= 0x10u;
                kprintf("break=pattern: flipped a bit at %x\n",
                        (unsigned)(slot[s].p + slot[s].size / 2));
                broke = 1;
            } else if (has_break("meta")) { /* a stray write into the metadata */
                volatile uint64_t *m = (volatile uint64_t *)(meta_lo + analloc_meta_bytes(A) / 2);
                *m ^= (uint64_t)1 << 17;
                kprintf("break=meta: flipped a bit at %x\n", (unsigned)(uintptr_t)m);
                broke = 1;
            } else if (has_break("leak")) { /* forget a block */
                kprintf("break=leak: forgetting block %x\n", (unsigned)slot[s].p);
                slot[s].p = 0;
                nlive--;
                analloc_alloc(A, 1); /* and leak one outright */
                broke = 1;
            } else if (has_break("hang")) {
                kprintf("break=hang: looping forever\n");
                for (;;)
                    __asm__ volatile("pause");
            } else if (has_break("fault")) {
                kprintf("break=fault: dividing by zero\n");
                unsigned q = 0;
                __asm__ volatile("xor %%ecx, %%ecx; mov $1, %%eax; xor %%edx, %%edx; div %%ecx"
                                 : "=a"(q)
                                 :
                                 : "ecx", "edx");
                kprintf("still here: %u\n", q);
            }
        }
        if (i % walk_every == 0)
            check_walk("during the random phase", i % every == 0);
        if (i == ops / 2) {
            kprintf("halfway: %u blocks live\n", nlive);
            struct analloc_stats st = {.size = sizeof st};
            analloc_stats(A, &st);
            print_stats("halfway", &st);
            print_frag("halfway");
            kprintf("the arena halfway (analloc_dump):\n");
            analloc_dump(A, dump_line, NULL, 64);
        }
        if (failures > 20)
            break;
    }
    full_check("after the random phase");

    /* Free everything, drain the cache: all must coalesce back. */
    for (unsigned s = 0; s < NSLOTS; s++)
        if (slot[s].p != 0)
            do_free_slot((int)s);
    analloc_drain(A);
    full_check("at the end");
    analloc_drain(A); /* full_check's placement pages went to the cache */
    if (analloc_check(A) != 0)
        fail("analloc_check after the last drain");
}

static void final_compare(void)
{
    for (unsigned i = 1; i < nboot; i++)
        if (checksum(&boot[i]) != boot_sum[i])
            fail("the boot loader's %s [%x, %x) changed", boot[i].what, (unsigned)boot[i].lo,
                 (unsigned)boot[i].hi);
    kprintf("boot data intact: %u areas (FNV-1a as at boot)\n", nboot - 1);
    struct analloc_stats st = {.size = sizeof st};
    analloc_stats(A, &st);
    size_t largest = analloc_largest_free(A);
    print_stats("at the end", &st);
    print_frag("at the end");
    if (st.free_bytes != st_setup.free_bytes)
        fail("at the end: %u bytes free, %u after setup", (unsigned)st.free_bytes,
             (unsigned)st_setup.free_bytes);
    if (largest != largest_setup)
        fail("at the end: largest free block %u bytes, %u after setup", (unsigned)largest,
             (unsigned)largest_setup);
    if (st.live_blocks != 0 || st.used_bytes != 0 || st.cached_blocks != 0)
        fail("at the end: %u blocks live, %u bytes used, %u cached", (unsigned)st.live_blocks,
             (unsigned)st.used_bytes, (unsigned)st.cached_blocks);
    for (unsigned k = 0; k < 64; k++)
        if (st.free_blocks_of_order[k] != st_setup.free_blocks_of_order[k]) {
            fail("at the end: %u free blocks of order %u, %u after setup",
                 (unsigned)st.free_blocks_of_order[k], k,
                 (unsigned)st_setup.free_blocks_of_order[k]);
            break;
        }
}

void kmain(uint32_t magic, const struct mb_info *mb);
void kmain(uint32_t magic, const struct mb_info *mb)
{
    serial_init();
    idt_init();
    kprintf("\nanalloc test kernel (i386, multiboot)\n");
    read_boot_info(magic, mb);
    setup_allocator();
    selftest();
    final_compare();

    kprintf("the free-memory map at the end (analloc_dump):\n");
    analloc_dump(A, dump_line, NULL, 64);
    kprintf("the free-memory map at the end (analloc_walk):\n");
    unsigned nb = 0;
    analloc_walk(A, ANALLOC_BLOCK_ALL, print_block, &nb);
    if (nb > 48)
        kprintf("  ... %u blocks in all\n", nb);

    uint64_t usable_bytes = 0;
    for (unsigned i = 0; i < nusable; i++)
        usable_bytes += usable[i].hi - usable[i].lo;
    kprintf("summary: memory %u KiB usable below 4 GiB in %u regions; arena %u KiB at "
            "[%08x, %08x), %u reserved ranges (%u KiB)\n",
            (unsigned)(usable_bytes >> 10), nusable, (unsigned)(A->managed / KIB), (unsigned)arena_lo, (unsigned)arena_hi,
            nresv, (unsigned)(st_setup.reserved_bytes / KIB));
    kprintf("summary: %u random operations:", n_ops);
    for (unsigned k = 0; k < K_NKINDS; k++)
        kprintf(" %s %u (%u no fit);", kind_name[k], n_alloc[k], n_nomem[k]);
    kprintf(" realloc %u in place, %u moved, %u no memory; free %u\n", n_realloc_inplace,
            n_realloc_moved, n_realloc_nomem, n_free);
    kprintf("summary: DMA fill %u blocks; %u refused calls checked; %u analloc_check, %u walks, "
            "%u LOW/HIGH placement checks; peak used %u KiB\n",
            n_dma_fill, n_badcalls, n_checks, n_walks, n_placement, (unsigned)(peak_used / KIB));
    if (failures == 0) {
        kprintf("ANALLOC-KERNEL: PASS (arena %u KiB, %u operations, 0 failures)\n",
                (unsigned)(A->managed / KIB), n_ops);
        qemu_exit(0);
    }
    kprintf("ANALLOC-KERNEL: FAIL (%u failures)\n", failures);
    qemu_exit(1);
}
