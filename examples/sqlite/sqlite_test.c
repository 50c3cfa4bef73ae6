/*
 * sqlite_test.c - the workload (workload.c) on SQLite with its default
 * allocator and with the analloc adapter, each in a child process (the
 * allocator can only be chosen before sqlite3_initialize).  Passes when both
 * runs succeed with the same checksum over every result row, SQLite's own
 * accounting agrees with the adapter's, and after sqlite3_shutdown the heap
 * is whole again: no live block, free bytes == managed bytes after a drain,
 * analloc_check clean.
 *
 *   sqlite_test [--scale N] [--heap MiB] [--page BYTES]
 *
 * Exits 0 and ends with "sqlite-test: 1 passed, 0 failed", or exits 1.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "heap.h"
#include "sqlite_analloc.h"
#include "workload.h"

struct report {
    struct workload_result w;
    int ok;                 /* the child's own checks passed */
    char why[200];          /* else: the first that failed */
    struct sqlite_analloc_stats st;
    long long status_hw;    /* SQLITE_STATUS_MEMORY_USED high-water */
    size_t free_after, managed, live_after;
    int check_after;
};

static void child_fail(struct report *rep, const char *fmt, size_t a, size_t b)
{
    if (rep->ok) {
        rep->ok = 0;
        snprintf(rep->why, sizeof rep->why, fmt, a, b);
    }
}

static void run_child(int use_analloc, long scale, size_t heap_size, size_t page,
                      struct report *rep)
{
    sqlite3_int64 cur = 0, hw = 0;
    int rc;

    memset(rep, 0, sizeof *rep);
    rep->ok = 1;
    if (use_analloc) {
        void *heap = heap_map(heap_size);
        if (heap == NULL) {
            child_fail(rep, "cannot map a heap of %zu bytes%.0zu", heap_size, 0);
            return;
        }
        rc = sqlite_analloc_config(heap, heap_size, page, 1);
        if (rc != SQLITE_OK) {
            child_fail(rep, "sqlite_analloc_config: %zu%.0zu", (size_t)rc, 0);
            return;
        }
    }
    rc = sqlite3_initialize();
    if (rc != SQLITE_OK) {
        child_fail(rep, "sqlite3_initialize: %zu%.0zu", (size_t)rc, 0);
        return;
    }
    workload_run(scale, &rep->w);
    if (rep->w.rc != SQLITE_OK)
        child_fail(rep, "workload failed (rc %zu)%.0zu", (size_t)rep->w.rc, 0);
    sqlite3_status64(SQLITE_STATUS_MEMORY_USED, &cur, &hw, 0);
    rep->status_hw = hw;
    if (use_analloc) {
        struct analloc_stats as;
        analloc_t a = sqlite_analloc_allocator();
        sqlite_analloc_stats(&rep->st);
        /* SQLite sums xSize over its live allocations: it must see the
         * adapter's counts exactly, now and at the peak. */
        if ((size_t)cur != rep->st.in_use)
            child_fail(rep, "SQLite counts %zu bytes in use, the adapter %zu", (size_t)cur,
                       rep->st.in_use);
        if ((size_t)hw != rep->st.peak)
            child_fail(rep, "SQLite's high-water mark %zu, the adapter's peak %zu", (size_t)hw,
                       rep->st.peak);
        as.size = sizeof as;
        if (analloc_stats(a, &as) != 0 || as.used_bytes != rep->st.in_use)
            child_fail(rep, "analloc has %zu bytes in live blocks, the adapter counts %zu",
                       as.used_bytes, rep->st.in_use);
        sqlite3_shutdown();
        sqlite_analloc_stats(&rep->st);
        analloc_drain(a);
        as.size = sizeof as;
        analloc_stats(a, &as);
        rep->free_after = analloc_free_bytes(a);
        rep->managed = a->managed;
        rep->live_after = as.live_blocks;
        rep->check_after = analloc_check(a);
        if (rep->st.in_use != 0)
            child_fail(rep, "after sqlite3_shutdown %zu bytes still in use%.0zu", rep->st.in_use, 0);
        if (rep->live_after != 0)
            child_fail(rep, "after sqlite3_shutdown %zu live blocks%.0zu", rep->live_after, 0);
        if (rep->free_after != rep->managed)
            child_fail(rep, "after sqlite3_shutdown %zu of %zu bytes free", rep->free_after,
                       rep->managed);
        if (rep->check_after != 0)
            child_fail(rep, "analloc_check: %zu%.0zu", (size_t)-rep->check_after, 0);
    } else {
        sqlite3_shutdown();
    }
}

