/*
 * sqlite_bench.c - the workload (workload.c) on one SQLite build (the
 * amalgamation, compiled with SQLITE_ENABLE_MEMSYS5) with three allocators:
 *
 *   system   SQLite's default: malloc
 *   memsys5  SQLite's own power-of-two buddy heap (SQLITE_CONFIG_HEAP) over a
 *            fixed buffer, minimum allocation = the page size below
 *   analloc  the adapter (sqlite_analloc.c) over a buffer of the same size,
 *            pages of the same size, with its lock (lock = 1, what a
 *            program with several threads needs), and timed again without
 *            (lock = 0, one thread)
 *
 * For each: the median wall time of --runs runs, the peak of bytes in use
 * (SQLite's SQLITE_STATUS_MEMORY_USED high-water mark: the sum of xSize over
 * live allocations, so whole blocks for the two heaps; the adapter's own
 * counter must agree), the child's peak RSS, and for the two heaps the
 * smallest heap with which the workload completes, bisected (geometrically)
 * to within --tol.  Every run is a child process; every run must return the
 * same checksum.
 *
 *   sqlite_bench [--scale N] [--runs R] [--page BYTES] [--tol FRACTION]
 *   sqlite_bench [--scale N] [--page BYTES] --one system|memsys5|analloc|analloc-nolock HEAP_MIB
 *       (one run in this process, for a profiler; options before --one)
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sqlite3.h"

#include "heap.h"
#include "sqlite_analloc.h"
#include "workload.h"

enum mode { SYSTEM, MEMSYS5, ANALLOC, ANALLOC_NOLOCK, MODES };
static const char *const mode_name[] = {"system malloc", "memsys5", "analloc",
                                        "analloc, lock = 0"};

struct report {
    int ok;
    struct workload_result w;
    long long used_hw;     /* SQLITE_STATUS_MEMORY_USED high-water */
    long long request_hw;  /* SQLITE_STATUS_MALLOC_SIZE high-water */
    long maxrss_kib;
    double cpu_seconds;    /* user + system time of the child */
    struct sqlite_analloc_stats st;
    int heap_whole;        /* analloc: everything free after shutdown */
};

static long scale = 200000;
static size_t page = SQLITE_ANALLOC_PAGE;

static void run_child(enum mode m, size_t heap_size, struct report *rep)
{
    sqlite3_int64 cur, hw;
    struct rusage ru;
    void *heap = NULL;
    int rc = SQLITE_OK;

    memset(rep, 0, sizeof *rep);
    if (m != SYSTEM && (heap = heap_map(heap_size)) == NULL) {
        snprintf(rep->w.err, sizeof rep->w.err, "cannot map %zu bytes", heap_size);
        return;
    }
    if (m == MEMSYS5)
        rc = sqlite3_config(SQLITE_CONFIG_HEAP, heap, (int)heap_size, (int)page);
    else if (m == ANALLOC || m == ANALLOC_NOLOCK)
        rc = sqlite_analloc_config(heap, heap_size, page, m == ANALLOC);
    if (rc == SQLITE_OK)
        rc = sqlite3_initialize();
    if (rc != SQLITE_OK) {
        rep->w.rc = rc;
        snprintf(rep->w.err, sizeof rep->w.err, "setup: %s", sqlite3_errstr(rc));
        return;
    }
    workload_run(scale, &rep->w);
    sqlite3_status64(SQLITE_STATUS_MEMORY_USED, &cur, &hw, 0);
    rep->used_hw = hw;
    sqlite3_status64(SQLITE_STATUS_MALLOC_SIZE, &cur, &hw, 0);
    rep->request_hw = hw;
    rep->ok = rep->w.rc == SQLITE_OK;
    if (m == ANALLOC || m == ANALLOC_NOLOCK) {
        analloc_t a = sqlite_analloc_allocator();
        sqlite_analloc_stats(&rep->st);
        if ((long long)rep->st.peak != rep->used_hw) {
            rep->ok = 0;
            snprintf(rep->w.err, sizeof rep->w.err, "adapter peak %zu != SQLite's %lld",
                     rep->st.peak, rep->used_hw);
        }
        sqlite3_shutdown();
        analloc_drain(a);
        rep->heap_whole = analloc_free_bytes(a) == a->managed && analloc_check(a) == 0;
        if (!rep->heap_whole && rep->ok) {
            rep->ok = 0;
            snprintf(rep->w.err, sizeof rep->w.err, "heap not whole after sqlite3_shutdown");
        }
    } else {
        sqlite3_shutdown();
    }
    getrusage(RUSAGE_SELF, &ru);
    rep->maxrss_kib = ru.ru_maxrss;
    rep->cpu_seconds = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
                       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
}

