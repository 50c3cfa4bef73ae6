/*
 * analloc-trace - record, print, replay and draw traces of allocations
 * (tools/trace/README.md; the format is in trace_format.h).
 *
 *   analloc-trace text FILE                 the records as text
 *   analloc-trace import TEXT FILE          that text back to a trace
 *   analloc-trace replay FILE [OPTIONS]     against analloc and the textbook
 *                                           buddy: failures, fragmentation
 *   analloc-trace draw FILE --at N[,N...] --out PREFIX [OPTIONS]
 *                                           memory maps (SVG, PNG) after op N,
 *                                           and the timeline (SVG)
 *   analloc-trace report FILE --out PAGE.html [OPTIONS]
 *                                           one self-contained HTML page
 * OPTIONS: --page BYTES (default: the trace's), --arena BYTES (default: the
 * smallest power of two holding four times the trace's peak of live bytes,
 * in pages), --cache SLOTS (analloc_set_cache; default: the build's),
 * --times (replay: nanoseconds per operation; not deterministic, so not in
 * the default output), --snapshots N (report: memory maps, default 40).
 * A FILE ending in .xz is read through xz -dc.
 *
 * The replay is deterministic: the same trace and options give the same
 * counts and fragmentation on every run (addresses in the trace only name
 * blocks; the replay maps them to its own).
 */
#include <errno.h>
#include <math.h>
#include <png.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "analloc.h"
#include "raster.h"
#include "svg.h"
#include "textbook_buddy.h"
#include "trace_format.h"

static _Noreturn void die(const char *fmt, const char *arg)
{
    fprintf(stderr, "analloc-trace: ");
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    exit(2);
}

/* ---- reading a trace -------------------------------------------------------- */

struct trace {
    struct trace_header h;
    struct trace_record *r;
    size_t n;
};

static void load(const char *path, struct trace *t)
{
    size_t len = strlen(path);
    FILE *f;
    int piped = len > 3 && !strcmp(path + len - 3, ".xz");
    if (piped) {
        if (strchr(path, '\'')) die("%s: a quote in the name", path);
        char cmd[4200];
        snprintf(cmd, sizeof cmd, "xz -dc '%s'", path);
        f = popen(cmd, "r");
    } else {
        f = fopen(path, "rb");
    }
    if (f == NULL) die("cannot open %s", path);
    if (fread(&t->h, sizeof t->h, 1, f) != 1 || memcmp(t->h.magic, TRACE_MAGIC, 8) != 0)
        die("%s: not an analloc trace", path);
    if (t->h.version != TRACE_VERSION) die("%s: unknown version", path);
    if (t->h.page == 0 || (t->h.page & (t->h.page - 1))) die("%s: bad page size", path);
    size_t cap = 1 << 16, bytes = 0;
    unsigned char *buf = NULL;
    for (;;) {
        if (buf == NULL || bytes == cap) buf = realloc(buf, cap *= 2);
        if (buf == NULL) die("%s: out of memory", path);
        size_t got = fread(buf + bytes, 1, cap - bytes, f);
        bytes += got;
        if (got == 0) break;
    }
    /* A recorder killed while writing leaves part of a record: dropped. */
    if (bytes % sizeof *t->r)
        fprintf(stderr, "analloc-trace: %s: %zu bytes of a last record ignored\n", path, bytes % sizeof *t->r);
    t->r = (struct trace_record *)(void *)buf;
    t->n = bytes / sizeof *t->r;
    for (size_t i = 0; i < t->n; i++) {
        unsigned op = (unsigned)(t->r[i].op_time >> 56);
        if (op < TRACE_ALLOC || op > TRACE_ALIGNED) die("%s: bad record", path);
    }
    if (piped ? pclose(f) != 0 : fclose(f) != 0) die("%s: read error", path);
}

static unsigned op_of(const struct trace_record *r) { return (unsigned)(r->op_time >> 56); }
static uint64_t time_of(const struct trace_record *r) { return r->op_time & (((uint64_t)1 << 56) - 1); }

static const char *const op_names[] = {"?", "alloc", "free", "realloc", "aligned"};

static int cmd_text(const struct trace *t)
{
    printf("# analloc trace v%u page %u start %llu records %zu\n", t->h.version, t->h.page,
           (unsigned long long)t->h.start, t->n);
    printf("# ns op size addr arg\n");
    for (size_t i = 0; i < t->n; i++) {
        const struct trace_record *r = &t->r[i];
        printf("%llu %s %llu 0x%llx 0x%llx\n", (unsigned long long)time_of(r), op_names[op_of(r)],
               (unsigned long long)r->size, (unsigned long long)r->addr, (unsigned long long)r->arg);
    }
    return 0;
}

/* The text form back to the binary one: the same bytes as the trace that
 * `text` printed. */
static int cmd_import(const char *in, const char *out)
{
    FILE *f = strcmp(in, "-") ? fopen(in, "r") : stdin;
    if (f == NULL) die("cannot open %s", in);
    struct trace_header h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, TRACE_MAGIC, 8);
    unsigned long long start, n;
    char line[512];
    if (!fgets(line, sizeof line, f) ||
        sscanf(line, "# analloc trace v%u page %u start %llu records %llu", &h.version, &h.page, &start,
               &n) != 4 || h.version != TRACE_VERSION || h.page == 0 || (h.page & (h.page - 1)))
        die("%s: not the text of an analloc trace (first line)", in);
    h.start = start;
    FILE *o = fopen(out, "wb");
    if (o == NULL) die("cannot write %s", out);
    fwrite(&h, sizeof h, 1, o);
    unsigned long long count = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#') continue;
        unsigned long long t, size, addr, arg;
        char op[16];
        unsigned k;
        if (sscanf(line, "%llu %15s %llu %llx %llx", &t, op, &size, &addr, &arg) != 5) die("%s: bad line", in);
        for (k = TRACE_ALLOC; k <= TRACE_ALIGNED && strcmp(op, op_names[k]); k++) {
        }
        if (k > TRACE_ALIGNED || t >> 56) die("%s: bad record", in);
        struct trace_record r = {(uint64_t)k << 56 | t, size, addr, arg};
        fwrite(&r, sizeof r, 1, o);
        count++;
    }
    if (count != n) die("%s: the record count differs from the header's", in);
    if (ferror(f) || (f != stdin && fclose(f) != 0)) die("%s: read error", in);
    if (ferror(o) | fclose(o)) die("error writing %s", out);
    return 0;
}

