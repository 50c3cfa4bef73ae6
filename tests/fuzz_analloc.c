/*
 * fuzz_analloc.c - a libFuzzer harness for the analloc engine, built on the
 * shadow model of the model test (tests/model.c).
 *
 * The input is the model's source of randomness, read as a byte stream (see
 * model_source_bytes in model.h: a draw of [0, n) takes the bytes n - 1
 * needs, little endian, modulo n):
 *
 *   byte 0         the kind of configuration: below 0xF0, modulo 3:
 *                    0  analloc_with_chunk over real memory, 1 to 4096 pages
 *                    1  analloc_init over real memory with an external
 *                       metadata buffer, 1 to 4096 pages
 *                    2  analloc_init over a fake range nobody maps (never
 *                       touched), 1 to 4096 pages
 *                  0xF0 to 0xF2: the same three (byte 0 - 0xF0) with
 *                  per-CPU stores: up to four of them attached after
 *                  setup, and about half the steps go through a store
 *                  (attach, detach, drain, alloc, free, bursts of frees,
 *                  bad pointers and double frees through any store)
 *                  0xF3 to 0xF7: the calls of version 3, the class in
 *                  byte 1, modulo 8 (the stream starts at byte 2): every
 *                  call through the pointer call or its address-space twin
 *                  at random (analloc_space_*; realloc's twin is
 *                  analloc_space_resize, in place only), and exact runs
 *                  (analloc_alloc_exact, analloc_free_exact), on
 *                    0 to 2  the three kinds above
 *                    3 to 5  the same with per-CPU stores
 *                    6       an address space (analloc_space_init) nobody
 *                            touches, 1 to 4096 pages: base 0 (address 0
 *                            a block like any other), small unaligned
 *                            bases, above 4 GiB, right below 2^64; pages
 *                            of 1 B to 1 GiB; every call through the
 *                            space calls, and pointer calls that it
 *                            refuses
 *                    7       the same, 4097 to 2^20 pages (never checked
 *                            by analloc_check, as 0xF8 below)
 *                  (0xF3 to 0xF7 were stores classes, in no input of
 *                  tests/corpus: every input there keeps its meaning)
 *                  0xF8 to 0xFF: a huge fake range, 4097 to 2^20 pages,
 *                  where analloc_check (O(pages): 0.1 to 0.3 s there) never
 *                  runs; the model still checks every result, and the
 *                  final state must equal the state after setup byte for
 *                  byte
 *   next bytes     the configuration: arena size, page size, start offset,
 *                  used prefix (with_chunk), struct inside the chunk,
 *                  metadata offset, a range from address 0 (fake)...
 *   the rest       the program: phases, operations (alloc, free, realloc,
 *                  mem_size, NULL calls, bad pointers: double free, interior,
 *                  misaligned, outside, reserved, ...) and their arguments.
 *
 * Every step is compared with the model and followed by analloc_check (every
 * n-th step above FUZZ_CHECK_PAGES pages, see below).  When the input runs
 * dry the run stops: everything is freed and the struct and metadata must
 * equal their state after setup.  A broken expectation prints
 * the model's message on stderr and calls abort(); a run frees everything it
 * allocated, so libFuzzer's leak detection stays quiet.  Each input is
 * deterministic: buffers are aligned so that the layout does not depend on
 * where malloc puts them.
 *
 * Fuzzing (clang):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -Isrc -Itests
 *     tests/fuzz_analloc.c tests/model.c src/analloc.c src/buddy.c -o build/fuzz/fuzz_analloc
 *   ./build/fuzz/fuzz_analloc -max_len=4096 build/fuzz/corpus tests/corpus
 *
 * Replay (no libFuzzer): with ANALLOC_FUZZ_REPLAY defined this file has a
 * cmocka main with one test, replay_corpus, that runs every file under the
 * directories or files given as arguments (default tests/corpus) through
 * LLVMFuzzerTestOneInput, and fails if there was none.
 * ANALLOC_FUZZ_VERBOSE=1 prints one line per input.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#ifdef ANALLOC_FUZZ_REPLAY
#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#endif

#include "analloc.h"
#include "model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Real arenas stay small: the canaries around them are checked byte by byte. */
#ifndef FUZZ_REAL_MAX_BYTES
#define FUZZ_REAL_MAX_BYTES ((size_t)256 << 10)
#endif
/* analloc_check is O(pages), about 250 ns a page in this build (sanitizers
 * and comparison tracing; 10 ns at -O2): it runs after every step (and every
 * final free) up to this many pages, else every pages / FUZZ_CHECK_PAGES
 * steps, and always after setup and at the end; never above FUZZ_LEAN_PAGES. */