/* One run in a child process.  Returns 0 if the child reported. */
static int spawn(enum mode m, size_t heap_size, struct report *rep)
{
    int fd[2], status;
    pid_t pid;
    size_t got = 0;

    if (pipe(fd) != 0)
        return -1;
    fflush(stdout);
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        struct report r;
        size_t off = 0;
        close(fd[0]);
        run_child(m, heap_size, &r);
        while (off < sizeof r) {
            ssize_t n = write(fd[1], (char *)&r + off, sizeof r - off);
            if (n <= 0)
                _exit(2);
            off += (size_t)n;
        }
        _exit(0);
    }
    close(fd[1]);
    while (got < sizeof *rep) {
        ssize_t n = read(fd[0], (char *)rep + got, sizeof *rep - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd[0]);
    waitpid(pid, &status, 0);
    if (got != sizeof *rep) {
        memset(rep, 0, sizeof *rep);
        snprintf(rep->w.err, sizeof rep->w.err, "child died (status %d)", status);
        return -1;
    }
    return 0;
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

struct row {
    enum mode m;
    size_t heap;            /* for the timed runs */
    double median, lo, hi;  /* seconds */
    double cpu;             /* median CPU seconds of the child */
    struct report rep;      /* of the last timed run */
    size_t min_heap;        /* smallest heap that worked (0: not bisected) */
    size_t max_fail;        /* largest heap that failed below it */
    int probes;
};

static uint64_t ref_hash;
static uint64_t ref_rows;
static int mismatches;

static void check_result(const struct report *rep, const char *what)
{
    if (!rep->ok)
        return;
    if (ref_rows == 0) {
        ref_hash = rep->w.hash;
        ref_rows = rep->w.rows;
    } else if (rep->w.hash != ref_hash || rep->w.rows != ref_rows) {
        printf("  MISMATCH (%s): checksum %016llx over %llu rows, expected %016llx over %llu\n",
               what, (unsigned long long)rep->w.hash, (unsigned long long)rep->w.rows,
               (unsigned long long)ref_hash, (unsigned long long)ref_rows);
        mismatches++;
    }
}

/* The timed runs, round robin over the allocators so that a busy machine
 * slows them alike. */
static int timed(struct row *rows, int nrows, int runs)
{
    double t[MODES][32], c[MODES][32];
    for (int i = 0; i < runs; i++)
        for (int k = 0; k < nrows; k++) {
            struct row *r = &rows[k];
            if (spawn(r->m, r->heap, &r->rep) != 0 || !r->rep.ok) {
                printf("  %s failed: %s\n", mode_name[r->m], r->rep.w.err);
                return -1;
            }
            check_result(&r->rep, mode_name[r->m]);
            t[k][i] = r->rep.w.seconds;
            c[k][i] = r->rep.cpu_seconds;
        }
    for (int k = 0; k < nrows; k++) {
        qsort(t[k], (size_t)runs, sizeof t[k][0], cmp_double);
        qsort(c[k], (size_t)runs, sizeof c[k][0], cmp_double);
        rows[k].median = t[k][runs / 2];
        rows[k].lo = t[k][0];
        rows[k].hi = t[k][runs - 1];
        rows[k].cpu = c[k][runs / 2];
    }
    return 0;
}

/* The smallest heap (to within tol) in [lo, hi) with which the workload
 * completes; lo must fail and hi must work.  A failure is an out-of-memory
 * error; anything else (or a different checksum) is reported. */
static void bisect(struct row *r, size_t lo, size_t hi, double tol)
{
    r->probes = 0;
    while ((double)hi / (double)lo > 1.0 + tol) {
        size_t mid = (size_t)sqrt((double)lo * (double)hi) & ~(size_t)4095;
        struct report rep;
        if (mid <= lo || mid >= hi)
            break;
        r->probes++;
        spawn(r->m, mid, &rep);
        if (rep.ok) {
            check_result(&rep, mode_name[r->m]);
            hi = mid;
        } else {
            if (rep.w.rc != SQLITE_NOMEM)
                printf("  %s at %zu bytes failed other than by running out of memory: %s\n",
                       mode_name[r->m], mid, rep.w.err);
            lo = mid;
        }
    }
    r->min_heap = hi;
    r->max_fail = lo;
}

static double mib(double bytes)
{
    return bytes / 1048576.0;
}

int main(int argc, char **argv)
{
    int runs = 3;
    double tol = 0.01;
    struct row rows[MODES];
    size_t heap;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--scale") && i + 1 < argc)
            scale = atol(argv[++i]);
        else if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--page") && i + 1 < argc)
            page = (size_t)atol(argv[++i]);
        else if (!strcmp(argv[i], "--tol") && i + 1 < argc)
            tol = atof(argv[++i]);
        else if (!strcmp(argv[i], "--one") && i + 2 < argc) {
            /* One run in this process (for a profiler): MODE HEAP_MIB. */
            struct report rep;
            int m = !strcmp(argv[i + 1], "memsys5")          ? MEMSYS5
                    : !strcmp(argv[i + 1], "analloc")        ? ANALLOC
                    : !strcmp(argv[i + 1], "analloc-nolock") ? ANALLOC_NOLOCK
                                                             : SYSTEM;
            run_child((enum mode)m, (size_t)atol(argv[i + 2]) << 20, &rep);
            printf("%s: %s %.2f s, checksum %016llx, peak %lld\n", mode_name[m],
                   rep.ok ? "ok" : rep.w.err, rep.w.seconds, (unsigned long long)rep.w.hash,
                   rep.used_hw);
            return !rep.ok;
        }
        else {
            fprintf(stderr, "usage: %s [--scale N] [--runs R] [--page BYTES] [--tol FRACTION]\n",
                    argv[0]);
            return 2;
        }
    }
    if (runs < 1 || runs > 32 || tol <= 0) {
        fprintf(stderr, "--runs: 1 to 32; --tol > 0\n");
        return 2;
    }
    printf("sqlite-bench: SQLite %s (amalgamation, SQLITE_ENABLE_MEMSYS5), %ld orders, "
           "page / memsys5 atom %zu bytes, %d timed runs each\n",
           sqlite3_libversion(), scale, page, runs);

    memset(rows, 0, sizeof rows);
    for (int i = 0; i < MODES; i++)
        rows[i].m = (enum mode)i;
    /* One untimed run of the system allocator sizes the heaps. */
    {
        struct report sys;
        if (spawn(SYSTEM, 0, &sys) != 0 || !sys.ok) {
            printf("  system malloc failed: %s\n", sys.w.err);
            return 1;
        }
        check_result(&sys, mode_name[SYSTEM]);
        rows[SYSTEM].rep = sys;
    }
    /* The timed heap: the smallest power of two that holds twice what the
     * system allocator's run had in use, doubled until both heaps manage. */
    heap = heap_align_of((size_t)rows[SYSTEM].rep.used_hw * 2);
    for (;;) {
        struct report a, b;
        if (heap > ((size_t)1 << 30)) {
            printf("  no heap up to 1 GiB works\n");
            return 1;
        }
        spawn(MEMSYS5, heap, &a);
        spawn(ANALLOC, heap, &b);
        if (a.ok && b.ok)
            break;
        heap *= 2;
    }
    rows[MEMSYS5].heap = rows[ANALLOC].heap = rows[ANALLOC_NOLOCK].heap = heap;
    printf("  timed heap for memsys5 and analloc: %zu MiB\n", heap >> 20);
    if (timed(rows, MODES, runs) != 0)
        return 1;
    for (int i = MEMSYS5; i <= ANALLOC; i++) {
        /* No heap below the peak of bytes in whole blocks can work. */
        size_t lo = (size_t)rows[i].rep.used_hw;
        bisect(&rows[i], lo, heap, tol);
    }

    printf("\n| allocator | wall time (s), median [min-max] | CPU time (s), median |"
           " peak in use (MiB) | peak RSS (MiB) | smallest heap (MiB) |"
           " smallest heap / system peak |\n");
    printf("| --- | --- | --- | --- | --- | --- | --- |\n");
    for (int i = 0; i < MODES; i++) {
        const struct row *r = &rows[i];
        printf("| %s | %.2f [%.2f-%.2f] | %.2f | %.1f | %.1f |", mode_name[i], r->median, r->lo,
               r->hi, r->cpu, mib((double)r->rep.used_hw), (double)r->rep.maxrss_kib / 1024.0);
        if (i == SYSTEM || i == ANALLOC_NOLOCK)
            printf(" %s | %s |\n", i == SYSTEM ? "n/a" : "as above", i == SYSTEM ? "n/a" : "");
        else
            printf(" %.1f (%.1f fails) | %.2f |\n", mib((double)r->min_heap),
                   mib((double)r->max_fail), (double)r->min_heap / (double)rows[SYSTEM].rep.used_hw);
    }
    printf("\n  checksum %016llx over %llu result rows, the same in every run%s\n",
           (unsigned long long)ref_hash, (unsigned long long)ref_rows,
           mismatches ? " EXCEPT THE MISMATCHES ABOVE" : "");
    printf("  largest request %lld bytes; analloc: %llu mallocs, %llu reallocs, %llu frees, "
           "metadata %zu bytes of the %zu MiB heap; heap whole after shutdown: %s\n",
           rows[ANALLOC].rep.request_hw, (unsigned long long)rows[ANALLOC].rep.st.mallocs,
           (unsigned long long)rows[ANALLOC].rep.st.reallocs,
           (unsigned long long)rows[ANALLOC].rep.st.frees, rows[ANALLOC].rep.st.meta_bytes,
           heap >> 20, rows[ANALLOC].rep.heap_whole ? "yes" : "NO");
    printf("  bisection: memsys5 %d probes, analloc %d probes, to within %.0f%%\n",
           rows[MEMSYS5].probes, rows[ANALLOC].probes, tol * 100);
    return mismatches ? 1 : 0;
}