/* ---- addresses of the trace to blocks of the replay ------------------------ */

/* Open addressing, linear probing, deletion by backward shift. */
struct map {
    uint64_t *key; /* 0: empty (the trace never records a live block at 0) */
    void **val;
    size_t mask;
};

static void map_init(struct map *m, size_t n)
{
    size_t cap = 64;
    while (cap < 2 * n) cap *= 2;
    m->key = calloc(cap, sizeof *m->key);
    m->val = calloc(cap, sizeof *m->val);
    if (!m->key || !m->val) die("%s", "out of memory");
    m->mask = cap - 1;
}

static size_t slot_of(const struct map *m, uint64_t k)
{
    return (size_t)((k * 0x9e3779b97f4a7c15u) >> 20) & m->mask;
}

/* The slot holding k, or the empty slot where it would go. */
static size_t map_find(const struct map *m, uint64_t k)
{
    size_t i = slot_of(m, k);
    while (m->key[i] && m->key[i] != k) i = (i + 1) & m->mask;
    return i;
}

static void map_del(struct map *m, size_t i)
{
    m->key[i] = 0;
    for (size_t j = (i + 1) & m->mask; m->key[j]; j = (j + 1) & m->mask) {
        size_t home = slot_of(m, m->key[j]);
        /* j's entry may move to i if i lies cyclically in [home, j). */
        if (((j - home) & m->mask) >= ((j - i) & m->mask)) {
            m->key[i] = m->key[j], m->val[i] = m->val[j], m->key[j] = 0;
            i = j;
        }
    }
}

/* ---- the replay ------------------------------------------------------------ */

struct opts {
    size_t page, arena;
    int cache;    /* -1: the build's default */
    int times;
    size_t snapshots;
    const char *out;
    size_t at[64];
    size_t nat;
};

/* One point of the timeline. */
#define FRAG_ORDERS 8
struct sample {
    size_t op;
    double free_bytes, largest, used;
    double frag[FRAG_ORDERS]; /* analloc_frag_index of orders 0..7, / 1000 */
    double tb_free, tb_largest;
};

/* A memory map: the blocks in address order. */
struct block {
    size_t first, pages;
    unsigned kind;
};
struct snapshot {
    size_t op;
    struct block *b;
    size_t n, cap;
};

struct side {       /* one allocator's counts */
    size_t ops, failures, unknown, peak_used, used;
    double seconds;
};

struct replay {
    const struct trace *t;
    struct opts o;
    struct analloc a;
    unsigned char *base;
    void *meta;
    struct tb tb;
    unsigned char *tb_base;
    uint8_t *tb_order;
    struct map ma, mt;
    struct side sa, st;
    size_t skipped;
    struct sample *s;
    size_t ns, every;
};

static size_t pow2_at_least(size_t n)
{
    size_t p = 1;
    while (p < n) p *= 2;
    return p;
}

/* The peak of live bytes in the trace, each rounded up to a page. */
static size_t trace_peak(const struct trace *t, size_t page)
{
    struct map m;
    map_init(&m, t->n);
    size_t live = 0, peak = 0;
    for (size_t i = 0; i < t->n; i++) {
        const struct trace_record *r = &t->r[i];
        unsigned op = op_of(r);
        if (op == TRACE_FREE || (op == TRACE_REALLOC && r->arg && r->addr)) {
            uint64_t k = op == TRACE_FREE ? r->addr : r->arg;
            size_t j = map_find(&m, k);
            if (m.key[j]) live -= (size_t)(uintptr_t)m.val[j], map_del(&m, j);
        }
        if (op != TRACE_FREE && r->addr) {
            size_t bytes = (size_t)(r->size + page - 1) / page * page;
            size_t j = map_find(&m, r->addr);
            if (m.key[j]) live -= (size_t)(uintptr_t)m.val[j];
            m.key[j] = r->addr, m.val[j] = (void *)(uintptr_t)bytes;
            live += bytes;
            if (live > peak) peak = live;
        }
    }
    free(m.key), free(m.val);
    return peak;
}

static void *map_anon(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) die("%s", "mmap failed");
    return p;
}

