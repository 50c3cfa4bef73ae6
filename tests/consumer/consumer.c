/*
 * A program that uses an installed analloc: tools/check-install.sh builds it
 * through pkg-config, find_package(analloc CONFIG) and add_subdirectory, and
 * runs it.  It prints the library's version and exits 0 if one allocation,
 * its free and the version check work.
 */
#include <analloc.h>
#include <stdint.h>
#include <stdio.h>

static uint64_t chunk[64 * 1024 / 8];

int main(void)
{
    struct analloc a;
    int rc = analloc_with_chunk(&a, chunk, sizeof chunk, 0, 256);
    if (rc != 0) {
        printf("analloc_with_chunk: %s\n", analloc_strerror(rc));
        return 1;
    }
    void *p = analloc_alloc(&a, 1000);
    if (p == NULL || analloc_mem_size(&a, p) != 1024) {
        printf("analloc_alloc(1000) gave %p\n", p);
        return 1;
    }
    rc = analloc_free(&a, p);
    if (rc != 0 || analloc_free(&a, p) != ANALLOC_EFREE) {
        printf("analloc_free: %s\n", analloc_strerror(rc));
        return 1;
    }
    unsigned v = analloc_version();
    printf("analloc %u.%u.%u\n", v >> 16, (v >> 8) & 0xffu, v & 0xffu);
    return v == ANALLOC_VERSION ? 0 : 1;
}