#ifndef FUZZ_CHECK_PAGES
#define FUZZ_CHECK_PAGES 256u
#endif
#define FUZZ_LEAN_PAGES ((size_t)4096)
/* No run is longer than its input (every step draws a byte); a bound anyway. */
#define FUZZ_MAX_OPS ((size_t)1 << 20)

#define V3 (MODEL_TWINS | MODEL_EXACT)

static const struct model_class fuzz_classes[] = {
    {"fuzz-chunk", 101, 1, 4096, 0, FUZZ_MAX_OPS, FUZZ_MAX_OPS, SIZE_MAX, MODEL_CHUNK,
     FUZZ_REAL_MAX_BYTES, FUZZ_CHECK_PAGES, FUZZ_LEAN_PAGES, 0, 0},
    {"fuzz-init", 102, 1, 4096, 0, FUZZ_MAX_OPS, FUZZ_MAX_OPS, SIZE_MAX, MODEL_INIT,
     FUZZ_REAL_MAX_BYTES, FUZZ_CHECK_PAGES, FUZZ_LEAN_PAGES, 0, 0},
    {"fuzz-fake", 103, 1, FUZZ_LEAN_PAGES, 0, FUZZ_MAX_OPS, FUZZ_MAX_OPS, 4096, MODEL_FAKE, 0,
     FUZZ_CHECK_PAGES, FUZZ_LEAN_PAGES, 0, 0},
    {"fuzz-fake-huge", 104, FUZZ_LEAN_PAGES + 1u, (size_t)1 << 20, 0, FUZZ_MAX_OPS, FUZZ_MAX_OPS,
     4096, MODEL_FAKE, 0, FUZZ_CHECK_PAGES, FUZZ_LEAN_PAGES, 0, 0},
    {"fuzz-stores-chunk", 105, 1, 4096, 0, FUZZ_MAX_OPS, FUZZ_MAX_OPS, SIZE_MAX, MODEL_CHUNK,
     FUZZ_REAL_MAX_BYTES, FUZZ_CHECK_PAGES, FUZZ_LEAN_PAGES, MODEL_STORES, 0},
    {"fuzz-stores-init", 106, 1, 4096, 0, FUZZ_MAX_OPS, FUZZ_MAX_OPS, SIZE_MAX, MODEL_INIT,
     FUZZ_REAL_MAX_BYTES, FUZZ_CHECK_PAGES, FUZZ_LEAN_PAGES, MODEL_STORES, 0},
    {"fuzz-stores-fake", 107, 1, FUZZ_LEAN_PAGES, 0, FUZZ_MAX_OPS, FUZZ_MAX_OPS, 4096, MODEL_FAKE, 0,
     FUZZ_CHECK_PAGES, FUZZ_LEAN_PAGES, MODEL_STORES, 0},
};