static void replay_init(struct replay *rp, const struct trace *t, const struct opts *o)
{
    memset(rp, 0, sizeof *rp);
    rp->t = t;
    rp->o = *o;
    if (rp->o.page == 0) rp->o.page = t->h.page;
    if (rp->o.arena == 0) rp->o.arena = pow2_at_least(4 * trace_peak(t, rp->o.page));
    if (rp->o.arena < 256 * rp->o.page) rp->o.arena = 256 * rp->o.page; /* orders 0 to 7 exist */
    size_t page = rp->o.page, arena = rp->o.arena;
    if ((page & (page - 1)) || (arena & (arena - 1))) die("%s", "page and arena must be powers of two");
    /* Both arenas aligned to their size: every block of the two allocators
     * can be as large as the arena. */
    unsigned char *m = map_anon(2 * arena);
    rp->base = (unsigned char *)(((uintptr_t)m + arena - 1) & ~(uintptr_t)(arena - 1));
    size_t meta = analloc_meta_size(arena, page);
    rp->meta = malloc(meta);
    if (rp->meta == NULL || analloc_init(&rp->a, rp->base, arena, page, rp->meta, meta) != 0)
        die("%s", "analloc_init failed");
    if (o->cache >= 0 && analloc_set_cache(&rp->a, (unsigned)o->cache) != 0)
        die("%s", "analloc_set_cache refused the slots");
    m = map_anon(2 * arena);
    rp->tb_base = (unsigned char *)(((uintptr_t)m + arena - 1) & ~(uintptr_t)(arena - 1));
    unsigned shift = 0;
    while (((size_t)1 << shift) < page) shift++;
    if (shift < 4) die("%s", "the textbook buddy needs pages of 16 bytes or more (its list nodes)");
    rp->tb_order = malloc(tb_order_bytes(arena / page));
    if (rp->tb_order == NULL || tb_init(&rp->tb, rp->tb_base, arena / page, shift, rp->tb_order) != 0)
        die("%s", "tb_init failed");
    map_init(&rp->ma, t->n);
    map_init(&rp->mt, t->n);
    rp->every = t->n / 400 + 1;
    rp->s = calloc(t->n / rp->every + 2, sizeof *rp->s);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static size_t used_bytes(const struct analloc *a) { return a->managed - analloc_free_bytes(a); }

/* One record on analloc. */
static void step_analloc(struct replay *rp, const struct trace_record *r)
{
    struct map *m = &rp->ma;
    struct side *s = &rp->sa;
    unsigned op = op_of(r);
    void *p = NULL;
    size_t j;
    double t0 = rp->o.times ? now_s() : 0;
    s->ops++;
    if (op == TRACE_FREE) {
        j = map_find(m, r->addr);
        if (!m->key[j]) {
            s->unknown++;
        } else {
            if (m->val[j]) analloc_free(&rp->a, m->val[j]);
            map_del(m, j);
        }
    } else {
        void *old = NULL;
        int had = 0;
        if (op == TRACE_REALLOC && r->arg) {
            j = map_find(m, r->arg);
            if (m->key[j]) old = m->val[j], had = 1, map_del(m, j);
            else s->unknown++;
        }
        if (op == TRACE_ALIGNED)
            p = analloc_alloc_aligned(&rp->a, (size_t)r->size, (size_t)r->arg, 0);
        else if (had && old)
            p = analloc_realloc(&rp->a, old, (size_t)r->size);
        else
            p = analloc_alloc(&rp->a, (size_t)r->size);
        if (p == NULL) s->failures++, p = old; /* a failed realloc leaves the old block */
        j = map_find(m, r->addr);
        if (m->key[j]) { /* a block the replay thinks live: the trace missed its free */
            if (m->val[j]) analloc_free(&rp->a, m->val[j]);
            map_del(m, j);
            j = map_find(m, r->addr);
        }
        m->key[j] = r->addr, m->val[j] = p;
    }
    if (rp->o.times) s->seconds += now_s() - t0;
    s->used = used_bytes(&rp->a);
    if (s->used > s->peak_used) s->peak_used = s->used;
}

static unsigned order_for(const struct replay *rp, size_t size, size_t align)
{
    size_t need = size > align ? size : align, b = rp->o.page;
    unsigned k = 0;
    while (b < need && k < 63) b <<= 1, k++;
    return k;
}

static size_t tb_size(const struct replay *rp, void *p)
{
    size_t pfn = (size_t)((unsigned char *)p - rp->tb_base) / rp->o.page;
    return rp->o.page << (rp->tb_order[pfn] & ~TB_FREE);
}

/* One record on the textbook buddy: realloc keeps the block when the new
 * size fits its order, else allocates, (copies) and frees. */
static void step_textbook(struct replay *rp, const struct trace_record *r)
{
    struct map *m = &rp->mt;
    struct side *s = &rp->st;
    unsigned op = op_of(r);
    size_t j;
    double t0 = rp->o.times ? now_s() : 0;
    s->ops++;
    if (op == TRACE_FREE) {
        j = map_find(m, r->addr);
        if (!m->key[j]) {
            s->unknown++;
        } else {
            if (m->val[j]) s->used -= tb_size(rp, m->val[j]), tb_free(&rp->tb, m->val[j]);
            map_del(m, j);
        }
    } else {
        void *old = NULL, *p;
        if (op == TRACE_REALLOC && r->arg) {
            j = map_find(m, r->arg);
            if (m->key[j]) old = m->val[j], map_del(m, j);
            else s->unknown++;
        }
        unsigned k = order_for(rp, (size_t)r->size, op == TRACE_ALIGNED ? (size_t)r->arg : 0);
        if (old && tb_size(rp, old) >= (size_t)r->size && tb_size(rp, old) / 2 < (size_t)r->size) {
            p = old;
        } else {
            p = k <= rp->tb.max_order ? tb_alloc(&rp->tb, k) : NULL;
            if (p) s->used += tb_size(rp, p);
            if (p && old) {
                size_t n = tb_size(rp, old) < tb_size(rp, p) ? tb_size(rp, old) : tb_size(rp, p);
                memcpy(p, old, n > 64 ? 64 : n); /* (analloc's realloc copies all: see README) */
                s->used -= tb_size(rp, old), tb_free(&rp->tb, old);
            }
            if (p == NULL) s->failures++, p = old;
        }
        j = map_find(m, r->addr);
        if (m->key[j]) {
            if (m->val[j]) s->used -= tb_size(rp, m->val[j]), tb_free(&rp->tb, m->val[j]);
            map_del(m, j);
            j = map_find(m, r->addr);
        }
        m->key[j] = r->addr, m->val[j] = p;
    }
    if (rp->o.times) s->seconds += now_s() - t0;
    if (s->used > s->peak_used) s->peak_used = s->used;
}

static void sample(struct replay *rp, size_t op)
{
    struct sample *x = &rp->s[rp->ns++];
    x->op = op;
    x->free_bytes = (double)analloc_free_bytes(&rp->a);
    x->largest = (double)analloc_largest_free(&rp->a);
    x->used = (double)used_bytes(&rp->a);
    for (unsigned k = 0; k < FRAG_ORDERS; k++) {
        int f = analloc_frag_index(&rp->a, k);
        x->frag[k] = f == ANALLOC_EINVAL ? NAN : f / 1000.0; /* (no such order: a gap) */
    }
    x->tb_free = (double)(rp->tb.free_pages * rp->o.page);
    x->tb_largest = (double)(tb_largest_free(&rp->tb) * rp->o.page);
}

static int walk_cb(void *ctx, void *block, size_t bytes, unsigned kind)
{
    void **c = ctx;
    struct snapshot *sn = c[0];
    const struct analloc *a = c[1];
    if (sn->n == sn->cap) {
        sn->cap = sn->cap ? 2 * sn->cap : 1024;
        sn->b = realloc(sn->b, sn->cap * sizeof *sn->b);
        if (sn->b == NULL) die("%s", "out of memory");
    }
    size_t first = (size_t)((unsigned char *)block - (unsigned char *)a->start) / a->page;
    sn->b[sn->n++] = (struct block){first, bytes / a->page, kind};
    return 0;
}

static void take_snapshot(struct replay *rp, struct snapshot *sn, size_t op)
{
    void *ctx[2] = {sn, &rp->a};
    sn->op = op, sn->n = 0;
    if (analloc_walk(&rp->a, ANALLOC_BLOCK_ALL, walk_cb, ctx) != 0) die("%s", "analloc_walk failed");
}

/* A progress bar on stderr if it is a terminal. */
static void progress(size_t i, size_t n, int tty)
{
    if (!tty || (i % 4096 && i != n)) return;
    int w = 40, done = n ? (int)((double)i * w / (double)n) : w;
    fprintf(stderr, "\r[%.*s%*s] %zu/%zu", done, "########################################", w - done, "",
            i, n);
    if (i == n) fputc('\n', stderr);
}

/* Replay the whole trace; snapshots[i] taken after op at[i] (sorted). */
static void run(struct replay *rp, struct snapshot *snaps, const size_t *at, size_t nat)
{
    int tty = isatty(2);
    size_t next = 0;
    while (next < nat && at[next] == 0) take_snapshot(rp, &snaps[next], 0), next++;
    sample(rp, 0);
    for (size_t i = 0; i < rp->t->n; i++) {
        const struct trace_record *r = &rp->t->r[i];
        if (op_of(r) != TRACE_FREE && r->addr == 0) {
            rp->skipped++; /* failed when recorded */
        } else {
            step_analloc(rp, r);
            step_textbook(rp, r);
        }
        if ((i + 1) % rp->every == 0 || i + 1 == rp->t->n) sample(rp, i + 1);
        while (next < nat && at[next] == i + 1) take_snapshot(rp, &snaps[next], i + 1), next++;
        progress(i + 1, rp->t->n, tty);
    }
    if (analloc_check(&rp->a) != 0) die("%s", "analloc_check failed after the replay");
    if (tb_check(&rp->tb) != 0) die("%s", "tb_check failed after the replay");
}

static double lowest_largest(const struct replay *rp)
{
    double lo = rp->ns ? rp->s[0].largest : 0;
    for (size_t i = 1; i < rp->ns; i++)
        if (rp->s[i].largest < lo) lo = rp->s[i].largest;
    return lo;
}

static void summary(FILE *out, const struct replay *rp)
{
    const struct trace *t = rp->t;
    size_t count[5] = {0};
    for (size_t i = 0; i < t->n; i++) count[op_of(&t->r[i])]++;
    fprintf(out, "trace: %zu records: %zu alloc, %zu free, %zu realloc, %zu aligned; page %u; "
           "%zu failed when recorded (skipped)\n",
           t->n, count[1], count[2], count[3], count[4], t->h.page, rp->skipped);
    fprintf(out, "replay: arena %zu bytes, page %zu, cache slots %u\n", rp->o.arena, rp->o.page, rp->a.internal.cache_slots == 0 ? 0u : (unsigned)rp->a.internal.cache_slots);
    const struct analloc *a = &rp->a;
    fprintf(out, "analloc: %zu ops, %zu failed, %zu unknown addresses, peak used %zu bytes\n",
           rp->sa.ops, rp->sa.failures, rp->sa.unknown, rp->sa.peak_used);
    fprintf(out, "analloc at end: used %zu, free %zu, largest free %zu bytes; frag index (0.001) by order:",
           used_bytes(a), analloc_free_bytes(a), analloc_largest_free(a));
    for (unsigned k = 0; k < FRAG_ORDERS && k <= a->depth; k++) fprintf(out, " %d", analloc_frag_index(a, k));
    fprintf(out, "\n");
    size_t fr = 0, fa = 0;
    for (size_t i = 0; i < rp->ns; i++) {
        fr += rp->s[i].frag[0] > 0.5;
        fa += rp->s[i].frag[3] > 0.5;
    }
    fprintf(out, "analloc over time: %zu samples; order 0 fragmented (index > 500) in %zu, order 3 in %zu; "
           "lowest largest free %.0f bytes\n", rp->ns, fr, fa, lowest_largest(rp));
    fprintf(out, "textbook: %zu ops, %zu failed, %zu unknown addresses, peak used %zu bytes\n", rp->st.ops,
           rp->st.failures, rp->st.unknown, rp->st.peak_used);
    fprintf(out, "textbook at end: used %zu, free %zu, largest free %zu bytes\n", rp->st.used,
           rp->tb.free_pages * rp->o.page, tb_largest_free(&rp->tb) * rp->o.page);
    if (rp->o.times)
        fprintf(out, "time per op: analloc %.1f ns, textbook %.1f ns\n", rp->sa.seconds * 1e9 / (double)(rp->sa.ops + !rp->sa.ops),
               rp->st.seconds * 1e9 / (double)(rp->st.ops + !rp->st.ops));
}

/* ---- drawing ----------------------------------------------------------------- */

/* Colours by kind, a shade per order (larger blocks darker), and the edge. */
static struct rgb colour(unsigned kind, unsigned order)
{
    static const struct rgb base[4] = {{214, 69, 65}, {240, 240, 240}, {90, 150, 220}, {120, 120, 120}};
    unsigned i = kind & ANALLOC_BLOCK_USED ? 0 : kind & ANALLOC_BLOCK_FREE ? 1 : kind & ANALLOC_BLOCK_CACHED ? 2 : 3;
    struct rgb c = base[i];
    int d = (int)(order > 12 ? 12 : order) * 3;
    c.r = (unsigned char)(c.r > d ? c.r - d : 0);
    c.g = (unsigned char)(c.g > d ? c.g - d : 0);
    c.b = (unsigned char)(c.b > d ? c.b - d : 0);
    return c;
}
static const char *const kind_names[4] = {"used", "free", "cached", "reserved"};
static const unsigned kinds[4] = {ANALLOC_BLOCK_USED, ANALLOC_BLOCK_FREE, ANALLOC_BLOCK_CACHED,
                                  ANALLOC_BLOCK_RESERVED};

static unsigned order_of_pages(size_t pages)
{
    unsigned k = 0;
    while (((size_t)1 << k) < pages) k++;
    return k;
}

/* The grid: cols pages a row (a power of two, so that every buddy block is
 * one rectangle), cell px a page. */
struct grid { size_t pages, cols, rows; unsigned cell; };
static struct grid grid_for(size_t pages)
{
    struct grid g = {pages, 1, 0, 1};
    while (g.cols * g.cols < pages) g.cols *= 2;
    g.rows = (pages + g.cols - 1) / g.cols;
    g.cell = g.cols >= 512 ? 1 : (unsigned)(512 / g.cols);
    return g;
}

/* A block as a rectangle of cells. */
static void block_rect(const struct grid *g, const struct block *b, size_t *x, size_t *y, size_t *w, size_t *h)
{
    *x = b->first % g->cols, *y = b->first / g->cols;
    *w = b->pages < g->cols ? b->pages : g->cols;
    *h = b->pages < g->cols ? 1 : b->pages / g->cols;
    if (*x + *w > g->cols) *w = g->cols - *x; /* (reserved ranges need not be aligned) */
}

static void map_svg(FILE *f, const struct snapshot *sn, size_t pages, size_t page)
{
    struct grid g = grid_for(pages);
    double W = (double)(g.cols * g.cell), H = (double)(g.rows * g.cell);
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
               "font-family=\"sans-serif\">\n", W + 20 < 640 ? 640 : W + 20, H + 84);
    fprintf(f, "<text x=\"10\" y=\"16\" font-size=\"13\">memory map after operation %zu</text>\n", sn->op);
    fprintf(f, "<text x=\"10\" y=\"31\" font-size=\"11\">%zu pages of %zu bytes, %zu a row; the number in a "
               "block is its order</text>\n", pages, page, g.cols);
    fprintf(f, "<g transform=\"translate(10,38)\">\n");
    for (size_t i = 0; i < sn->n; i++) {
        const struct block *b = &sn->b[i];
        size_t x, y, w, h;
        unsigned k = order_of_pages(b->pages);
        struct rgb c = colour(b->kind, k);
        block_rect(&g, b, &x, &y, &w, &h);
        fprintf(f, "<rect x=\"%zu\" y=\"%zu\" width=\"%zu\" height=\"%zu\" fill=\"#%02x%02x%02x\" "
                   "stroke=\"#222\" stroke-width=\"%s\"><title>%s, order %u, pages %zu-%zu</title></rect>\n",
                x * g.cell, y * g.cell, w * g.cell, h * g.cell, c.r, c.g, c.b, g.cell >= 4 ? "0.5" : "0.2",
                kind_names[b->kind & 1 ? 0 : b->kind & 2 ? 1 : b->kind & 4 ? 2 : 3], k, b->first,
                b->first + b->pages - 1);
        if (w * g.cell >= 12 && h * g.cell >= 10)
            fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"%d\" text-anchor=\"middle\" "
                       "dominant-baseline=\"middle\" fill=\"#000\">%u</text>\n",
                    (x + w / 2.0) * g.cell, (y + h / 2.0) * g.cell, h * g.cell >= 20 ? 12 : 8, k);
    }
    fprintf(f, "</g>\n");
    for (int i = 0; i < 4; i++) {
        struct rgb c = colour(kinds[i], 0);
        double x = 10 + i * 110, y = H + 54;
        fprintf(f, "<rect x=\"%.0f\" y=\"%.0f\" width=\"14\" height=\"14\" fill=\"#%02x%02x%02x\" "
                   "stroke=\"#222\"/><text x=\"%.0f\" y=\"%.0f\" font-size=\"12\">%s</text>\n",
                x, y, c.r, c.g, c.b, x + 20, y + 12, kind_names[i]);
    }
    fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" font-size=\"11\">darker: larger order</text>\n", 10 + 4 * 110.0,
            H + 66);
    fprintf(f, "</svg>\n");
}

