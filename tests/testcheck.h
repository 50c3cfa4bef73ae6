/*
 * testcheck.h - cmocka helpers shared by the suites that snapshot an
 * allocator: error-code assertions, an address range nobody touches, and
 * byte-for-byte snapshots of the struct and its metadata.  Include after
 * <cmocka.h>, "analloc.h" and "testutil.h".
 */
#ifndef ANALLOC_TESTCHECK_H
#define ANALLOC_TESTCHECK_H

#include <string.h>
#include <sys/mman.h>

#if UINTPTR_MAX > 0xFFFFFFFFu
#define HOST_64 1
#else
#define HOST_64 0
#endif

#define ASSERT_ERR(got, want) assert_err_((got), (want), #got, __FILE__, __LINE__)
static inline void assert_err_(int got, int want, const char *expr, const char *file, int line)
{
    if (got != want) {
        print_error("%s:%d: %s returned %d (%s), expected %d (%s)\n", file, line, expr, got,
                    analloc_strerror(got), want, analloc_strerror(want));
        _fail(file, line);
    }
}

/* An address range that is never touched by anyone (the library must not
 * touch it either).  64-bit: 2^40, which nothing maps here.  32-bit: one
 * PROT_NONE reservation made once. */
static inline uintptr_t fake_base(size_t bytes, size_t align)
{
#if HOST_64
    (void)bytes;
    (void)align;
    return (uintptr_t)1 << 40;
#else
    static uintptr_t reserved;
    const size_t len = (size_t)96 << 20;
    if (!reserved) {
        void *p = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        assert_true(p != MAP_FAILED);
        reserved = addr(p);
    }
    assert_true(align <= ((size_t)16 << 20) && bytes <= ((size_t)64 << 20));
    return align_up(reserved, (uintptr_t)16 << 20);
#endif
}

/* ---- snapshots of the struct and the metadata ------------------------- */

/* Start of the metadata: every part of it is in `words` (src/layout.h). */
static inline unsigned char *meta_base(const struct analloc *a)
{
    return ptr_at(addr(a->internal.words));
}

struct snap {
    struct analloc s;
    unsigned char *meta;
    size_t len;
};

static inline void snap_take(struct snap *sn, const struct analloc *a)
{
    memcpy(&sn->s, a, sizeof *a);
    sn->len = a->internal.meta_bytes;
    sn->meta = malloc(sn->len + 1);
    assert_non_null(sn->meta);
    if (sn->len)
        memcpy(sn->meta, meta_base(a), sn->len);
}

static inline void snap_free(struct snap *sn)
{
    free(sn->meta);
    sn->meta = NULL;
}

/* The struct and the metadata must equal the snapshot, byte for byte. */
#define SNAP_SAME(sn, a, what) snap_same_((sn), (a), (what), __FILE__, __LINE__)
static inline void snap_same_(const struct snap *sn, const struct analloc *a, const char *what,
                              const char *file, int line)
{
    int s = memcmp(&sn->s, a, sizeof *a) != 0;
    int m = sn->len && memcmp(sn->meta, meta_base(&sn->s), sn->len) != 0;
    if (!s && !m)
        return;
    print_error("%s:%d: %s changed the allocator:%s%s\n", file, line, what, s ? " struct" : "",
                m ? " metadata" : "");
    if (s)
        print_error("  free_pages %zu -> %zu, live_blocks %zu -> %zu, cached_blocks %u -> %u, "
                    "reserved %u -> %u\n",
                    sn->s.internal.free_pages, a->internal.free_pages, sn->s.internal.live_blocks,
                    a->internal.live_blocks, sn->s.internal.cached_blocks,
                    a->internal.cached_blocks, sn->s.internal.ranges, a->internal.ranges);
    if (m) {
        const unsigned char *now = meta_base(&sn->s);
        for (size_t i = 0; i < sn->len; i++)
            if (now[i] != sn->meta[i]) {
                print_error("  first metadata difference at byte %zu: %#x -> %#x\n", i,
                            sn->meta[i], now[i]);
                break;
            }
    }
    _fail(file, line);
}

#endif /* ANALLOC_TESTCHECK_H */