/* Byte 0 from 0xF3 to 0xF7: the class in byte 1 (modulo 8). */
static const struct model_class fuzz_v3_classes[] = {
    {"fuzz-v3-chunk", 111, 1, 4096, 0, FUZZ_MAX_OPS, FUZZ_MAX_OPS, SIZE_MAX, MODEL_CHUNK,
     FUZZ_REAL_MAX_BYTES, FUZZ_CHECK_PAGES, FUZZ_LEAN_PAGES, 0, V3},
    {"fuzz-v3-init", 112, 1, 4096, 0, FUZZ_MAX_OPS, FUZZ_MAX_OPS, SIZE_MAX, MODEL_INIT,
     FUZZ_REAL_MAX_BYTES, FUZZ_CHECK_PAGES, FUZZ_LEAN_PAGES, 0, V3},
    {"fuzz-v3-fake", 113, 1, FUZZ_LEAN_PAGES, 0, FUZZ_MAX_OPS, FUZZ_MAX_OPS, 4096, MODEL_FAKE, 0,
     FUZZ_CHECK_PAGES, FUZZ_LEAN_PAGES, 0, V3},
    {"fuzz-v3-stores-chunk", 114, 1, 4096, 0, FUZZ_MAX_OPS, FUZZ_MAX_OPS, SIZE_MAX, MODEL_CHUNK,
     FUZZ_REAL_MAX_BYTES, FUZZ_CHECK_PAGES, FUZZ_LEAN_PAGES, MODEL_STORES, V3},
    {"fuzz-v3-stores-init", 115, 1, 4096, 0, FUZZ_MAX_OPS, FUZZ_MAX_OPS, SIZE_MAX, MODEL_INIT,
     FUZZ_REAL_MAX_BYTES, FUZZ_CHECK_PAGES, FUZZ_LEAN_PAGES, MODEL_STORES, V3},
    {"fuzz-v3-stores-fake", 116, 1, FUZZ_LEAN_PAGES, 0, FUZZ_MAX_OPS, FUZZ_MAX_OPS, 4096, MODEL_FAKE,
     0, FUZZ_CHECK_PAGES, FUZZ_LEAN_PAGES, MODEL_STORES, V3},
    {"fuzz-space", 117, 1, FUZZ_LEAN_PAGES, 0, FUZZ_MAX_OPS, FUZZ_MAX_OPS, 4096, MODEL_SPACE, 0,
     FUZZ_CHECK_PAGES, FUZZ_LEAN_PAGES, 0, V3},
    {"fuzz-space-huge", 118, FUZZ_LEAN_PAGES + 1u, (size_t)1 << 20, 0, FUZZ_MAX_OPS, FUZZ_MAX_OPS,
     4096, MODEL_SPACE, 0, FUZZ_CHECK_PAGES, FUZZ_LEAN_PAGES, 0, V3},
};

/* The class an input picks, and the bytes of its class (1, or 2 for the
 * calls of version 3). */
static const struct model_class *fuzz_class(const uint8_t *data, size_t size, size_t *head)
{
    uint8_t b = size > 0 ? data[0] : 0;
    *head = size > 0 ? 1u : 0u;
    if (b >= 0xF3u && b <= 0xF7u) {
        *head = size > 1 ? 2u : 1u;
        return &fuzz_v3_classes[(size > 1 ? data[1] : 0) % 8u];
    }
    return &fuzz_classes[b >= 0xF8u ? 3u : b >= 0xF0u ? 4u + (b - 0xF0u) : b % 3u];
}

#ifdef ANALLOC_FUZZ_REPLAY

static const char *g_input = "-";   /* the file being replayed */
static bool g_verbose;
static struct model_totals g_totals;

static void fuzz_fail(void *ctx, const char *msg)
{
    (void)ctx;
    fail_msg("fuzz %s\n  input: %s", msg, g_input);
}

