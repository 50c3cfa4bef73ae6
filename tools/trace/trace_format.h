/*
 * trace_format.h - the analloc trace format (tools/trace/README.md) and a
 * writer for the recorders (examples/malloc, examples/sqlite).
 *
 * A trace is a 32-byte header, then 32-byte records, every field
 * little-endian (the writer stores host order and refuses big-endian hosts:
 * the recorders run on x86-64 here):
 *
 *   header:  char magic[8] = "ANTRACE\0"; u32 version = 1; u32 page (the
 *            recorder's page size, bytes); u64 start (CLOCK_MONOTONIC, ns,
 *            when the recording began); u64 reserved = 0
 *   record:  u64 op_time: op << 56 | ns since start (56 bits: 2.2 years);
 *            u64 size; u64 addr; u64 arg
 *
 *   op 1 alloc    size bytes at addr (0: the allocation failed)
 *   op 2 free     the block at addr
 *   op 3 realloc  the block at arg resized to size bytes, now at addr
 *                 (0: failed, the block at arg is unchanged)
 *   op 4 aligned  size bytes aligned to arg, at addr (0: failed)
 *
 * The writer takes no lock of the caller's and never calls malloc: records
 * collect in a static buffer, written with write(2) when it fills and by
 * trace_flush; after trace_final each record is written at once (frees made
 * by later exit handlers are kept).  A spinlock orders the writers.
 */
#ifndef ANALLOC_TRACE_FORMAT_H
#define ANALLOC_TRACE_FORMAT_H

#include <stdint.h>

#define TRACE_MAGIC "ANTRACE"
#define TRACE_VERSION 1u
enum { TRACE_ALLOC = 1, TRACE_FREE = 2, TRACE_REALLOC = 3, TRACE_ALIGNED = 4 };

struct trace_header {
    char magic[8];
    uint32_t version;
    uint32_t page;
    uint64_t start;
    uint64_t reserved;
};

struct trace_record {
    uint64_t op_time;
    uint64_t size;
    uint64_t addr;
    uint64_t arg;
};

_Static_assert(sizeof(struct trace_header) == 32, "header layout");
_Static_assert(sizeof(struct trace_record) == 32, "record layout");

#ifdef TRACE_WRITER
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TRACE_BUF 2048 /* records: 64 KiB */
#define TRACE_FN __attribute__((unused)) /* each recorder uses some */

static struct {
    int fd;            /* -1: not tracing */
    int state;         /* 0: not opened yet, 1: open, 2: off */
    int final;         /* after trace_final: no buffering */
    int spin;
    unsigned n;
    uint64_t start;
    struct trace_record buf[TRACE_BUF];
} trace_w = {.fd = -1};

static uint64_t TRACE_FN trace_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void TRACE_FN trace_put(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t r = write(fd, c, n);
        if (r <= 0) return;
        c += r, n -= (size_t)r;
    }
}

/* Open the file ANALLOC_TRACE names ("%p" in it becomes the process id, so
 * that each process of a pipeline writes its own file), once.  False if
 * there is none: tracing is off for good. */
static int TRACE_FN trace_open(uint32_t page)
{
    if (trace_w.state) return trace_w.state == 1;
    trace_w.state = 2;
    const char *v = getenv("ANALLOC_TRACE");
    uint16_t one = 1;
    if (v == NULL || *v == 0 || *(const char *)&one != 1) return 0;
    char path[4096], *e = path, *end = path + sizeof path - 24;
    for (; *v && e < end; v++) {
        if (v[0] == '%' && v[1] == 'p') {
            char tmp[24];
            int k = 0;
            for (unsigned long pid = (unsigned long)getpid(); pid || !k; pid /= 10)
                tmp[k++] = (char)('0' + pid % 10);
            while (k) *e++ = tmp[--k];
            v++;
        } else {
            *e++ = *v;
        }
    }
    *e = 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return 0;
    struct trace_header h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, TRACE_MAGIC, 8);
    h.version = TRACE_VERSION;
    h.page = page;
    h.start = trace_w.start = trace_now();
    trace_put(fd, &h, sizeof h);
    trace_w.fd = fd;
    trace_w.state = 1;
    return 1;
}

static void TRACE_FN trace_lock(void)
{
    while (__atomic_exchange_n(&trace_w.spin, 1, __ATOMIC_ACQUIRE))
        while (__atomic_load_n(&trace_w.spin, __ATOMIC_RELAXED)) {
        }
}
static void TRACE_FN trace_unlock(void) { __atomic_store_n(&trace_w.spin, 0, __ATOMIC_RELEASE); }

/* Set while this thread holds the lock through trace_hold: its records go in
 * without taking it again.  initial-exec: the malloc replacement must not
 * have __tls_get_addr allocate. */
static _Thread_local int trace_mine __attribute__((tls_model("initial-exec")));

/* Hold the lock around a call and its record, so that no other thread's
 * record comes between (a realloc that moves frees the old block inside the
 * call: another thread may be handed that address, and its record must
 * come after the realloc's).  Other threads' calls proceed; only their
 * records wait. */
static void TRACE_FN trace_hold(void)
{
    trace_lock();
    trace_mine = 1;
}
static void TRACE_FN trace_release(void)
{
    trace_mine = 0;
    trace_unlock();
}

static void TRACE_FN trace_flush_locked(void)
{
    if (trace_w.n && trace_w.fd >= 0) trace_put(trace_w.fd, trace_w.buf, trace_w.n * sizeof trace_w.buf[0]);
    trace_w.n = 0;
}

/* One record (the caller checked trace_w.state == 1 or called trace_open). */
static void TRACE_FN trace_rec(unsigned op, uint64_t size, const void *addr, uint64_t arg)
{
    uint64_t t = trace_now() - trace_w.start;
    int held = trace_mine;
    if (!held) trace_lock();
    if (trace_w.fd >= 0) {
        struct trace_record *r = &trace_w.buf[trace_w.n++];
        r->op_time = (uint64_t)op << 56 | (t & (((uint64_t)1 << 56) - 1));
        r->size = size, r->addr = (uint64_t)(uintptr_t)addr, r->arg = arg;
        if (trace_w.n == TRACE_BUF || trace_w.final) trace_flush_locked();
    }
    if (!held) trace_unlock();
}

/* At exit: write what is buffered; later records go out one by one. */
static void TRACE_FN trace_final(void)
{
    trace_lock();
    trace_flush_locked();
    trace_w.final = 1;
    trace_unlock();
}

/* In a fork's child: the file is the parent's; stop, dropping the buffer. */
static void TRACE_FN trace_child(void)
{
    if (trace_w.fd >= 0) close(trace_w.fd);
    trace_w.fd = -1, trace_w.n = 0, trace_w.state = 2;
    trace_w.spin = 0;
    trace_mine = 0;
}
#endif /* TRACE_WRITER */

#endif /* ANALLOC_TRACE_FORMAT_H */
