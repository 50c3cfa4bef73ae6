/* workload.c - the SQL workload (see workload.h). */
#include "workload.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

double workload_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- deterministic data ---------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
    /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ull;
}

static long rnd_below(long n)
{
    return (long)(rnd() % (uint64_t)n);
}

static const char *const syllables[] = {
    "ka", "lo", "mi", "nu", "ra", "se", "ti", "vo", "zen", "bar", "qui", "dor",
    "fel", "gra", "hum", "jin", "pex", "wol", "yst", "cru", "ost", "ae", "io", "un",
};

/* A word of 1 to max_syl syllables, with spaces now and then. */
static int make_text(char *buf, int max_syl)
{
    int n = 1 + (int)rnd_below(max_syl), len = 0;
    for (int i = 0; i < n; i++) {
        const char *s = syllables[rnd_below((long)(sizeof syllables / sizeof *syllables))];
        size_t l = strlen(s);
        memcpy(buf + len, s, l);
        len += (int)l;
        if (i + 1 < n && rnd_below(5) == 0)
            buf[len++] = ' ';
    }
    buf[len] = '\0';
    return len;
}

/* ---- running statements ---------------------------------------------------- */

struct ctx {
    sqlite3 *db;
    struct workload_result *r;
};

static uint64_t fnv(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

static int fail(struct ctx *c, int rc, const char *sql)
{
    if (c->r->rc == SQLITE_OK) {
        c->r->rc = rc;
        snprintf(c->r->err, sizeof c->r->err, "%s (%.60s)", sqlite3_errmsg(c->db), sql);
    }
    return rc;
}

/* Hash the current row of st. */
static void hash_row(struct ctx *c, sqlite3_stmt *st)
{
    uint64_t h = c->r->hash;
    int n = sqlite3_column_count(st);
    for (int i = 0; i < n; i++) {
        unsigned char type = (unsigned char)sqlite3_column_type(st, i);
        h = fnv(h, &type, 1);
        if (type == SQLITE_INTEGER) {
            uint64_t v = (uint64_t)sqlite3_column_int64(st, i);
            unsigned char b[8];
            for (int k = 0; k < 8; k++)
                b[k] = (unsigned char)(v >> (8 * k));
            h = fnv(h, b, 8);
        } else if (type == SQLITE_TEXT || type == SQLITE_BLOB) {
            const void *p = type == SQLITE_TEXT ? (const void *)sqlite3_column_text(st, i)
                                                : sqlite3_column_blob(st, i);
            int len = sqlite3_column_bytes(st, i);
            unsigned char b[4] = {(unsigned char)len, (unsigned char)(len >> 8),
                                  (unsigned char)(len >> 16), (unsigned char)(len >> 24)};
            h = fnv(h, b, 4);
            if (p != NULL)
                h = fnv(h, p, (size_t)len);
            else if (len > 0)
                fail(c, SQLITE_NOMEM, "column value");
        } else if (type == SQLITE_FLOAT) {
            /* Not used by the workload's results; hash the text anyway. */
            const unsigned char *t = sqlite3_column_text(st, i);
            if (t != NULL)
                h = fnv(h, t, strlen((const char *)t));
        }
    }
    c->r->hash = h;
    c->r->rows++;
}

/* Run every statement in sql, hashing the rows they return. */
static int run(struct ctx *c, const char *sql)
{
    const char *tail = sql;
    if (c->r->rc != SQLITE_OK)
        return c->r->rc;
    while (tail != NULL && *tail != '\0') {
        sqlite3_stmt *st = NULL;
        const char *here = tail;
        int rc = sqlite3_prepare_v2(c->db, tail, -1, &st, &tail);
        if (rc != SQLITE_OK)
            return fail(c, rc, here);
        if (st == NULL)
            break; /* only whitespace or comments left */
        while ((rc = sqlite3_step(st)) == SQLITE_ROW)
            hash_row(c, st);
        if (rc != SQLITE_DONE) {
            fail(c, rc, here);
            sqlite3_finalize(st);
            return rc;
        }
        rc = sqlite3_finalize(st);
        if (rc != SQLITE_OK)
            return fail(c, rc, here);
        if (c->r->rc != SQLITE_OK)
            return c->r->rc;
    }
    return SQLITE_OK;
}

/* ---- an application-defined aggregate ------------------------------------- */

/*
 * concat_all(x): the bytes of every x, concatenated, as a blob.  Like many
 * applications' own buffers, it grows with sqlite3_realloc64 and uses every
 * byte sqlite3_msize says it has: each value fills the buffer to its
 * capacity before the buffer grows, so every realloc copies a full block,
 * and a copy that drops a byte shows in the result.  The final value is
 * shrunk to fit (a realloc that shrinks).
 */
struct concat {
    unsigned char *buf;
    sqlite3_uint64 len, cap;
    int nomem;
};

static void concat_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    struct concat *c = sqlite3_aggregate_context(ctx, (int)sizeof *c);
    const unsigned char *p;
    sqlite3_uint64 n;
    (void)argc;
    if (c == NULL) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    if (c->nomem)
        return;
    p = sqlite3_value_blob(argv[0]);
    n = (sqlite3_uint64)sqlite3_value_bytes(argv[0]);
    while (n > 0) {
        sqlite3_uint64 room = c->cap - c->len, k = n < room ? n : room;
        memcpy(c->buf + c->len, p, (size_t)k);
        c->len += k;
        p += k;
        n -= k;
        if (n > 0) {
            /* Full: grow to hold the rest (rounded up by the allocator). */
            unsigned char *q = sqlite3_realloc64(c->buf, c->len + n);
            if (q == NULL) {
                c->nomem = 1;
                return;
            }
            c->buf = q;
            c->cap = sqlite3_msize(q);
        }
    }
}

