/*
 * check.c - analloc_check: every invariant that src/analloc.c's opening
 * comment lists, verified from the struct and the metadata alone.
 *
 * A corrupted allocator must give ANALLOC_ECORRUPT, never undefined
 * behaviour: each field is validated before it is used as a shift, an index,
 * a count or a pointer.  check_fields runs first and vouches for everything
 * the later steps read: the layout, the metadata's place, the counts that
 * bound loops.
 */
#include "internal.h"

/* A page shift that both a page number and a size can take. */
#define SHIFT_LIMIT (sizeof(size_t) < sizeof(uintptr_t) ? sizeof(size_t) * 8u : PFN_BITS)

#define CORRUPT_IF(cond)                                                     \
    do {                                                                     \
        if (cond)                                                            \
            return ANALLOC_ECORRUPT;                                         \
    } while (0)

/* The fields of the struct, each against its range and against the layout
 * that lo and hi imply; the metadata's place; the seal over what setup
 * fixed.  Reads nothing through a pointer. */
static int check_fields(const struct analloc *a)
{
    const struct analloc_internal *s = &a->internal;
    CORRUPT_IF(s->shift >= SHIFT_LIMIT || a->page != (size_t)1 << s->shift);
    CORRUPT_IF(s->space > 1u || (s->space == 0 && s->origin != 0));
    /* Pointers end below the top of the address space; a space's byte
     * offsets below 2^63 (analloc_space_init). */
    CORRUPT_IF(s->lo == 0 || s->lo >= s->hi ||
               s->hi > (s->space ? (uint64_t)INT64_MAX : (uint64_t)UINTPTR_MAX) >> s->shift ||
               !pages_fit((size_t)(s->hi - s->lo)));
    struct layout L;
    an_layout_exact(s->lo, s->hi, &L);
    CORRUPT_IF(L.depth != s->depth || L.levels != s->levels || L.split_word != s->split_word ||
               L.words * sizeof(uint64_t) != s->meta_bytes);
    CORRUPT_IF(L.cache_orders != s->cache_orders || L.cache_bits != s->cache_bits ||
               L.cache_mul != s->cache_mul || L.cache_shift != s->cache_shift ||
               (uintptr_t)s->cache != (uintptr_t)s->words + L.cache_word * sizeof(uint64_t) ||
               (uintptr_t)s->table != (uintptr_t)s->words + L.table_word * sizeof(uint64_t));
    for (unsigned l = 0; l < ANALLOC_MAX_LEVELS; l++)
        CORRUPT_IF(L.level_word[l] != s->level_word[l] || L.level_bits[l] != s->level_bits[l]);
    CORRUPT_IF(a->depth != s->depth || a->managed != bytes_capped(s, s->hi - s->lo) ||
               a->start != (s->space ? NULL : page_ptr(s, s->lo)));
    /* The metadata lies inside the bytes setup kept, which lie outside the
     * arena: only then may the later steps read it. */
    uintptr_t w = (uintptr_t)s->words;
    uintptr_t arena_lo = s->lo << s->shift, arena_hi = s->hi << s->shift;
    CORRUPT_IF(w % META_ALIGN != 0 || s->held_lo >= s->held_hi || w < s->held_lo ||
               w >= s->held_hi || s->held_hi - w < s->meta_bytes);
    CORRUPT_IF(s->space == 0 && s->held_hi > arena_lo && s->held_lo < arena_hi);
    CORRUPT_IF(s->seal != an_seal(a));
    /* The fields that change. */
    CORRUPT_IF((s->free_orders & bv_mask_from(s->depth + 1u)) != 0); /* depth <= 60 */
    CORRUPT_IF(s->cache_slots > ANALLOC_CACHE_MAX);
    CORRUPT_IF(s->magic != mode_magic(s)); /* the mark says what the settings say */
    CORRUPT_IF(s->ranges > ANALLOC_RESERVE_MAX);
    unsigned flags = s->poison & 0xffu, known = DEBUG_FLAGS | ANNOTATE_LEAVING;
    if (!ANALLOC_CAN_ANNOTATE)
        known = ANALLOC_DEBUG_POISON_FREE | ANALLOC_DEBUG_POISON_FRESH;
    CORRUPT_IF((flags & ~known) != 0 || (s->poison >> 24) != 0 || (flags == 0 && s->poison != 0) ||
               (s->space != 0 && s->poison != 0));
    CORRUPT_IF(s->free_pages > (size_t)(s->hi - s->lo) ||
               s->reserved_pages > (size_t)(s->hi - s->lo) ||
               s->taken_blocks > (size_t)(s->hi - s->lo));
    return ANALLOC_OK;
}