/* Every page a cell of the block's colour, the block's outline darker
 * (top and left edges: each boundary once), its order in digits where the
 * block has room; the legend below. */
static void map_image(struct image *im, const struct snapshot *sn, size_t pages, size_t op)
{
    struct grid g = grid_for(pages);
    long H = (long)(g.rows * g.cell);
    img_new(im, g.cols * g.cell < 420 ? 420 : g.cols * g.cell, (size_t)H + 34);
    struct rgb edge = {34, 34, 34}, ink = {0, 0, 0};
    for (size_t i = 0; i < sn->n; i++) {
        const struct block *b = &sn->b[i];
        size_t x, y, w, h;
        unsigned k = order_of_pages(b->pages);
        struct rgb c = colour(b->kind, k);
        block_rect(&g, b, &x, &y, &w, &h);
        long X = (long)(x * g.cell), Y = (long)(y * g.cell), Wp = (long)(w * g.cell), Hp = (long)(h * g.cell);
        img_rect(im, X, Y, Wp, Hp, c);
        if (g.cell >= 2) img_rect(im, X, Y, Wp, 1, edge), img_rect(im, X, Y, 1, Hp, edge); /* its neighbours draw the rest */
        char num[8];
        snprintf(num, sizeof num, "%u", k);
        if (Wp >= img_text_width(num, 1) + 4 && Hp >= 10)
            img_text(im, X + Wp / 2 - img_text_width(num, 1) / 2 + 1, Y + Hp / 2 - 3, num, 1, ink);
    }
    long x = 4;
    for (int i = 0; i < 4; i++) {
        img_rect(im, x, H + 6, 10, 10, edge);
        img_rect(im, x + 1, H + 7, 8, 8, colour(kinds[i], 0));
        x += 16 + img_text(im, x + 14, H + 8, kind_names[i], 1, ink);
    }
    char note[64];
    snprintf(note, sizeof note, "after op %zu; darker: larger order", op);
    img_text(im, 4, H + 22, note, 1, ink);
}