/* Run one child; 0 if a report came back. */
static int spawn(int use_analloc, long scale, size_t heap_size, size_t page, struct report *rep)
{
    int fd[2], status;
    pid_t pid;
    ssize_t got = 0;

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
        run_child(use_analloc, scale, heap_size, page, &r);
        while (off < sizeof r) {
            ssize_t n = write(fd[1], (char *)&r + off, sizeof r - off);
            if (n <= 0)
                _exit(2);
            off += (size_t)n;
        }
        _exit(0);
    }
    close(fd[1]);
    while ((size_t)got < sizeof *rep) {
        ssize_t n = read(fd[0], (char *)rep + got, sizeof *rep - (size_t)got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += n;
    }
    close(fd[0]);
    waitpid(pid, &status, 0);
    if ((size_t)got != sizeof *rep) {
        if (WIFSIGNALED(status))
            printf("  child (%s) died of signal %d\n", use_analloc ? "analloc" : "system",
                   WTERMSIG(status));
        else
            printf("  child (%s) exited %d without a report\n",
                   use_analloc ? "analloc" : "system", WEXITSTATUS(status));
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    long scale = 200000;
    size_t heap_mib = 256, page = SQLITE_ANALLOC_PAGE;
    struct report sys, ana;
    int failed = 0;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--scale") && i + 1 < argc)
            scale = atol(argv[++i]);
        else if (!strcmp(argv[i], "--heap") && i + 1 < argc)
            heap_mib = (size_t)atol(argv[++i]);
        else if (!strcmp(argv[i], "--page") && i + 1 < argc)
            page = (size_t)atol(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--scale N] [--heap MiB] [--page BYTES]\n", argv[0]);
            return 2;
        }
    }
    printf("sqlite-test: SQLite %s, %ld orders, analloc heap %zu MiB, page %zu bytes\n",
           sqlite3_libversion(), scale, heap_mib, page);

    if (spawn(0, scale, 0, page, &sys) != 0) {
        failed = 1;
    } else {
        printf("  system malloc:  %s, %.2f s, %llu rows, checksum %016llx, peak %lld bytes\n",
               sys.ok ? "ok" : sys.why, sys.w.seconds, (unsigned long long)sys.w.rows,
               (unsigned long long)sys.w.hash, sys.status_hw);
        if (!sys.ok) {
            printf("    %s\n", sys.w.err);
            failed = 1;
        }
    }
    if (spawn(1, scale, heap_mib << 20, page, &ana) != 0) {
        failed = 1;
    } else {
        printf("  analloc (lock): %s, %.2f s, %llu rows, checksum %016llx, peak %zu bytes\n",
               ana.ok ? "ok" : ana.why, ana.w.seconds, (unsigned long long)ana.w.rows,
               (unsigned long long)ana.w.hash, ana.st.peak);
        if (ana.w.rc != SQLITE_OK)
            printf("    %s\n", ana.w.err);
        printf("    %llu mallocs, %llu reallocs, %llu frees, %llu failed; largest request %zu;"
               " metadata %zu bytes\n",
               (unsigned long long)ana.st.mallocs, (unsigned long long)ana.st.reallocs,
               (unsigned long long)ana.st.frees, (unsigned long long)ana.st.failures,
               ana.st.largest_request, ana.st.meta_bytes);
        printf("    after sqlite3_shutdown: %zu live blocks, %zu of %zu bytes free, "
               "analloc_check %d\n",
               ana.live_after, ana.free_after, ana.managed, ana.check_after);
        if (!ana.ok)
            failed = 1;
    }
    if (!failed && (sys.w.hash != ana.w.hash || sys.w.rows != ana.w.rows)) {
        printf("  MISMATCH: the two runs returned different results\n");
        printf("  failure: different results (checksum %016llx against %016llx)\n",
               (unsigned long long)ana.w.hash, (unsigned long long)sys.w.hash);
        failed = 1;
    } else if (failed) {
        printf("  failure: %s\n", !sys.ok ? "the system malloc run failed"
                                  : ana.ok ? "a child died" : ana.why);
    }
    printf("sqlite-test: %d passed, %d failed\n", !failed, failed);
    return failed;
}
