/*
 * inspect.c - the read-only calls: getters, statistics, the fragmentation
 * index, the walk, the dump, error strings and the version.  Nothing here
 * changes an allocator; contracts are in include/analloc.h.
 */
#include "internal.h"

unsigned analloc_version(void) { return ANALLOC_VERSION; }

const char *analloc_strerror(int error)
{
    switch (error) {
    case ANALLOC_OK: return "success";
    case ANALLOC_EINVAL: return "invalid argument";
    case ANALLOC_ETOOSMALL: return "chunk or metadata buffer too small";
    case ANALLOC_EOVERLAP: return "metadata buffer overlaps the managed range";
    case ANALLOC_ERANGE: return "pointer outside the managed range";
    case ANALLOC_ERESERVED: return "pointer in the used prefix, the metadata or a reserved range";
    case ANALLOC_EALIGN: return "pointer not aligned to a page";
    case ANALLOC_EINTERIOR: return "pointer inside a live block, not at its start";
    case ANALLOC_EFREE: return "pointer to free memory (double free?)";
    case ANALLOC_ECORRUPT: return "metadata corrupt";
    case ANALLOC_EBUSY: return "range holds allocated or reserved pages";
    case ANALLOC_ENOTRESERVED: return "range holds pages that are not reserved";
    case ANALLOC_ELIMIT: return "too many reserved ranges";
    case ANALLOC_ENOMEM: return "no free block holds the request";
    case ANALLOC_ESIZE: return "size does not match the run";
    default: return "unknown error";
    }
}

/*
 * n / d and n % d by shift and subtract, one bit at a time: a plain `/` of
 * 64-bit numbers would call __udivdi3 on 32-bit targets.
 */
static uint64_t divmod64(uint64_t n, uint64_t d, uint64_t *rem)
{
    uint64_t q = 0, r = 0;
    for (unsigned i = 0; i < 64u; i++) {
        r = (r << 1) | (n >> 63);
        n <<= 1;
        q <<= 1;
        if (r >= d) {
            r -= d;
            q |= 1u;
        }
    }
    *rem = r;
    return q;
}

/* ---- Getters and statistics --------------------------------------------------- */

size_t analloc_free_bytes(const struct analloc *a)
{
    if (!is_setup(a))
        return 0;
    lock_read(&a->internal);
    size_t bytes = bytes_capped(&a->internal, available_pages(&a->internal));
    unlock_read(&a->internal);
    return bytes;
}

size_t analloc_largest_free(const struct analloc *a)
{
    if (!is_setup(a))
        return 0;
    lock_read(&a->internal);
    size_t bytes = bytes_capped(&a->internal, largest_free_pages(&a->internal));
    unlock_read(&a->internal);
    return bytes;
}

size_t analloc_meta_bytes(const struct analloc *a)
{
    return is_setup(a) ? a->internal.meta_bytes : 0;
}

int analloc_stats(const struct analloc *a, struct analloc_stats *st)
{
    if (!is_setup(a) || st == NULL || st->size < sizeof st->size)
        return ANALLOC_EINVAL;
    const struct analloc_internal *s = &a->internal;
    struct analloc_stats out;
    bytes_fill(&out, 0, sizeof out); /* no initialiser: it would be a memset call */
    lock_read(s);
    for (unsigned k = 0; k < s->cache_orders; k++)
        out.cached_blocks_of_order[k] = order_cached_blocks(s, k);
    for (unsigned k = 0; k <= s->depth; k++)
        out.free_blocks_of_order[k] = (size_t)ORDER_FREE(s, k);
    out.page = a->page;
    out.depth = s->depth;
    size_t managed = (size_t)(s->hi - s->lo), free = available_pages(s);
    size_t cached = cached_pages(s), largest = largest_free_pages(s);
    out.space = s->space;
    out.space_start = page_addr(s, s->lo);
    out.space_managed = (uint64_t)managed << s->shift;
    out.space_free = (uint64_t)free << s->shift;
    out.space_cached = (uint64_t)cached << s->shift;
    out.space_reserved = (uint64_t)s->reserved_pages << s->shift;
    out.space_used = out.space_managed - out.space_free - out.space_reserved;
    out.space_largest_free = (uint64_t)largest << s->shift;
    out.managed_bytes = bytes_capped(s, managed);
    out.free_bytes = bytes_capped(s, free);
    out.cached_bytes = bytes_capped(s, cached);
    out.reserved_bytes = bytes_capped(s, s->reserved_pages);
    out.used_bytes = bytes_capped(s, managed - free - s->reserved_pages);
    out.largest_free = bytes_capped(s, largest);
    out.live_blocks = live_blocks(s);
    out.cached_blocks = cached_blocks(s);
    out.reserved_ranges = s->ranges;
    out.meta_bytes = s->meta_bytes;
    out.cache_slots = s->cache_slots;
    unlock_read(s);
    out.cache_orders = s->cache_orders;
    out.meta_fixed_bytes = (size_t)(s->table - s->words) * sizeof(uint64_t) +
                           (((size_t)1 << s->cache_bits) + RANGE_WORDS) * sizeof(uint64_t);
    out.cache_slots_max = ANALLOC_CACHE_MAX;
    out.reserve_max = ANALLOC_RESERVE_MAX;
    out.cpu_stores = ANALLOC_STORES;
    size_t n = st->size < sizeof out ? st->size : sizeof out;
    out.size = n;
    bytes_copy(st, &out, n);
    return ANALLOC_OK;
}