/* libpng, not an encoder of our own: PNG needs zlib's deflate and CRCs,
 * and a well-kept library (Debian's libpng-dev) gets them right. */
static void write_png(FILE *f, const struct image *im)
{
    png_structp p = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = p ? png_create_info_struct(p) : NULL;
    if (info == NULL) die("%s", "libpng setup failed");
    if (setjmp(png_jmpbuf(p))) die("%s", "libpng failed");
    png_init_io(p, f);
    png_set_IHDR(p, info, (png_uint_32)im->w, (png_uint_32)im->h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(p, info);
    for (size_t y = 0; y < im->h; y++) png_write_row(p, im->px + 3 * im->w * y);
    png_write_end(p, info);
    png_destroy_write_struct(&p, &info);
}

/* The timeline's columns, shared by both drawings: x the operation, y
 * the 5 byte series (KiB) then the fragmentation index of each order,
 * series after series (n samples each; one spare slot each). */
static void timeline_columns(const struct replay *rp, double **xp, double **yp)
{
    size_t n = rp->ns;
    double *x = malloc((n + 1) * sizeof *x), *y = malloc((n + 1) * (5 + FRAG_ORDERS) * sizeof *y);
    if (!x || !y) die("%s", "out of memory");
    for (size_t i = 0; i < n; i++) {
        const struct sample *s = &rp->s[i];
        x[i] = (double)s->op;
        y[0 * n + i] = s->free_bytes / 1024;
        y[1 * n + i] = s->largest / 1024;
        y[2 * n + i] = s->tb_free / 1024;
        y[3 * n + i] = s->tb_largest / 1024;
        y[4 * n + i] = s->used / 1024;
        for (int k = 0; k < FRAG_ORDERS; k++) y[(5 + (size_t)k) * n + i] = s->frag[k];
    }
    *xp = x;
    *yp = y;
}

static void timeline_svg(FILE *f, const struct replay *rp)
{
    size_t n = rp->ns;
    double *x, *y;
    timeline_columns(rp, &x, &y);
    static const char *const fnames[FRAG_ORDERS] = {"order 0", "order 1", "order 2", "order 3",
                                                    "order 4", "order 5", "order 6", "order 7"};
    struct svg_series bytes[5] = {
        {"analloc free", x, y, n, 0, 0},
        {"analloc largest free", x, y + n, n, 1, 0},
        {"textbook free", x, y + 2 * n, n, 2, 0},
        {"textbook largest free", x, y + 3 * n, n, 3, 0},
        {"analloc used", x, y + 4 * n, n, 4, 0},
    };
    struct svg_series frag[FRAG_ORDERS];
    for (int k = 0; k < FRAG_ORDERS; k++)
        frag[k] = (struct svg_series){fnames[k], x, y + (5 + (size_t)k) * n, n, k, 0};
    double xmax = n ? x[n - 1] : 1;
    svg_begin(f, 900, 640, "analloc-trace timeline");
    struct svg_panel p1 = {60, 40, 800, 250, "free memory over the trace", "operations", "KiB",
                           0, xmax > 0 ? xmax : 1, NULL, NULL, 0, 0, 0, 0, NULL};
    svg_panel(f, &p1, bytes, 5);
    struct svg_panel p2 = {60, 350, 800, 250, "analloc fragmentation index per order (0 to 1; -1: a block is free)",
                           "operations", "index", 0, xmax > 0 ? xmax : 1, NULL, NULL, 0, 0, -1, 1, NULL};
    svg_panel(f, &p2, frag, FRAG_ORDERS);
    svg_end(f);
    free(x), free(y);
}

/* The same two panels as timeline_svg, as pixels. */
static void timeline_image(struct image *im, const struct replay *rp)
{
    size_t n = rp->ns;
    double *x, *y;
    timeline_columns(rp, &x, &y);
    static const char *const names[5 + FRAG_ORDERS] = {
        "analloc free", "analloc largest free", "textbook free", "textbook largest free", "analloc used",
        "order 0", "order 1", "order 2", "order 3", "order 4", "order 5", "order 6", "order 7"};
    struct img_series s[5 + FRAG_ORDERS];
    for (size_t i = 0; i < 5 + FRAG_ORDERS; i++) s[i] = (struct img_series){names[i], x, y + i * n, n};
    double xmax = n ? x[n - 1] : 1;
    img_new(im, 900, 700);
    img_panel(im, 70, 50, 640, 250, "free memory over the trace", "operations", "KiB", xmax, 0, 0, s, 5);
    img_panel(im, 70, 400, 640, 230, "analloc fragmentation index per order",
              "operations (index -1: a free block of the order exists)", "index", xmax, -1, 1, s + 5, FRAG_ORDERS);
    free(x), free(y);
}

static FILE *create(const char *path)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL) die("cannot write %s", path);
    return f;
}

