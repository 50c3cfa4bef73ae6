/*
 * bitvector.h - bit vectors stored as arrays of BV_TYPE words.
 *
 * The vectormaps seed's API, kept name for name, with its bugs fixed
 * (bv_toggleall toggles; BV_TEST compiles) and with the operations a buddy
 * engine needs: scans for the first, last, next and previous set bit, range
 * set/clear and population counts.
 *
 * Conventions:
 *  - Bit i lives in word i / BV_BITS, at position i % BV_BITS (bit 0 is the
 *    least significant).  The layout is the same on every endianness because
 *    it is defined on words, never on bytes.
 *  - Bit indices and sizes are size_t, so vectors of more than 2^31 bits
 *    work; int arguments convert as before.  A negative int converts to a
 *    huge index: do not pass one.
 *  - Every scan returns `size` (one past the last valid bit) when it finds
 *    nothing, and the word helpers return BV_BITS for a zero word, so there
 *    is never an undefined result.
 *  - Bits past `size` in the last word are "padding": the set/clear-all
 *    helpers keep them zero, so counts and scans stay exact.
 *
 * BV_TYPE may be defined to any unsigned integer type before the first
 * inclusion (the engine uses uint64_t).  The header needs only <stddef.h>,
 * <stdint.h> and <stdbool.h>, and calls no library function, so it is usable
 * in freestanding code.  All functions are static inline.
 */
#ifndef ANALLOC_BITVECTOR_H
#define ANALLOC_BITVECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef BV_TYPE
#define BV_TYPE uint32_t
#endif

/* Bits in one word.  Assumes 8-bit bytes, as uint8_t's existence implies. */
#define BV_BITS (sizeof(BV_TYPE) * 8u)
/* Words needed to hold n bits. */
#define BV_SIZE(n) (((size_t)(n) + BV_BITS - 1u) / BV_BITS)
/* Declare a bit vector of `size` bits: BV_DECLARE(used, 32); */
#define BV_DECLARE(name, size) BV_TYPE name[BV_SIZE(size)]

typedef BV_TYPE *bv_type;

_Static_assert((BV_TYPE)-1 > 0 && sizeof(BV_TYPE) <= 8,
               "BV_TYPE must be an unsigned integer type of at most 64 bits");

#ifdef BV_ENABLEMACROS
#define BV_INDEX(BIT) ((size_t)(BIT) / BV_BITS)
#define BV_BIT(BIT) ((size_t)(BIT) % BV_BITS)
#define BV_MASK(BIT) ((BV_TYPE)((BV_TYPE)1u << BV_BIT(BIT)))
#define BV_SET(X, BIT) ((X)[BV_INDEX(BIT)] |= BV_MASK(BIT))
#define BV_CLEAR(X, BIT) ((X)[BV_INDEX(BIT)] &= (BV_TYPE)~BV_MASK(BIT))
#define BV_TEST(X, BIT) ((X)[BV_INDEX(BIT)] & BV_MASK(BIT))
#endif

/* ---- Word helpers ------------------------------------------------------
 * Compiler builtins are used only where they are known to compile inline
 * (no call to a runtime helper such as __ctzdi2 or __popcountdi2); words
 * wider than `unsigned int` are split into 32-bit halves for the same reason,
 * except on 64-bit targets whose scan instructions take 64-bit words.
 * Elsewhere a branch-only fallback is used.  Define BV_NO_BUILTINS to force
 * the fallback (the tests do, to check it).
 */
#if !defined(BV_NO_BUILTINS) && (defined(__GNUC__) || defined(__clang__)) && \
    (defined(__x86_64__) || defined(__i386__) || defined(__aarch64__) ||      \
     (defined(__riscv) && defined(__riscv_zbb)))
#define BV_HAVE_BUILTIN_SCAN 1
#else
#define BV_HAVE_BUILTIN_SCAN 0
#endif
/* ... and for 64-bit values, where one instruction does it. */
#if BV_HAVE_BUILTIN_SCAN && (defined(__x86_64__) || defined(__aarch64__) || \
                             (defined(__riscv) && __riscv_xlen == 64))
#define BV_HAVE_BUILTIN_SCAN64 1
#else
#define BV_HAVE_BUILTIN_SCAN64 0
#endif

/* Count trailing zeros of a 32-bit value; 32 for zero. */
static inline unsigned bv_ctz32(uint32_t x)
{
    if (x == 0)
        return 32;
#if BV_HAVE_BUILTIN_SCAN
    return (unsigned)__builtin_ctz(x);
#else
    unsigned n = 0;
    if ((x & 0xffffu) == 0) { n += 16; x >>= 16; }
    if ((x & 0xffu) == 0) { n += 8; x >>= 8; }
    if ((x & 0xfu) == 0) { n += 4; x >>= 4; }
    if ((x & 0x3u) == 0) { n += 2; x >>= 2; }
    if ((x & 0x1u) == 0) { n += 1; }
    return n;
#endif
}