/* True if the bits past `bits` in the last word of a vector are all zero. */
static bool padding_clear(const uint64_t *v, size_t bits)
{
    return bits % WORD_BITS == 0 || (v[bits / WORD_BITS] & bv_mask_from(bits % WORD_BITS)) == 0;
}

/* The bits of a split word that belong to nodes: level `base`, group q. */
static uint64_t split_word_nodes(const struct analloc_internal *s, unsigned base, uintptr_t q)
{
    uint64_t mask = 0;
    for (unsigned r = 1; r <= SPLIT_SPAN && base + r <= s->depth; r++) {
        unsigned k = base + r, shift = SPLIT_SPAN - r;
        uintptr_t first = q << shift, last = first + ((63u >> r)); /* the group's nodes of order k */
        if (first < (s->lo >> k))
            first = s->lo >> k;
        if (last > ((s->hi - 1u) >> k))
            last = (s->hi - 1u) >> k;
        for (uintptr_t j = first; j <= last; j++)
            mask |= bv_mask((64u >> r) | ((unsigned)j & (63u >> r)));
    }
    return mask;
}

/* No split word has a bit set that belongs to no node (bit 0, a node
 * outside the arena, an order above D). */
static int check_split_padding(const struct analloc_internal *s)
{
    for (unsigned base = 0; base < s->depth; base += SPLIT_SPAN) {
        for (uintptr_t q = s->lo >> (base + SPLIT_SPAN); q <= (s->hi - 1u) >> (base + SPLIT_SPAN); q++)
            CORRUPT_IF((s->words[(size_t)(ORDER_SPLIT(s, base + 1u) + q)] &
                        ~split_word_nodes(s, base, q)) != 0);
    }
    return ANALLOC_OK;
}

/* The order table's spare column (src/internal.h, STORE_LIST): in row 0
 * the sequence counter, even (no section that changes bits runs) if a
 * store is attached and 0 if none; in row 1 the list of stores (its lock bit is a
 * lock, not checked), in row 2 its complement; zero elsewhere.  In a
 * one-page arena there is no list: rows 0 and 1 only. */
static bool spare_ok(const struct analloc_internal *s, unsigned row)
{
    uint64_t v = an_load(&ORDER_SPARE(s, row));
    bool linked = s->depth >= 1;
    if (row == 0)
        return stores_first(s) != NULL ? (v & 1u) == 0 : v == 0; /* no section changes bits now */
    if (row == 1 && linked)
        return true; /* (checked through row 2) */
    if (row == 2 && linked)
        return v == ~(an_load(&STORE_LIST(s)) & ~STORE_LIST_LOCKED);
    return v == 0;
}

/* The order table's run starts and end row, the padding and the summary
 * levels. */
static int check_index(const struct analloc_internal *s)
{
    size_t first = 0;
    for (unsigned k = 0; k <= s->depth; k++) {
        CORRUPT_IF(ORDER_START(s, k) != first);
        uint64_t base = (uint64_t)first - (uint64_t)(s->lo >> k) + s->level_word[0] * WORD_BITS;
        CORRUPT_IF(ORDER_BASE(s, k) != base);
        CORRUPT_IF(ORDER_SPLIT(s, k) != (k == 0 ? 0 : split_origin(s->lo, s->hi, s->split_word, k)));
        bool listed = k < s->cache_orders;
        size_t n = (size_t)(s->hi - s->lo);
        CORRUPT_IF(ORDER_LIST(s, k) != (listed ? list_origin(n, (size_t)ORDER_ROW * (s->depth + 2u), k) : 0));
        CORRUPT_IF(ORDER_CAP(s, k) != (listed ? cache_cap(n, s->cache_slots, k) : 0));
        CORRUPT_IF(!spare_ok(s, k));
        first += order_nodes(s->lo, s->hi, k);
    }
    CORRUPT_IF(ORDER_START(s, s->depth + 1u) != first);
    CORRUPT_IF(ORDER_FREE(s, s->depth + 1u) != 0 || ORDER_LOWEST(s, s->depth + 1u) != 0 ||
               ORDER_BASE(s, s->depth + 1u) != 0 || ORDER_SPLIT(s, s->depth + 1u) != 0 ||
               ORDER_LIST(s, s->depth + 1u) != 0 || ORDER_CAP(s, s->depth + 1u) != 0 ||
               !spare_ok(s, s->depth + 1u));
    for (unsigned l = 0; l < s->levels; l++) {
        CORRUPT_IF(!padding_clear(level_words(s, l), s->level_bits[l]));
        for (size_t b = 0; l > 0 && b < s->level_bits[l]; b++)
            CORRUPT_IF((bv_test(level_words(s, l), b) != 0) != (level_words(s, l - 1u)[b] != 0));
    }
    return check_split_padding(s);
}