int analloc_frag_index(const struct analloc *a, unsigned order)
{
    if (!is_setup(a) || order > a->internal.depth)
        return ANALLOC_EINVAL;
    const struct analloc_internal *s = &a->internal;
    lock_read(s);
    /* Free blocks as they are: the buddy system's and the cached ones. */
    uint64_t blocks = 0, suitable = 0;
    for (unsigned k = 0; k <= s->depth; k++) {
        uint64_t n = ORDER_FREE(s, k) + order_cached_blocks(s, k);
        blocks += n;
        if (k >= order)
            suitable += n;
    }
    uint64_t free_pages = available_pages(s);
    unlock_read(s);
    if (blocks == 0)
        return 0; /* nothing free: no fragmentation to speak of (Linux's answer) */
    if (suitable != 0)
        return -1000; /* a request of this order succeeds */
    /* 1000 - (1000 + 1000 * free_pages / 2^order) / blocks, as Linux's
     * __fragmentation_index, clamped at 0: with less memory free than the
     * request, Linux's value dips below 0 (down to -1000 * 2^j / 2^order for
     * one free block of 2^j pages); the clamp keeps "lack of memory" at 0
     * and every result apart from the error codes. */
    uint64_t rem;
    uint64_t per = divmod64(1000u + ((free_pages * 1000u) >> order), blocks, &rem);
    return per >= 1000u ? 0 : (int)(1000u - per);
}

/* ---- The walk ------------------------------------------------------------------- */

/* analloc_walk's callback and context, for the adapter below. */
struct ptr_walk {
    analloc_walk_fn fn;
    void *ctx;
};

static int ptr_walk_block(void *ctx, uint64_t addr, uint64_t bytes, unsigned kind)
{
    const struct ptr_walk *w = ctx;
    return w->fn(w->ctx, (void *)(uintptr_t)addr, (size_t)bytes, kind);
}

int analloc_walk(const struct analloc *a, unsigned kinds, analloc_walk_fn fn, void *ctx)
{
    if (!is_setup_ptr(a) || fn == NULL)
        return ANALLOC_EINVAL;
    struct ptr_walk w;
    w.fn = fn;
    w.ctx = ctx;
    return analloc_space_walk(a, kinds, ptr_walk_block, &w);
}

int analloc_space_walk(const struct analloc *a, unsigned kinds, analloc_space_walk_fn fn,
                       void *ctx)
{
    if (!is_setup(a) || fn == NULL || (kinds & ~(unsigned)ANALLOC_BLOCK_ALL) != 0)
        return ANALLOC_EINVAL;
    if (kinds == 0)
        return 0;
    const struct analloc_internal *s = &a->internal;
    int rc = 0;
    unsigned r = 0;
    lock_read(s);
    for (uintptr_t p = s->lo; p < s->hi && rc == 0;) {
        if (r < s->ranges && p == RANGE_FIRST(s, r)) {
            uintptr_t end = (uintptr_t)RANGE_END(s, r++);
            if (kinds & ANALLOC_BLOCK_RESERVED)
                rc = fn(ctx, page_addr(s, p), (uint64_t)(end - p) << s->shift, ANALLOC_BLOCK_RESERVED);
            p = end;
            continue;
        }
        unsigned k = block_order(s, p);
        unsigned kind = block_kind(s, k, p);
        if (kinds & kind)
            rc = fn(ctx, page_addr(s, p), (uint64_t)a->page << k, kind);
        p += pages_of(k);
    }
    unlock_read(s);
    return rc;
}

/* ---- The dump ------------------------------------------------------------------- */

#define DUMP_WIDTH_MAX 128u
#define LINE_MAX_CHARS (DUMP_WIDTH_MAX + 64u)

/* A bounded line buffer; text past the end is dropped. */
struct line {
    char buf[LINE_MAX_CHARS + 1u];
    size_t len;
};

