/*
 * buddy.h - the vectormaps front: one global buddy allocator with the seed's
 * three calls, as a thin layer on the analloc engine.
 *
 * Defaults follow the seed's worked example: a 16 MiB area divided into
 * blocks of 1 MiB, demands rounded up to a power of two.  The built-in area
 * is a static array aligned to its size, so that 16 blocks of 1 MiB and then,
 * once they are freed, one block of 16 MiB can be allocated.
 *
 * Build-time configuration (define when compiling src/buddy.c):
 *   BUDDY_AREA_SIZE   bytes of the area (default 16 MiB); also the largest
 *                     area buddy_init_at accepts, since the metadata is static
 *   BUDDY_MIN_BLOCK   smallest block in bytes, a power of two (default 1 MiB)
 *   BUDDY_NO_STATIC_AREA  omit the built-in area: buddy_init() then manages
 *                     nothing until buddy_init_at() is called
 *
 * Like the seed, the front is single-threaded.  The metadata is static and
 * outside the area; the area itself is never read or written.
 */
#ifndef ANALLOC_BUDDY_H
#define ANALLOC_BUDDY_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Set up the built-in area.  Calling it again frees every block.  If the
 * loader did not honour the area's alignment, buddy_last_error() then returns
 * ANALLOC_EALIGN (the area is managed anyway, with fewer large blocks). */
void buddy_init(void);

/*
 * Manage [base, base + size) instead of the built-in area.  Returns 0, or,
 * keeping the previous area: ANALLOC_EINVAL (base NULL, the area wraps),
 * ANALLOC_ETOOSMALL (size above BUDDY_AREA_SIZE: the static metadata cannot
 * describe it; or no whole block), ANALLOC_EOVERLAP (the area holds the
 * front's metadata).
 */
int buddy_init_at(void *base, size_t size);

/* A block of at least `size` bytes (a power-of-two multiple of the smallest
 * block, aligned to its size), or NULL: analloc_alloc on the front's
 * allocator, so blocks of 1 to 8 smallest blocks come from the block cache,
 * most recently freed first.  Size 0 gives the smallest block. */
void *buddy_alloc(uint32_t size);

/* Return the block at p; NULL is ignored.  A pointer that is not the start of
 * a live block changes nothing and is recorded: see buddy_last_error. */
void buddy_free(void *p);

/* The error of the last rejected buddy_free (a negative ANALLOC_E* code),
 * or 0 if none since buddy_init; reading it resets it to 0. */
int buddy_last_error(void);

#ifdef __cplusplus
}
#endif

#endif /* ANALLOC_BUDDY_H */
