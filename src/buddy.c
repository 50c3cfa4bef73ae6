/*
 * buddy.c - the vectormaps front (buddy.h): one static allocator with the
 * seed's three calls, delegating everything to the analloc engine.
 */
#include "analloc/buddy.h"
#include "analloc.h"

#ifndef BUDDY_AREA_SIZE
#define BUDDY_AREA_SIZE (16u << 20)
#endif
#ifndef BUDDY_MIN_BLOCK
#define BUDDY_MIN_BLOCK (1u << 20)
#endif

_Static_assert(BUDDY_MIN_BLOCK > 0 && (BUDDY_MIN_BLOCK & (BUDDY_MIN_BLOCK - 1)) == 0,
               "BUDDY_MIN_BLOCK must be a power of two");
_Static_assert((BUDDY_AREA_SIZE & (BUDDY_AREA_SIZE - 1)) == 0 && BUDDY_AREA_SIZE >= BUDDY_MIN_BLOCK,
               "BUDDY_AREA_SIZE must be a power of two of at least one block");

static struct analloc buddy_allocator;
static int buddy_error;

/* The metadata, outside the area, for the largest area the front accepts. */
static uint64_t buddy_meta[ANALLOC_META_SIZE_MAX(BUDDY_AREA_SIZE, BUDDY_MIN_BLOCK) / 8u + 1u];

#ifndef BUDDY_NO_STATIC_AREA
/* Aligned to its size, so that the whole area is one block, as in the seed. */
static _Alignas(BUDDY_AREA_SIZE) unsigned char buddy_area[BUDDY_AREA_SIZE];
#endif

void buddy_init(void)
{
    buddy_error = 0;
#ifndef BUDDY_NO_STATIC_AREA
    (void)analloc_init(&buddy_allocator, buddy_area, sizeof buddy_area, BUDDY_MIN_BLOCK,
                       buddy_meta, sizeof buddy_meta);
    /* A loader that ignores the area's alignment (valgrind does, for a PIE)
     * leaves fewer large blocks; the area is still managed, and this says so. */
    if ((uintptr_t)buddy_area % BUDDY_AREA_SIZE != 0)
        buddy_error = ANALLOC_EALIGN;
#endif
}

int buddy_init_at(void *base, size_t size)
{
    if (base == NULL)
        return ANALLOC_EINVAL;
    if (size > BUDDY_AREA_SIZE)
        return ANALLOC_ETOOSMALL;
    int err = analloc_init(&buddy_allocator, base, size, BUDDY_MIN_BLOCK, buddy_meta,
                           sizeof buddy_meta);
    if (err == ANALLOC_OK)
        buddy_error = 0;
    return err;
}

void *buddy_alloc(uint32_t size)
{
    return analloc_alloc(&buddy_allocator, size);
}

void buddy_free(void *p)
{
    if (p == NULL)
        return;
    int err = analloc_free(&buddy_allocator, p);
    if (err != ANALLOC_OK)
        buddy_error = err;
}

int buddy_last_error(void)
{
    int err = buddy_error;
    buddy_error = 0;
    return err;
}
