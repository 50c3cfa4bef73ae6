/*
 * stress.c - a multi-threaded malloc stress test, for any malloc.
 *
 * THREADS threads each run OPS random operations (their own generator, so
 * the sequence does not depend on the allocator): malloc, calloc, realloc,
 * memalign, posix_memalign, aligned_alloc and free, sizes from 0 to 3 MiB
 * (mostly small), every block filled with a pattern that is checked before
 * it is resized or freed.  Blocks also go through a shared exchange, so
 * threads free each other's memory; one thread forks now and then while the
 * others keep allocating, and the child allocates before it exits.  The
 * output (operation counts and "ok") is the same under every correct malloc.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define THREADS 4
#define OPS 200000
#define LIVE 512
#define SWAP 64

struct block { unsigned char *p; size_t n; unsigned char tag; };

static struct block exchange[SWAP];
static pthread_mutex_t exchange_lock = PTHREAD_MUTEX_INITIALIZER;
static int failed;
static unsigned long counts[THREADS][8];

static uint64_t next(uint64_t *s)
{
    *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
    return *s;
}

static void fail(const char *what, size_t n)
{
    fprintf(stderr, "stress: %s (size %zu)\n", what, n);
    __atomic_store_n(&failed, 1, __ATOMIC_RELAXED);
}

static size_t pick_size(uint64_t *s)
{
    unsigned r = (unsigned)(next(s) % 1000);
    if (r < 700) return (size_t)(next(s) % 129);          /* tiny */
    if (r < 950) return (size_t)(next(s) % 4097);         /* small */
    if (r < 995) return (size_t)(next(s) % (256 << 10));  /* medium */
    return (size_t)(next(s) % (3 << 20));                 /* large: both sides of 1 MiB */
}

static void fill(struct block *b)
{
    for (size_t i = 0; i < b->n; i += 61) b->p[i] = (unsigned char)(b->tag + i);
    if (b->n) b->p[b->n - 1] = b->tag;
}

static int intact(const struct block *b, size_t n)
{
    for (size_t i = 0; i < n; i += 61)
        if (b->p[i] != (unsigned char)(b->tag + i) && !(i == b->n - 1)) return 0;
    return n == 0 || n < b->n || b->p[b->n - 1] == b->tag;
}

static void release(struct block *b)
{
    if (b->p && !intact(b, b->n)) fail("block changed under its owner", b->n);
    free(b->p);
    b->p = NULL;
    b->n = 0;
}

static void *worker(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    uint64_t s = 0x9e3779b97f4a7c15u * (id + 1);
    struct block live[LIVE] = {{0}};
    unsigned long *count = counts[id];
    for (unsigned op = 0; op < OPS && !__atomic_load_n(&failed, __ATOMIC_RELAXED); op++) {
        struct block *b = &live[next(&s) % LIVE];
        unsigned kind = (unsigned)(next(&s) % 8);
        size_t n = pick_size(&s), align = (size_t)16 << (next(&s) % 9);
        count[kind]++;
        switch (kind) {
        case 0: case 1: /* malloc */
            release(b);
            b->p = malloc(n);
            break;
        case 2: /* calloc */
            release(b);
            b->p = calloc(1 + n / 8, 8);
            for (size_t i = 0; b->p && i < 8 * (1 + n / 8); i++)
                if (b->p[i]) { fail("calloc memory not zero", n); break; }
            n = 8 * (1 + n / 8);
            break;
        case 3: { /* realloc: the common prefix must survive */
            size_t keep = b->n < n ? b->n : n;
            if (b->p && !intact(b, keep)) fail("block changed before realloc", b->n);
            unsigned char *q = realloc(b->p, n ? n : 1);
            if (q == NULL) { fail("realloc failed", n); continue; }
            b->p = q;
            if (keep && !intact(b, keep)) fail("realloc lost data", n);
            if (!n) n = 1;
            break;
        }
        case 4: /* aligned */
            release(b);
            if (op & 1) b->p = memalign(align, n);
            else if (posix_memalign((void **)&b->p, align, n)) b->p = NULL;
            if (b->p && (uintptr_t)b->p % align) fail("misaligned", n);
            break;
        case 5: /* aligned_alloc, size a multiple of the alignment */
            release(b);
            b->p = aligned_alloc(64, (n + 63) & ~(size_t)63);
            n = (n + 63) & ~(size_t)63;
            if (b->p && (uintptr_t)b->p % 64) fail("aligned_alloc misaligned", n);
            break;
        case 6: { /* swap with the exchange: another thread frees it */
            unsigned k = (unsigned)(next(&s) % SWAP);
            pthread_mutex_lock(&exchange_lock);
            struct block t = exchange[k];
            exchange[k] = *b;
            pthread_mutex_unlock(&exchange_lock);
            *b = t;
            continue;
        }
        case 7: /* free */
            release(b);
            if (id == 0 && op % 20000 == 7) { /* fork while the others allocate */
                pid_t pid = fork();
                if (pid == 0) {
                    void *v[100];
                    for (int i = 0; i < 100; i++) v[i] = malloc((size_t)i * 100);
                    for (int i = 0; i < 100; i++) free(v[i]);
                    _exit(0);
                }
                int st = 0;
                if (pid < 0 || waitpid(pid, &st, 0) != pid || st != 0) fail("fork child", 0);
            }
            continue;
        }
        if (b->p == NULL) { fail("allocation failed", n); b->n = 0; continue; }
        if (malloc_usable_size(b->p) < n) fail("usable size below the request", n);
        if ((uintptr_t)b->p % 16) fail("not 16-byte aligned", n);
        b->n = n;
        b->tag = (unsigned char)next(&s);
        fill(b);
    }
    for (unsigned i = 0; i < LIVE; i++) release(&live[i]);
    return NULL;
}

int main(void)
{
    pthread_t t[THREADS];
    for (unsigned i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)i);
    for (unsigned i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
    for (unsigned k = 0; k < SWAP; k++) release(&exchange[k]);
    for (unsigned i = 0; i < THREADS; i++) {
        unsigned long *c = counts[i];
        printf("thread %u: %lu malloc %lu calloc %lu realloc %lu memalign %lu aligned_alloc"
               " %lu swap %lu free\n", i, c[0] + c[1], c[2], c[3], c[4], c[5], c[6], c[7]);
    }
    /* Edge cases every malloc must get right. */
    volatile size_t huge = SIZE_MAX; /* volatile: gcc must not fold these */
    if (malloc(huge) || calloc(huge / 2, 3) || realloc(NULL, huge - 8)) fail("huge request", 0);
    void *p = NULL;
    if (posix_memalign(&p, 24, 8) == 0) fail("posix_memalign accepted alignment 24", 0);
    free(NULL);
    puts(failed ? "stress: FAILED" : "stress: ok");
    return failed;
}