/* Does node (k, j) straddle an edge of the arena? */
static bool node_on_edge(const struct analloc_internal *s, unsigned k, uintptr_t j)
{
    uintptr_t first = j << k, last = first + (((uintptr_t)1 << k) - 1u);
    return first < s->lo || last >= s->hi;
}

/* Every node against the encoding, its parent and its buddy; the counters.
 * `reserved_blocks` used blocks belong to reserved ranges. */
static int check_tree(const struct analloc_internal *s, size_t reserved_blocks)
{
    size_t live = 0, live_pages = 0, free_pages = 0;
    for (unsigned k = s->depth + 1u; k-- > 0;) {
        size_t nfree = 0, lowest = (size_t)ORDER_START(s, k + 1u);
        for (uintptr_t j = s->lo >> k; j <= (s->hi - 1u) >> k; j++) {
            bool free = node_free(s, k, j), split = node_split(s, k, j);
            bool parent_split = k == s->depth || node_split(s, k + 1u, j >> 1);
            if (free && nfree++ == 0)
                lowest = node_bit(s, k, j);
            CORRUPT_IF(free && split);
            CORRUPT_IF(node_on_edge(s, k, j) && !split);
            if (!parent_split) {
                CORRUPT_IF(free || split); /* inside a larger block */
                continue;
            }
            CORRUPT_IF(free && k < s->depth && node_exists(s, k, j ^ 1u) && node_free(s, k, j ^ 1u));
            if (!free && !split) {
                live++;
                live_pages += pages_of(k);
            }
        }
        CORRUPT_IF(nfree != ORDER_FREE(s, k) || lowest != ORDER_LOWEST(s, k));
        CORRUPT_IF(((s->free_orders & bv_mask(k)) != 0) != (nfree != 0));
        free_pages += nfree << k;
    }
    /* Blocks tile the arena whenever the checks above pass, so the used
     * pages are what the free ones leave. */
    ANALLOC_ASSERT(free_pages + live_pages == (size_t)(s->hi - s->lo));
    /* Cached blocks look like live blocks (check_cache vouches for that):
     * both are taken blocks. */
    CORRUPT_IF(live != s->taken_blocks + reserved_blocks || free_pages != s->free_pages);
    return ANALLOC_OK;
}

/* The range table: sorted, apart, inside the arena, zero past the last
 * entry; every page of a range in a used block that lies wholly inside it
 * and is not cached.  Counts those blocks into *blocks. */
static int check_ranges(const struct analloc_internal *s, size_t *blocks)
{
    size_t pages = 0;
    *blocks = 0;
    for (unsigned i = 0; i < ANALLOC_RESERVE_MAX; i++) {
        uint64_t e0 = RANGE_FIRST(s, i), e1 = RANGE_END(s, i);
        if (i >= s->ranges) {
            CORRUPT_IF(e0 != 0 || e1 != 0);
            continue;
        }
        CORRUPT_IF(e0 < s->lo || e1 > s->hi || e0 >= e1);
        CORRUPT_IF(i > 0 && RANGE_END(s, i - 1u) >= e0); /* adjacent ones are merged */
        pages += (size_t)(e1 - e0);
        for (uintptr_t p = (uintptr_t)e0; p < e1;) {
            unsigned k = block_order(s, p);
            uintptr_t first = (p >> k) << k;
            CORRUPT_IF(first < e0 || first + pages_of(k) > e1 || node_free(s, k, p >> k) ||
                       block_cached(s, k, first));
            ++*blocks;
            p = first + pages_of(k);
        }
    }
    CORRUPT_IF(pages != s->reserved_pages);
    return ANALLOC_OK;
}

/* The block cache: each list holds its count of distinct blocks of its
 * order that look used, each with its key in an entry of its own bucket
 * that the slot names; no other table entry and no slot past a count is in
 * use.  Counts and entries are validated before they bound a loop or index
 * the table. */
/* A slot of an order-k list (the cache's or a store's): 1 + the entry of a
 * key of an order-k node of the arena, in the key's own bucket, whose block
 * looks used. */
static int check_slot(const struct analloc_internal *s, unsigned k, uint64_t slot)
{
    CORRUPT_IF(slot == 0 || slot > (uint64_t)1 << s->cache_bits);
    uint64_t key = an_load(&CACHE_KEY(s, slot - 1u));
    CORRUPT_IF(key < ORDER_BASE(s, k) + (s->lo >> k) ||
               key > ORDER_BASE(s, k) + ((s->hi - 1u) >> k)); /* a node of order k */
    uintptr_t pfn = key_page(s, k, key);
    CORRUPT_IF(pfn < s->lo || pfn >= s->hi); /* the node lies inside the arena */
    CORRUPT_IF(block_order(s, pfn) != k || node_free(s, k, pfn >> k));
    CORRUPT_IF(key_bucket(s, key) != ((slot - 1u) & ~(uint64_t)(CACHE_WAYS - 1u))); /* its own bucket */
    return ANALLOC_OK;
}