static void concat_final(sqlite3_context *ctx)
{
    struct concat *c = sqlite3_aggregate_context(ctx, 0);
    if (c == NULL || c->len == 0) {
        sqlite3_result_null(ctx);
    } else if (c->nomem) {
        sqlite3_result_error_nomem(ctx);
    } else {
        unsigned char *q = sqlite3_realloc64(c->buf, c->len);
        if (q != NULL)
            c->buf = q;
        sqlite3_result_blob64(ctx, c->buf, c->len, SQLITE_TRANSIENT);
    }
    if (c != NULL)
        sqlite3_free(c->buf);
}

/* ---- the workload ---------------------------------------------------------- */

static const char schema[] =
    "PRAGMA temp_store = MEMORY;"
    "CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT NOT NULL, region INT,"
    "  balance INT, created INT);"
    "CREATE TABLE products(id INTEGER PRIMARY KEY, title TEXT, category INT, price INT);"
    "CREATE TABLE orders(id INTEGER PRIMARY KEY, cust INT REFERENCES customers,"
    "  product INT REFERENCES products, qty INT, day INT, note TEXT, payload BLOB);"
    /* One index exists during the inserts (maintained row by row), the
     * others are built afterwards (by the sorter). */
    "CREATE INDEX orders_cust ON orders(cust, day);";

static const char indexes[] =
    "CREATE INDEX orders_product_day ON orders(product, day);"
    "CREATE INDEX customers_region ON customers(region, name);"
    "CREATE UNIQUE INDEX products_title ON products(title, id);"
    "ANALYZE;";