/* Count leading zeros of a 32-bit value; 32 for zero. */
static inline unsigned bv_clz32(uint32_t x)
{
    if (x == 0)
        return 32;
#if BV_HAVE_BUILTIN_SCAN
    return (unsigned)__builtin_clz(x);
#else
    unsigned n = 0;
    if ((x & 0xffff0000u) == 0) { n += 16; x <<= 16; }
    if ((x & 0xff000000u) == 0) { n += 8; x <<= 8; }
    if ((x & 0xf0000000u) == 0) { n += 4; x <<= 4; }
    if ((x & 0xc0000000u) == 0) { n += 2; x <<= 2; }
    if ((x & 0x80000000u) == 0) { n += 1; }
    return n;
#endif
}

/* Population count of a 32-bit value (SWAR; no multiply, no helper call). */
static inline unsigned bv_popcount32(uint32_t x)
{
    x = x - ((x >> 1) & 0x55555555u);
    x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
    x = (x + (x >> 4)) & 0x0f0f0f0fu;
    x = x + (x >> 8);
    x = x + (x >> 16);
    return x & 0x3fu;
}

/* The word helpers below work for any BV_TYPE of 8 to 64 bits: a word is
 * processed as 32-bit halves, low half first.  The branches on BV_BITS are
 * constant and fold away. */
#define BV_HALF_(w, i) ((uint32_t)((uint64_t)(w) >> (32u * (i))))

/* Index of the lowest set bit of w; BV_BITS if w is zero. */
static inline unsigned bv_ctz_word(BV_TYPE w)
{
#if BV_HAVE_BUILTIN_SCAN64
    if (BV_BITS == 64u)
        return w ? (unsigned)__builtin_ctzll((unsigned long long)w) : 64u;
#endif
    if (BV_BITS <= 32u)
        return w ? bv_ctz32((uint32_t)w) : (unsigned)BV_BITS;
    if (BV_HALF_(w, 0) != 0)
        return bv_ctz32(BV_HALF_(w, 0));
    return BV_HALF_(w, 1) ? 32u + bv_ctz32(BV_HALF_(w, 1)) : (unsigned)BV_BITS;
}

/* Index of the highest set bit of w; BV_BITS if w is zero. */
static inline unsigned bv_msb_word(BV_TYPE w)
{
#if BV_HAVE_BUILTIN_SCAN64
    if (BV_BITS == 64u)
        return w ? 63u - (unsigned)__builtin_clzll((unsigned long long)w) : 64u;
#endif
    if (BV_BITS <= 32u)
        return w ? 31u - bv_clz32((uint32_t)w) : (unsigned)BV_BITS;
    if (BV_HALF_(w, 1) != 0)
        return 63u - bv_clz32(BV_HALF_(w, 1));
    return BV_HALF_(w, 0) ? 31u - bv_clz32(BV_HALF_(w, 0)) : (unsigned)BV_BITS;
}

/* Number of set bits in w. */
static inline unsigned bv_popcount_word(BV_TYPE w)
{
    if (BV_BITS <= 32u)
        return bv_popcount32((uint32_t)w);
    return bv_popcount32(BV_HALF_(w, 0)) + bv_popcount32(BV_HALF_(w, 1));
}

/* 64-bit shifts by a variable amount are built from 32-bit halves on 32-bit
 * targets: some of them (32-bit ARM, for one) would otherwise call a
 * runtime helper.  On 64-bit targets this is the plain shift. */
#if UINTPTR_MAX > 0xffffffffu
#define BV_NATIVE64_ 1
#else
#define BV_NATIVE64_ 0
#endif

/* 64-bit word with bits [from, 64) set; from < 64. */
static inline uint64_t bv_ones_from64_(size_t from)
{
#if BV_NATIVE64_
    return UINT64_MAX << from;
#else
    uint32_t lo = from < 32u ? UINT32_MAX << from : 0u;
    uint32_t hi = from < 32u ? UINT32_MAX : UINT32_MAX << (from - 32u);
    return ((uint64_t)hi << 32) | lo;
#endif
}

/* 64-bit word with only bit b set; b < 64. */
static inline uint64_t bv_one64_(size_t b)
{
#if BV_NATIVE64_
    return (uint64_t)1u << b;
#else
    return b < 32u ? (uint64_t)(1u << b) : (uint64_t)(1u << (b - 32u)) << 32;
#endif
}

/* Word with bits [from, BV_BITS) set; from < BV_BITS. */
static inline BV_TYPE bv_mask_from(size_t from)
{
    return (BV_TYPE)bv_ones_from64_(from);
}

/* Word with bits [0, through] set; through < BV_BITS. */
static inline BV_TYPE bv_mask_through(size_t through)
{
    return through + 1u < 64u ? (BV_TYPE)~bv_ones_from64_(through + 1u) : (BV_TYPE)UINT64_MAX;
}

/* ---- The seed's API ---------------------------------------------------- */