static void done_file(FILE *f, const char *path)
{
    if (ferror(f) | fclose(f)) die("error writing %s", path);
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

static int cmd_draw(const struct trace *t, struct opts *o)
{
    if (o->out == NULL || o->nat == 0) die("%s", "draw needs --at and --out");
    qsort(o->at, o->nat, sizeof o->at[0], cmp_size);
    struct replay rp;
    replay_init(&rp, t, o);
    struct snapshot *sn = calloc(o->nat, sizeof *sn);
    for (size_t i = 0; i < o->nat; i++) if (o->at[i] > t->n) o->at[i] = t->n;
    run(&rp, sn, o->at, o->nat);
    char path[4200];
    size_t pages = rp.a.managed / rp.a.page;
    for (size_t i = 0; i < o->nat; i++) {
        snprintf(path, sizeof path, "%s-map-%zu.svg", o->out, sn[i].op);
        FILE *f = create(path);
        map_svg(f, &sn[i], pages, rp.a.page);
        done_file(f, path);
        snprintf(path, sizeof path, "%s-map-%zu.png", o->out, sn[i].op);
        f = create(path);
        struct image im;
        map_image(&im, &sn[i], pages, sn[i].op);
        write_png(f, &im);
        free(im.px);
        done_file(f, path);
        printf("%s-map-%zu.svg, .png: %zu blocks\n", o->out, sn[i].op, sn[i].n);
    }
    snprintf(path, sizeof path, "%s-timeline.svg", o->out);
    FILE *f = create(path);
    timeline_svg(f, &rp);
    done_file(f, path);
    snprintf(path, sizeof path, "%s-timeline.png", o->out);
    f = create(path);
    struct image im;
    timeline_image(&im, &rp);
    write_png(f, &im);
    free(im.px);
    done_file(f, path);
    printf("%s-timeline.svg, .png\n", o->out);
    return 0;
}

/* ---- the HTML report ------------------------------------------------------ */

static void base64(FILE *out, const unsigned char *p, size_t n)
{
    static const char t64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
        fputc(t64[v >> 18 & 63], out);
        fputc(t64[v >> 12 & 63], out);
        fputc(i + 1 < n ? t64[v >> 6 & 63] : '=', out);
        fputc(i + 2 < n ? t64[v & 63] : '=', out);
    }
}