static void totals_add(struct model_totals *to, const struct model_totals *t)
{
    to->configs += t->configs;
    to->ops += t->ops;
    to->alloc_ok += t->alloc_ok;
    to->alloc_fail += t->alloc_fail;
    to->frees += t->frees;
    to->re_in_place += t->re_in_place;
    to->re_move += t->re_move;
    to->re_fail += t->re_fail;
    to->bad += t->bad;
    to->checks += t->checks;
    to->mem_sizes += t->mem_sizes;
    to->nulls += t->nulls;
    to->placed_ok += t->placed_ok;
    to->placed_fail += t->placed_fail;
    to->reserves += t->reserves;
    to->releases += t->releases;
    to->range_refused += t->range_refused;
    to->stats += t->stats;
    to->cpu_alloc_ok += t->cpu_alloc_ok;
    to->cpu_alloc_fail += t->cpu_alloc_fail;
    to->cpu_frees += t->cpu_frees;
    to->cpu_bad += t->cpu_bad;
    to->cpu_refills += t->cpu_refills;
    to->cpu_spills += t->cpu_spills;
    to->cpu_full_buckets += t->cpu_full_buckets;
    to->cpu_give_backs += t->cpu_give_backs;
    to->exact_ok += t->exact_ok;
    to->exact_fail += t->exact_fail;
    to->exact_frees += t->exact_frees;
    to->exact_refused += t->exact_refused;
    to->twin_calls += t->twin_calls;
    to->space_calls += t->space_calls;
    to->resize_ok += t->resize_ok;
    to->resize_fail += t->resize_fail;
    to->ptr_refused += t->ptr_refused;
    to->zero_blocks += t->zero_blocks;
    for (size_t e = 0; e < MODEL_ERRORS; e++)
        to->bad_error[e] += t->bad_error[e];
}

/* The bad calls by the error they expected. */
static void print_bad(const char *prefix, const struct model_totals *t)
{
    static const int errors[] = {ANALLOC_ERANGE, ANALLOC_ERESERVED, ANALLOC_EALIGN,
                                 ANALLOC_EINTERIOR, ANALLOC_EFREE, ANALLOC_ESIZE};
    static const char *const names[] = {"outside", "reserved", "misaligned", "interior",
                                        "double free", "wrong run size"};
    printf("%s:", prefix);
    for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++)
        printf(" %s %zu", names[i], t->bad_error[-errors[i]]);
    printf("\n");
}

#else

static void fuzz_fail(void *ctx, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "fuzz %s\n", msg);
    fflush(stderr);
    abort();
}

#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t head;
    const struct model_class *k = fuzz_class(data, size, &head);
    struct model_bytes stream;
    const struct model_source src = model_source_bytes(&stream, data + head, size - head);
    const struct model_failure failure = {fuzz_fail, NULL};
    struct model_totals t = {0};
#ifdef ANALLOC_FUZZ_REPLAY
    char desc[400];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    size_t steps = model_run_one(k, 0, &src, &failure, &t, desc, sizeof desc);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (g_verbose)
        printf("  %s: %zu bytes, %.3f ms, %s: %zu steps (alloc %zu ok / %zu failed, free %zu, "
               "realloc %zu in place / %zu moved / %zu failed, mem_size %zu, NULL %zu, bad "
               "pointers %zu, analloc_check %zu)\n    %s\n",
               g_input, size,
               (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-6,
               k->name, steps, t.alloc_ok, t.alloc_fail, t.frees, t.re_in_place, t.re_move,
               t.re_fail, t.mem_sizes, t.nulls, t.bad, t.checks, desc);
    if (g_verbose)
        print_bad("    bad", &t);
    if (g_verbose && k->stores != 0)
        printf("    stores: alloc %zu ok / %zu failed, free %zu, bad %zu; refills %zu, spills %zu, "
               "full buckets %zu, give-backs %zu\n",
               t.cpu_alloc_ok, t.cpu_alloc_fail, t.cpu_frees, t.cpu_bad, t.cpu_refills,
               t.cpu_spills, t.cpu_full_buckets, t.cpu_give_backs);
    if (g_verbose && k->api != 0)
        printf("    v3: exact alloc %zu ok / %zu failed, free_exact %zu ok / %zu refused, space calls "
               "%zu, twins %zu, resize %zu in place / %zu refused, pointer calls refused %zu, "
               "blocks at address 0 %zu\n",
               t.exact_ok, t.exact_fail, t.exact_frees, t.exact_refused, t.space_calls,
               t.twin_calls, t.resize_ok, t.resize_fail, t.ptr_refused, t.zero_blocks);
    totals_add(&g_totals, &t);
#else
    model_run_one(k, 0, &src, &failure, &t, NULL, 0);
#endif
    return 0;
}

