/*
 * workload.h - the SQL workload shared by the test and the benchmark.
 *
 * An in-memory database (":memory:", temp_store=MEMORY: every byte goes
 * through SQLite's allocator) with three tables and four indexes, `scale`
 * orders (scale / 5 customers, scale / 50 products) inserted in
 * transactions of 5000 rows from a fixed pseudo-random sequence, then joins,
 * aggregates, window functions, a recursive CTE, group_concat, a full sort,
 * updates, deletes and an integrity check.  Every result row of every query
 * is hashed (FNV-1a over each value's type and bytes), so two runs agree on
 * `hash` only if they returned the same rows in the same order.  Only
 * integers and text are hashed (no floating point).
 */
#ifndef SQLITE_WORKLOAD_H
#define SQLITE_WORKLOAD_H

#include <stdint.h>

struct workload_result {
    int rc;              /* SQLITE_OK, or the first error's code */
    char err[160];       /* its message, with the statement */
    uint64_t hash;       /* over every result row */
    uint64_t rows;       /* result rows hashed */
    double seconds;      /* wall time of the whole workload */
};

/* Run the workload once on a fresh ":memory:" database; the connection is
 * closed before returning, whatever happened.  Returns r->rc. */
int workload_run(long scale, struct workload_result *r);

double workload_now(void);

#endif /* SQLITE_WORKLOAD_H */