/* The page: the timeline as inline SVG, the memory maps as PNG data URIs
 * in a script array, a slider (input type=range) that shows one, and a test
 * hook: with #selftest in the address the script moves the slider itself
 * and writes what it saw into <pre id="selftest"> (make trace-test reads it
 * from chromium --dump-dom); #at=N shows map N first. */
static int cmd_report(const struct trace *t, struct opts *o)
{
    if (o->out == NULL) die("%s", "report needs --out");
    size_t k = o->snapshots ? o->snapshots : 40;
    if (k > 200) k = 200;
    size_t *at = malloc(k * sizeof *at);
    for (size_t i = 0; i < k; i++) at[i] = k > 1 ? t->n * i / (k - 1) : t->n;
    struct replay rp;
    replay_init(&rp, t, o);
    struct snapshot *sn = calloc(k, sizeof *sn);
    run(&rp, sn, at, k);
    FILE *f = create(o->out);
    fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
               "<title>analloc trace report</title>\n<style>body{font-family:sans-serif;margin:16px}"
               "#map{image-rendering:pixelated;border:1px solid #888}.sw{display:inline-block;width:12px;"
               "height:12px;border:1px solid #222;margin:0 4px 0 12px}</style></head><body>\n"
               "<h1>analloc trace report</h1>\n<pre>");
    /* the summary, as replay prints it */
    summary(f, &rp);
    fprintf(f, "</pre>\n<h2>Timeline</h2>\n");
    timeline_svg(f, &rp);
    fprintf(f, "<h2>Memory map</h2>\n<p><input id=\"slider\" type=\"range\" min=\"0\" max=\"%zu\" value=\"0\" "
               "style=\"width:600px\"> <span id=\"label\"></span></p>\n<p>", k - 1);
    for (int i = 0; i < 4; i++) {
        struct rgb c = colour(kinds[i], 0);
        fprintf(f, "<span class=\"sw\" style=\"background:#%02x%02x%02x\"></span>%s", c.r, c.g, c.b, kind_names[i]);
    }
    fprintf(f, " (darker: larger order; digits in a block: its order)</p>\n<img id=\"map\" alt=\"memory map\">\n"
               "<pre id=\"selftest\"></pre>\n<script>\n\"use strict\";\nconst ops = [");
    for (size_t i = 0; i < k; i++) fprintf(f, "%s%zu", i ? "," : "", sn[i].op);
    fprintf(f, "];\nconst maps = [\n");
    size_t pages = rp.a.managed / rp.a.page;
    for (size_t i = 0; i < k; i++) {
        struct image im;
        map_image(&im, &sn[i], pages, sn[i].op);
        char *buf = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&buf, &len);
        write_png(m, &im);
        fclose(m);
        fprintf(f, "\"data:image/png;base64,");
        base64(f, (unsigned char *)buf, len);
        fprintf(f, "\",\n");
        free(buf), free(im.px);
    }
    fprintf(f, "];\n"
               "const slider = document.getElementById(\"slider\");\n"
               "const img = document.getElementById(\"map\");\n"
               "const label = document.getElementById(\"label\");\n"
               "function show(i) {\n"
               "  img.src = maps[i];\n"
               "  label.textContent = \"after operation \" + ops[i] + \" of %zu\";\n"
               "}\n"
               "slider.addEventListener(\"input\", () => show(Number(slider.value)));\n"
               "const at = /^#at=([0-9]+)$/.exec(location.hash); /* #at=N: start at map N */\n"
               "if (at) slider.value = String(Math.min(Number(at[1]), maps.length - 1));\n"
               "show(Number(slider.value));\n"
               "if (location.hash === \"#selftest\") {\n"
               "  const out = document.getElementById(\"selftest\");\n"
               "  const errors = [];\n"
               "  window.addEventListener(\"error\", e => errors.push(String(e.message)));\n"
               "  const decoded = () => new Promise((ok, bad) => {\n"
               "    if (img.complete && img.naturalWidth > 0) ok(); else { img.onload = ok; img.onerror = bad; }\n"
               "  });\n"
               "  const pixels = () => {\n"
               "    const c = document.createElement(\"canvas\");\n"
               "    c.width = img.naturalWidth; c.height = img.naturalHeight;\n"
               "    const g = c.getContext(\"2d\"); g.drawImage(img, 0, 0);\n"
               "    return g.getImageData(0, 0, c.width, c.height).data;\n"
               "  };\n"
               "  (async () => {\n"
               "    await decoded();\n"
               "    const first = pixels(), firstLabel = label.textContent;\n"
               "    slider.value = String(maps.length - 1);\n"
               "    slider.dispatchEvent(new Event(\"input\"));\n"
               "    await decoded();\n"
               "    const last = pixels();\n"
               "    let differ = 0;\n"
               "    for (let i = 0; i < first.length; i++) if (first[i] !== last[i]) differ++;\n"
               "    out.textContent = \"selftest: snapshots \" + maps.length + \"; slider \" + slider.value +\n"
               "      \"; label changed \" + (label.textContent !== firstLabel) + \"; bytes differ \" + differ +\n"
               "      \"; svg \" + document.querySelectorAll(\"svg\").length + \"; errors \" + errors.length + \" \" + errors.join(\"|\");\n"
               "  })().catch(e => { out.textContent = \"selftest: failed \" + e; });\n"
               "}\n"
               "</script>\n</body></html>\n",
            t->n);
    done_file(f, o->out);
    printf("%s: %zu snapshots\n", o->out, k);
    return 0;
}

