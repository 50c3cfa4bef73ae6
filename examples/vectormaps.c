/*
 * vectormaps.c - the vectormaps seed's API: buddy_init, buddy_alloc and
 * buddy_free on its worked example (16 MiB in blocks of 1 MiB).
 */
#include <stdint.h>
#include <stdio.h>

#include "analloc/buddy.h"

int main(void)
{
    void *blocks[16];
    buddy_init();
    for (int i = 0; i < 16; i++)
        blocks[i] = buddy_alloc(1u << 20);
    printf("16 blocks of 1 MiB: first %p, last %p\n", blocks[0], blocks[15]);
    printf("a 17th: %p (the area is full)\n", buddy_alloc(1u << 20));
    for (int i = 0; i < 16; i++)
        buddy_free(blocks[i]);
    void *all = buddy_alloc(16u << 20);
    printf("after freeing them, one block of 16 MiB: %p (aligned to 16 MiB: %s)\n", all,
           ((uintptr_t)all & ((16u << 20) - 1u)) == 0 ? "yes" : "no");
    buddy_free(all);
    buddy_free(all);
    printf("freeing it twice is refused: buddy_last_error() = %d\n", buddy_last_error());
    void *three = buddy_alloc(3u << 20);
    printf("3 MiB is rounded up to a power of two: %p\n", three);
    buddy_free(three);
    return all != NULL && three != NULL && blocks[15] != NULL ? 0 : 1;
}