/* The per-CPU stores (held by this check): each attached to this allocator,
 * with the allocator's bases, and lists of valid slots no longer than a
 * store keeps.  Adds their blocks to *listed. */
static int check_stores(const struct analloc *a, uint64_t *listed)
{
    const struct analloc_internal *s = &a->internal;
    size_t stores = 0;
    for (const struct analloc_cpu *c = stores_first(s); c != NULL; c = c->internal.next) {
        const struct analloc_cpu_internal *ci = &c->internal;
        CORRUPT_IF(++stores > ((size_t)1 << 20)); /* (a loop in the list) */
        CORRUPT_IF(ci->magic != STORE_MAGIC || c->a != a || ci->split1 != ORDER_SPLIT(s, 1));
        for (unsigned k = 0; k < ANALLOC_CPU_ORDERS; k++) {
            uint32_t n = ci->count[k];
            CORRUPT_IF(ci->base[k] != (k <= s->depth ? ORDER_BASE(s, k) : 0));
            CORRUPT_IF(n > (k < store_orders(s) ? ANALLOC_CPU_CAP(k) : 0u));
            for (unsigned i = 0; i < ANALLOC_CPU_CAP(k); i++) {
                if (i >= n)
                    CORRUPT_IF(STORE_SLOT(ci, k, i) != 0);
                else if (check_slot(s, k, STORE_SLOT(ci, k, i)) != ANALLOC_OK)
                    return ANALLOC_ECORRUPT;
            }
            *listed += n;
        }
    }
    return ANALLOC_OK;
}

static int check_cache(const struct analloc *a)
{
    const struct analloc_internal *s = &a->internal;
    uint64_t listed = 0, keys = 0;
    size_t entries = (size_t)1 << s->cache_bits;
    for (size_t e = 0; e < entries; e++) {
        uint64_t key = an_load(&CACHE_KEY(s, e));
        CORRUPT_IF((key & BUCKET_LOCKED) != 0); /* no bucket lock is held: this check holds
                                                   the stores and the allocator's lock */
        keys += key != 0;
    }
    for (unsigned k = 0; k < s->cache_orders; k++) {
        uint64_t n = CACHE_COUNT(s, k);
        CORRUPT_IF(n > ORDER_CAP(s, k));
        for (unsigned i = 0; i < cache_cap((size_t)(s->hi - s->lo), ANALLOC_CACHE_MAX, k); i++) {
            uint64_t slot = CACHE_SLOT(s, k, i);
            if (i >= n) {
                CORRUPT_IF(slot != 0);
                continue;
            }
            if (check_slot(s, k, slot) != ANALLOC_OK)
                return ANALLOC_ECORRUPT;
            for (unsigned later = i + 1u; later < n; later++)
                CORRUPT_IF(CACHE_SLOT(s, k, later) == slot);
        }
        listed += n;
    }
    CORRUPT_IF(check_stores(a, &listed) != ANALLOC_OK);
    CORRUPT_IF(listed != keys); /* no key without a listed block, none listed twice */
    return ANALLOC_OK;
}

int analloc_check(const struct analloc *a)
{
    if (!is_setup(a))
        return ANALLOC_EINVAL;
    const struct analloc_internal *s = &a->internal;
    if ((s->lock == NULL) != (s->unlock == NULL))
        return ANALLOC_ECORRUPT; /* neither is called: one would be unbalanced */
    /* With stores attached, the check takes the list of stores and every
     * store before the allocator's lock (the lock order): a first section
     * validates the fields and the list's address before they are used. */
    bool held = false;
    for (;;) {
        size_t reserved_blocks = 0;
        lock_read(s);
        int err = check_fields(a);
        if (err == ANALLOC_OK && !held && stores_first(s) != NULL) {
            err = spare_ok(s, 2) ? ANALLOC_OK : ANALLOC_ECORRUPT;
            unlock_read(s);
            if (err != ANALLOC_OK)
                return err;
#if ANALLOC_STORES
            an_stores_hold((struct analloc_internal *)(uintptr_t)s); /* the locks are not state */
#endif
            held = true;
            continue;
        }
        if (err == ANALLOC_OK)
            err = check_index(s);
        if (err == ANALLOC_OK)
            err = check_cache(a);
        if (err == ANALLOC_OK)
            err = check_ranges(s, &reserved_blocks);
        if (err == ANALLOC_OK)
            err = check_tree(s, reserved_blocks);
        unlock_read(s);
#if ANALLOC_STORES
        if (held)
            an_stores_let_go((struct analloc_internal *)(uintptr_t)s);
#endif
        return err;
    }
}