static const char queries[] =
    /* join + aggregate */
    "SELECT c.region, count(*), sum(o.qty * p.price), sum(c.balance), min(o.day), max(o.day)"
    "  FROM orders o JOIN customers c ON c.id = o.cust JOIN products p ON p.id = o.product"
    "  GROUP BY c.region ORDER BY c.region;"
    "SELECT p.category, count(DISTINCT o.cust), count(*), max(o.qty)"
    "  FROM orders o JOIN products p ON p.id = o.product"
    "  GROUP BY p.category ORDER BY 2 DESC, 1;"
    /* top spenders */
    "SELECT c.id, c.name, sum(o.qty * p.price) AS spent"
    "  FROM customers c JOIN orders o ON o.cust = c.id JOIN products p ON p.id = o.product"
    "  GROUP BY c.id ORDER BY spent DESC, c.id LIMIT 500;"
    /* a full sort of every order by text */
    "SELECT o.id, o.note, length(o.payload), c.name FROM orders o"
    "  LEFT JOIN customers c ON c.id = o.cust ORDER BY o.note, c.name, o.id;"
    /* window functions */
    "SELECT cust, day, qty, sum(qty) OVER (PARTITION BY cust ORDER BY day, id"
    "  ROWS UNBOUNDED PRECEDING), rank() OVER (PARTITION BY cust ORDER BY qty DESC, id)"
    "  FROM orders WHERE cust % 7 = 0 ORDER BY cust, day, id;"
    /* long strings built by realloc */
    "SELECT region, length(g), substr(g, 1, 200), substr(g, -200) FROM"
    "  (SELECT region, group_concat(name, ',') AS g FROM"
    "    (SELECT region, name FROM customers ORDER BY region, name, id) GROUP BY region)"
    "  ORDER BY region;"
    /* a recursive CTE whose rows grow */
    "WITH RECURSIVE r(n, s) AS (SELECT 1, 'x' UNION ALL"
    "  SELECT n + 1, s || substr('abcdefghijklmnopqrstuvwxyz', n % 26 + 1, 1 + n % 3)"
    "  FROM r WHERE n < 3000) SELECT n, length(s), substr(s, -40) FROM r WHERE n % 10 = 0;"
    /* an application's realloc'd buffers */
    "SELECT region, concat_all(note), concat_all(payload) FROM (SELECT c.region AS region,"
    "  o.note AS note, o.payload AS payload FROM orders o JOIN customers c ON c.id = o.cust"
    "  WHERE o.id % 3 = 0 ORDER BY o.id) GROUP BY region ORDER BY region;"
    "SELECT cust, concat_all(note) FROM orders WHERE cust <= 2000 GROUP BY cust ORDER BY cust;"
    /* a subquery per row and an IN list */
    "SELECT p.id, p.title, (SELECT count(*) FROM orders o WHERE o.product = p.id AND o.qty > 5)"
    "  FROM products p WHERE p.category IN (1, 4, 9, 16) ORDER BY p.title, p.id;";

static const char changes[] =
    "BEGIN;"
    "UPDATE orders SET qty = qty + 1, note = note || '-upd' WHERE day % 7 = 3;"
    "UPDATE customers SET balance = balance * 101 / 100 WHERE region IN (1, 3, 5);"
    "UPDATE products SET price = price + category WHERE id % 4 = 0;"
    "COMMIT;"
    "BEGIN;"
    "DELETE FROM orders WHERE qty > 8 AND day % 3 = 0;"
    "DELETE FROM customers WHERE id % 13 = 0;"
    "INSERT INTO orders(cust, product, qty, day, note)"
    "  SELECT cust, product, qty * 2, day + 1000, 'copy of ' || id FROM orders WHERE id % 11 = 0;"
    "CREATE TABLE summary AS SELECT cust, count(*) AS n, sum(qty) AS q FROM orders GROUP BY cust;"
    "COMMIT;";

static const char finals[] =
    "SELECT count(*), sum(c.id IS NULL) FROM orders o LEFT JOIN customers c ON c.id = o.cust;"
    "SELECT c.region, count(*), sum(o.qty * p.price) FROM orders o"
    "  JOIN customers c ON c.id = o.cust JOIN products p ON p.id = o.product"
    "  GROUP BY c.region ORDER BY c.region;"
    "SELECT s.cust, s.n, s.q FROM summary s WHERE s.n > 8 ORDER BY s.q DESC, s.cust;"
    "SELECT * FROM customers ORDER BY id;"
    "SELECT * FROM products ORDER BY id;"
    "SELECT id, cust, product, qty, day, note, payload FROM orders ORDER BY id;"
    "DROP TABLE summary;"
    "PRAGMA integrity_check;";