/* ---- main -------------------------------------------------------------------- */

static size_t number(const char *s)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || end == s) die("not a number: %s", s);
    if (*end == 'K' || *end == 'k') v <<= 10, end++;
    else if (*end == 'M') v <<= 20, end++;
    else if (*end == 'G') v <<= 30, end++;
    if (*end) die("not a number: %s", s);
    return (size_t)v;
}

static _Noreturn void usage(void)
{
    fprintf(stderr, "usage: analloc-trace text FILE\n"
                    "       analloc-trace import TEXT FILE    (TEXT as text prints it; - for stdin)\n"
                    "       analloc-trace replay FILE [--page B] [--arena B] [--cache SLOTS] [--times]\n"
                    "       analloc-trace draw FILE --at N[,N...] --out PREFIX [replay options]\n"
                    "       analloc-trace report FILE --out PAGE.html [--snapshots N] [replay options]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    if (argc < 3) usage();
    const char *cmd = argv[1];
    if (!strcmp(cmd, "import")) {
        if (argc != 4) usage();
        return cmd_import(argv[2], argv[3]);
    }
    struct opts o;
    memset(&o, 0, sizeof o);
    o.cache = -1;
    for (int i = 3; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--times")) { o.times = 1; continue; }
        if (v == NULL) usage();
        i++;
        if (!strcmp(a, "--page")) o.page = number(v);
        else if (!strcmp(a, "--arena")) o.arena = number(v);
        else if (!strcmp(a, "--cache")) o.cache = (int)number(v);
        else if (!strcmp(a, "--snapshots")) o.snapshots = number(v);
        else if (!strcmp(a, "--out")) o.out = v;
        else if (!strcmp(a, "--at")) {
            char *copy = strdup(v);
            for (char *tok = strtok(copy, ","); tok && o.nat < 64; tok = strtok(NULL, ","))
                o.at[o.nat++] = number(tok);
            free(copy);
        } else usage();
    }
    struct trace t;
    load(argv[2], &t);
    if (!strcmp(cmd, "text")) return cmd_text(&t);
    if (!strcmp(cmd, "replay")) {
        struct replay rp;
        replay_init(&rp, &t, &o);
        run(&rp, NULL, NULL, 0);
        summary(stdout, &rp);
        return 0;
    }
    if (!strcmp(cmd, "draw")) return cmd_draw(&t, &o);
    if (!strcmp(cmd, "report")) return cmd_report(&t, &o);
    usage();
}