static inline size_t bv_index(size_t bit) { return bit / BV_BITS; }
static inline size_t bv_bit(size_t bit) { return bit % BV_BITS; }
static inline BV_TYPE bv_mask(size_t bit) { return (BV_TYPE)bv_one64_(bv_bit(bit)); }

static inline void bv_set(bv_type v, size_t bit) { v[bv_index(bit)] |= bv_mask(bit); }
static inline void bv_clear(bv_type v, size_t bit) { v[bv_index(bit)] &= (BV_TYPE)~bv_mask(bit); }
/* Nonzero (the bit's mask) if the bit is set, as in the seed. */
static inline BV_TYPE bv_test(const BV_TYPE *v, size_t bit) { return v[bv_index(bit)] & bv_mask(bit); }

/* Mask of the valid bits of the last word of a `size`-bit vector (size > 0). */
static inline BV_TYPE bv_last_word_mask_(size_t size)
{
    return bv_mask_through((size - 1u) % BV_BITS);
}

/* Set bits [0, size); padding bits stay zero. */
static inline void bv_setall(bv_type v, size_t size)
{
    size_t n = BV_SIZE(size);
    for (size_t i = 0; i < n; i++)
        v[i] = (BV_TYPE)~(BV_TYPE)0;
    if (n)
        v[n - 1] &= bv_last_word_mask_(size);
}

/* Clear bits [0, size), padding included. */
static inline void bv_clearall(bv_type v, size_t size)
{
    size_t n = BV_SIZE(size);
    for (size_t i = 0; i < n; i++)
        v[i] = 0;
}

/* Invert bits [0, size).  (The seed set them instead.)  Padding stays zero. */
static inline void bv_toggleall(bv_type v, size_t size)
{
    size_t n = BV_SIZE(size);
    for (size_t i = 0; i < n; i++)
        v[i] = (BV_TYPE)~v[i];
    if (n)
        v[n - 1] &= bv_last_word_mask_(size);
}

/* ---- Operations added for the engine ----------------------------------- */

/* Set bits [start, start + count). */
static inline void bv_set_range(bv_type v, size_t start, size_t count)
{
    while (count) {
        size_t off = bv_bit(start);
        size_t take = BV_BITS - off < count ? BV_BITS - off : count;
        v[bv_index(start)] |= (BV_TYPE)(bv_mask_from(off) & bv_mask_through(off + take - 1u));
        start += take;
        count -= take;
    }
}

/* Clear bits [start, start + count). */
static inline void bv_clear_range(bv_type v, size_t start, size_t count)
{
    while (count) {
        size_t off = bv_bit(start);
        size_t take = BV_BITS - off < count ? BV_BITS - off : count;
        v[bv_index(start)] &= (BV_TYPE)~(bv_mask_from(off) & bv_mask_through(off + take - 1u));
        start += take;
        count -= take;
    }
}

/* First set bit at or after `from`, below `size`; `size` if there is none. */
static inline size_t bv_next_set(const BV_TYPE *v, size_t size, size_t from)
{
    if (from >= size)
        return size;
    size_t i = bv_index(from);
    size_t n = BV_SIZE(size);
    BV_TYPE w = v[i] & bv_mask_from(bv_bit(from));
    while (w == 0) {
        if (++i == n)
            return size;
        w = v[i];
    }
    size_t bit = i * BV_BITS + bv_ctz_word(w);
    return bit < size ? bit : size;
}

/* Last set bit at or before `from` (and below `size`); `size` if none. */
static inline size_t bv_prev_set(const BV_TYPE *v, size_t size, size_t from)
{
    if (size == 0)
        return size;
    if (from >= size)
        from = size - 1u;
    size_t i = bv_index(from);
    BV_TYPE w = v[i] & bv_mask_through(bv_bit(from));
    while (w == 0) {
        if (i-- == 0)
            return size;
        w = v[i];
    }
    return i * BV_BITS + bv_msb_word(w);
}

/* First set bit; `size` if the vector is all zero. */
static inline size_t bv_first_set(const BV_TYPE *v, size_t size)
{
    return bv_next_set(v, size, 0);
}

/* Last set bit; `size` if the vector is all zero. */
static inline size_t bv_last_set(const BV_TYPE *v, size_t size)
{
    return size ? bv_prev_set(v, size, size - 1u) : size;
}

/* Number of set bits in [0, size). */
static inline size_t bv_count(const BV_TYPE *v, size_t size)
{
    size_t n = BV_SIZE(size), total = 0;
    for (size_t i = 0; i + 1u < n; i++)
        total += bv_popcount_word(v[i]);
    if (n)
        total += bv_popcount_word(v[n - 1] & bv_last_word_mask_(size));
    return total;
}

/* True if no bit of [0, size) is set. */
static inline bool bv_none(const BV_TYPE *v, size_t size)
{
    return bv_first_set(v, size) == size;
}

#endif /* ANALLOC_BITVECTOR_H */