static int insert_rows(struct ctx *c, long scale)
{
    long ncust = scale / 5 > 10 ? scale / 5 : 10;
    long nprod = scale / 50 > 10 ? scale / 50 : 10;
    sqlite3_stmt *ic = NULL, *ip = NULL, *io = NULL;
    char text[400];
    unsigned char blob[6000];
    int rc;

    rc = sqlite3_prepare_v2(c->db, "INSERT INTO customers VALUES(?, ?, ?, ?, ?)", -1, &ic, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(c->db, "INSERT INTO products VALUES(?, ?, ?, ?)", -1, &ip, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(c->db,
                                "INSERT INTO orders(cust, product, qty, day, note, payload)"
                                " VALUES(?, ?, ?, ?, ?, ?)",
                                -1, &io, NULL);
    if (rc != SQLITE_OK) {
        fail(c, rc, "prepare insert");
        goto out;
    }
    for (long i = 0; i < ncust + nprod + scale && c->r->rc == SQLITE_OK; i++) {
        sqlite3_stmt *st;
        if (i % 5000 == 0 && run(c, "BEGIN") != SQLITE_OK)
            break;
        if (i < ncust) {
            st = ic;
            sqlite3_bind_int64(st, 1, i + 1);
            sqlite3_bind_text(st, 2, text, make_text(text, 6), SQLITE_TRANSIENT);
            sqlite3_bind_int(st, 3, (int)rnd_below(12));
            sqlite3_bind_int64(st, 4, rnd_below(1000000) - 200000);
            sqlite3_bind_int64(st, 5, 1600000000 + rnd_below(100000000));
        } else if (i < ncust + nprod) {
            st = ip;
            sqlite3_bind_int64(st, 1, i - ncust + 1);
            sqlite3_bind_text(st, 2, text, make_text(text, 4), SQLITE_TRANSIENT);
            sqlite3_bind_int(st, 3, (int)rnd_below(20));
            sqlite3_bind_int(st, 4, 100 + (int)rnd_below(100000));
        } else {
            long k = rnd_below(100);
            st = io;
            sqlite3_bind_int64(st, 1, 1 + rnd_below(ncust));
            sqlite3_bind_int64(st, 2, 1 + rnd_below(nprod));
            sqlite3_bind_int(st, 3, 1 + (int)rnd_below(10));
            sqlite3_bind_int(st, 4, (int)rnd_below(3650));
            if (k < 90)
                sqlite3_bind_text(st, 5, text, make_text(text, k < 10 ? 60 : 8), SQLITE_TRANSIENT);
            else
                sqlite3_bind_null(st, 5);
            if (k < 8 || k == 99) {
                /* Most payloads fit in the page; one in a hundred overflows. */
                int len = k == 99 ? 4000 + (int)rnd_below(2000) : 16 + (int)rnd_below(600);
                for (int j = 0; j < len; j++)
                    blob[j] = (unsigned char)rnd();
                sqlite3_bind_blob(st, 6, blob, len, SQLITE_TRANSIENT);
            } else {
                sqlite3_bind_null(st, 6);
            }
        }
        rc = sqlite3_step(st);
        if (rc != SQLITE_DONE) {
            fail(c, rc, "insert");
            break;
        }
        sqlite3_reset(st);
        if ((i + 1) % 5000 == 0 || i + 1 == ncust + nprod + scale)
            run(c, "COMMIT");
    }
out:
    sqlite3_finalize(ic);
    sqlite3_finalize(ip);
    sqlite3_finalize(io);
    if (c->r->rc != SQLITE_OK)
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    return c->r->rc;
}

int workload_run(long scale, struct workload_result *r)
{
    struct ctx c;
    double t0 = workload_now();
    int rc;

    memset(r, 0, sizeof *r);
    r->hash = 14695981039346656037ull;
    rng_state = 0x9e3779b97f4a7c15ull;
    c.r = r;
    c.db = NULL;
    rc = sqlite3_open_v2(":memory:", &c.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc != SQLITE_OK) {
        r->rc = rc;
        snprintf(r->err, sizeof r->err, "open: %s", sqlite3_errstr(rc));
    } else {
        rc = sqlite3_create_function_v2(c.db, "concat_all", 1, SQLITE_UTF8, NULL, NULL,
                                        concat_step, concat_final, NULL);
        if (rc != SQLITE_OK)
            fail(&c, rc, "create concat_all");
        run(&c, schema);
        if (r->rc == SQLITE_OK)
            insert_rows(&c, scale);
        run(&c, indexes);
        run(&c, queries);
        run(&c, changes);
        run(&c, finals);
    }
    if (c.db != NULL && sqlite3_close(c.db) != SQLITE_OK && r->rc == SQLITE_OK) {
        r->rc = SQLITE_BUSY;
        snprintf(r->err, sizeof r->err, "close: statements left unfinalized");
    }
    r->seconds = workload_now() - t0;
    return r->rc;
}