#ifdef ANALLOC_FUZZ_REPLAY

static int g_argc;
static char **g_argv;
static size_t g_inputs, g_bytes;

static void replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        fail_msg("cannot open %s", path);
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    assert_non_null(buf);
    for (;;) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap)
            break;
        cap *= 2u;
        uint8_t *more = realloc(buf, cap);
        assert_non_null(more);
        buf = more;
    }
    bool bad = ferror(f) != 0;
    fclose(f);
    if (bad) {
        free(buf);
        fail_msg("cannot read %s", path);
    }
    g_input = path;
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    g_inputs++;
    g_bytes += n;
}

static int skip_dots(const struct dirent *e) { return e->d_name[0] != '.'; }

/* A file, or every file under a directory in name order. */
static void replay_path(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        fail_msg("cannot stat %s", path);
    if (!S_ISDIR(st.st_mode)) {
        replay_file(path);
        return;
    }
    struct dirent **names;
    int n = scandir(path, &names, skip_dots, alphasort);
    if (n < 0)
        fail_msg("cannot list %s", path);
    for (int i = 0; i < n; i++) {
        size_t len = strlen(path) + strlen(names[i]->d_name) + 2u;
        char *sub = malloc(len);
        assert_non_null(sub);
        snprintf(sub, len, "%s/%s", path, names[i]->d_name);
        free(names[i]);
        replay_path(sub);
        free(sub);
    }
    free(names);
}

static void replay_corpus(void **state)
{
    (void)state;
    static char default_corpus[] = "tests/corpus";
    static char *default_argv[] = {default_corpus};
    char **paths = g_argc > 1 ? g_argv + 1 : default_argv;
    int npaths = g_argc > 1 ? g_argc - 1 : 1;
    for (int i = 0; i < npaths; i++)
        replay_path(paths[i]);
    const struct model_totals *t = &g_totals;
    printf("  replayed %zu inputs (%zu bytes): %zu steps (alloc %zu ok / %zu failed, free %zu, "
           "realloc %zu in place / %zu moved / %zu failed, mem_size %zu, NULL %zu, bad pointers "
           "%zu, analloc_check %zu)\n",
           g_inputs, g_bytes, t->ops, t->alloc_ok, t->alloc_fail, t->frees, t->re_in_place,
           t->re_move, t->re_fail, t->mem_sizes, t->nulls, t->bad, t->checks);
    print_bad("  bad pointers", t);
    printf("  per-CPU stores: alloc %zu ok / %zu failed, free %zu, bad %zu; refills %zu, spills %zu, "
           "full buckets %zu, give-backs of every store %zu\n",
           t->cpu_alloc_ok, t->cpu_alloc_fail, t->cpu_frees, t->cpu_bad, t->cpu_refills,
           t->cpu_spills, t->cpu_full_buckets, t->cpu_give_backs);
    printf("  version 3: exact alloc %zu ok / %zu failed, free_exact %zu ok / %zu refused; space "
           "calls %zu, twins of pointer calls %zu; resize %zu in place / %zu refused; pointer "
           "calls refused %zu; blocks at address 0 %zu\n",
           t->exact_ok, t->exact_fail, t->exact_frees, t->exact_refused, t->space_calls,
           t->twin_calls, t->resize_ok, t->resize_fail, t->ptr_refused, t->zero_blocks);
    fflush(stdout);
    if (g_inputs == 0)
        fail_msg("no input found under %s", npaths == 1 ? paths[0] : "the given paths");
}

int main(int argc, char **argv)
{
    g_argc = argc;
    g_argv = argv;
    const char *v = getenv("ANALLOC_FUZZ_VERBOSE");
    g_verbose = v != NULL && *v != '\0' && *v != '0';
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(replay_corpus),
    };
    return cmocka_run_group_tests_name("analloc fuzz replay", tests, NULL, NULL);
}

#endif /* ANALLOC_FUZZ_REPLAY */