static void line_char(struct line *t, char c)
{
    if (ANALLOC_ALWAYS(t->len < LINE_MAX_CHARS)) /* widths are clamped to fit */
        t->buf[t->len++] = c;
    t->buf[t->len] = '\0';
}

static void line_str(struct line *t, const char *str)
{
    while (*str != '\0')
        line_char(t, *str++);
}

/* Decimal, right-aligned in `width` characters. */
static void line_uint(struct line *t, uint64_t v, unsigned width)
{
    char digits[24];
    unsigned n = 0;
    do {
        uint64_t digit;
        v = divmod64(v, 10u, &digit);
        digits[n++] = (char)('0' + (unsigned)digit);
    } while (v != 0);
    while (width-- > n)
        line_char(t, ' ');
    while (n > 0)
        line_char(t, digits[--n]);
}

/* Hexadecimal with all the digits of a pointer, or of a 64-bit address. */
static void line_hex(struct line *t, uint64_t v, unsigned bits)
{
    line_str(t, "0x");
    for (unsigned shift = bits; shift > 0; shift -= 4)
        line_char(t, "0123456789abcdef"[(v >> (shift - 4u)) & 0xfu]);
}

/* The seed's terms for a node: free, split, used, or inside a larger block;
 * and this project's: cached, reserved. */
static char node_char(const struct analloc_internal *s, unsigned k, uintptr_t j)
{
    if (node_split(s, k, j))
        return 'S';
    if (node_free(s, k, j))
        return 'F';
    if (k < s->depth && !node_split(s, k + 1u, j >> 1))
        return '-';
    if (block_cached(s, k, j << k))
        return 'c';
    return range_holds(s, j << k) ? 'R' : 'U';
}

static void dump_summary(const struct analloc *a, void (*out)(void *ctx, const char *line),
                         void *ctx, struct line *t)
{
    const struct analloc_internal *s = &a->internal;
    size_t pages = (size_t)(s->hi - s->lo);
    t->len = 0;
    line_str(t, "analloc: ");
    line_uint(t, pages, 0);
    line_str(t, " pages of ");
    line_uint(t, a->page, 0);
    line_str(t, " B at ");
    line_hex(t, page_addr(s, s->lo), s->space ? 64u : PFN_BITS);
    line_str(t, ", depth ");
    line_uint(t, s->depth, 0);
    out(ctx, t->buf);

    t->len = 0;
    line_str(t, "  free ");
    line_uint(t, (uint64_t)available_pages(s) << s->shift, 0);
    line_str(t, " B of ");
    line_uint(t, (uint64_t)pages << s->shift, 0);
    line_str(t, " B, largest free block ");
    line_uint(t, (uint64_t)largest_free_pages(s) << s->shift, 0);
    line_str(t, " B, live blocks ");
    line_uint(t, live_blocks(s), 0);
    line_str(t, ", cached blocks ");
    line_uint(t, cached_blocks(s), 0);
    out(ctx, t->buf);

    t->len = 0;
    uint64_t hundredths, frac;
    hundredths = divmod64((uint64_t)s->meta_bytes * 800u, pages, &frac);
    line_str(t, "  metadata ");
    line_uint(t, s->meta_bytes, 0);
    line_str(t, " B = ");
    line_uint(t, divmod64(hundredths, 100u, &frac), 0);
    line_char(t, '.');
    if (frac < 10u)
        line_char(t, '0');
    line_uint(t, frac, 0);
    line_str(t, " bits per page; map: F free, S split, U used, c cached, R reserved, "
                "- inside a block");
    out(ctx, t->buf);
}

void analloc_dump(const struct analloc *a, void (*out)(void *ctx, const char *line), void *ctx,
                  size_t width)
{
    struct line t; /* no initialiser: it would be a memset call */
    t.len = 0;
    if (out == NULL)
        return;
    if (!is_setup(a)) {
        out(ctx, "analloc: not set up");
        return;
    }
    const struct analloc_internal *s = &a->internal;
    width = width == 0 ? 64u : width > DUMP_WIDTH_MAX ? DUMP_WIDTH_MAX : width;
    lock_read(s);
    dump_summary(a, out, ctx, &t);
    for (unsigned k = s->depth + 1u; k-- > 0;) {
        t.len = 0;
        line_str(&t, "  order ");
        line_uint(&t, k, 2);
        line_str(&t, " ");
        line_uint(&t, a->page << k, 12);
        line_str(&t, " B |");
        size_t n = order_nodes(s->lo, s->hi, k);
        for (size_t i = 0; i < n && i < width; i++)
            line_char(&t, node_char(s, k, (s->lo >> k) + i));
        line_str(&t, n > width ? "..." : "|");
        out(ctx, t.buf);
    }
    unlock_read(s);
}
