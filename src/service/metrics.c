/*
 * metrics.c - the Prometheus registry of the service layer and its text exposition (format
 * 0.0.4), with process metrics read from /proc/self.
 *
 * How it works:
 *   - Plain counters (upserts, queries, deletes, cache hits/misses) are relaxed atomic uint64s.
 *   - The query latency histogram has METRICS_N_BUCKETS fixed upper bounds (100 us .. 10 s) plus
 *     an overflow slot for > 10 s. Each slot is a NON-cumulative atomic count; observe adds 1 to
 *     exactly one slot and adds the duration to `_sum` with a CAS loop on the double's bit
 *     pattern, so observing never takes a lock. Rendering loads the slots once, turns them into
 *     cumulative `le` counts, and prints `_count` as the +Inf count of that same load.
 *   - Labelled counters (errors by code, HTTP requests by route/method/status, gRPC requests by
 *     method/code) are "families": an array of series, each owning the key made of its label
 *     values joined by NUL bytes, indexed by a vs_hmap (key -> series index).
 *   - Per-namespace series and the vector total are not stored here: the caller passes them to
 *     metrics_render at scrape time, reading them from the catalog.
 *
 * Invariants:
 *   1. In one exposition the +Inf bucket equals _count, and bucket counts never decrease with le.
 *   2. A family has at most METRICS_MAX_SERIES series plus one overflow series whose label
 *      values are all "other"; increments past the cap land there, so sums stay exact.
 *   3. Every family is declared once with # HELP and # TYPE before its samples; names and types
 *      pass `promtool check metrics` (the two guide names ending in _total / _count that hold
 *      current values are `untyped`, SPEC 9).
 *   4. Label values are escaped (\\, \", \n) and made valid UTF-8.
 *
 * Concurrency: counters and the histogram are lock-free (see above; a scrape racing an observe
 * may see _sum without that observation's count or the reverse, which Prometheus tolerates).
 * `mu` guards the three families (arrays, indexes and series values); it is a leaf lock: nothing
 * is called under it but allocation and buffer appends.
 *
 * Callers: src/service/service.c (counting, and svc_metrics_render for GET /metrics).
 */
#include "service/metrics.h"

#include "util/alloc.h"
#include "util/fmt.h"
#include "util/hashmap.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define FAMILY_MAX_LABELS 3

/* Upper bounds of the latency buckets, and the same numbers as the `le` label text (written
 * out so the label is exactly the short decimal, whatever the float formatter does). */
static const double bucket_bounds[METRICS_N_BUCKETS] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
    0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
static const char *const bucket_le[METRICS_N_BUCKETS] = {
    "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025",
    "0.05",   "0.1",     "0.25",   "0.5",   "1",      "2.5",   "5",    "10"};

typedef struct series {
    char *key; /* label values joined by '\0', key_len bytes; owned */
    uint32_t key_len;
    uint64_t value;
} series_t;

/* A labelled counter family. All fields after the constants are guarded by vs_metrics.mu. */
typedef struct family {
    const char *name;
    const char *help;
    unsigned n_labels;
    const char *label_names[FAMILY_MAX_LABELS];
    series_t *series; /* n used, cap allocated */
    size_t n;
    size_t cap;
    vs_hmap index; /* key -> index into series; keys borrowed from series[i].key */
} family_t;

struct vs_metrics {
    _Atomic uint64_t upserts;
    _Atomic uint64_t queries;
    _Atomic uint64_t deletes;
    _Atomic uint64_t cache_hits;
    _Atomic uint64_t cache_misses;

    /* Histogram: slot i counts observations in (bound[i-1], bound[i]]; the last slot > 10 s. */
    _Atomic uint64_t hist_slots[METRICS_N_BUCKETS + 1];
    _Atomic uint64_t hist_sum_bits; /* bit pattern of a double */

    double created_unix; /* fallback for process_start_time_seconds; immutable */

    pthread_mutex_t mu; /* guards the families below */
    family_t errors;
    family_t http;
    family_t grpc;
};

/* ---- float formatting ---- */

/* Writes d in the text format's float syntax (shortest round-trip decimal; +Inf, -Inf, NaN). */
static void fmt_float(char buf[64], double d) /* 64 >= VS_FMT_BUF */
{
    if (isnan(d)) {
        strcpy(buf, "NaN");
        return;
    }
    if (isinf(d)) {
        strcpy(buf, d > 0 ? "+Inf" : "-Inf");
        return;
    }
    vs_fmt_double(buf, d);
}

/* ---- label escaping ---- */

/* Length of the valid UTF-8 sequence starting at s (n bytes left), or 0 if invalid. */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c < 0x80) return 1;
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else {
        return 0;
    }
    if (n < len) return 0;
    if (s[1] < lo || s[1] > hi) return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF) return 0;
    return len;
}

void metrics_escape_label(vs_buf *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    size_t i = 0;
    while (i < n) {
        unsigned char c = p[i];
        if (c == '\\') {
            vs_buf_append(out, "\\\\", 2);
            i++;
        } else if (c == '"') {
            vs_buf_append(out, "\\\"", 2);
            i++;
        } else if (c == '\n') {
            vs_buf_append(out, "\\n", 2);
            i++;
        } else {
            size_t len = utf8_seq_len(p + i, n - i);
            if (len == 0) {
                vs_buf_append(out, "\xEF\xBF\xBD", 3);
                i++;
            } else {
                vs_buf_append(out, p + i, len);
                i += len;
            }
        }
    }
}

/* ---- labelled families ---- */

static void family_init(family_t *f, const char *name, const char *help, unsigned n_labels,
                        const char *l0, const char *l1, const char *l2)
{
    memset(f, 0, sizeof *f);
    f->name = name;
    f->help = help;
    f->n_labels = n_labels;
    f->label_names[0] = l0;
    f->label_names[1] = l1;
    f->label_names[2] = l2;
    vs_hmap_init(&f->index);
}

static void family_free(family_t *f)
{
    for (size_t i = 0; i < f->n; i++) vs_free(f->series[i].key);
    vs_free(f->series);
    vs_hmap_free(&f->index);
}

/* Joins vals[0..n_labels) with '\0' into key (len written to *len_out). Returns key, or a
 * vs_malloc'ed buffer when the stack buffer is too small (caller frees if != stack), or NULL. */
static char *join_key(const family_t *f, const char *const *vals, char *stack, size_t stack_size,
                      size_t *len_out)
{
    size_t total = 0;
    for (unsigned i = 0; i < f->n_labels; i++) total += strlen(vals[i]) + 1;
    char *key = total <= stack_size ? stack : vs_malloc(total);
    if (key == NULL) return NULL;
    size_t off = 0;
    for (unsigned i = 0; i < f->n_labels; i++) {
        size_t l = strlen(vals[i]);
        memcpy(key + off, vals[i], l);
        off += l;
        key[off++] = '\0';
    }
    *len_out = total;
    return key;
}

/* Finds or adds the series with this key. Caller holds mu. NULL on out of memory. */
static series_t *family_series(family_t *f, const char *key, size_t key_len)
{
    uint32_t idx;
    if (key_len > UINT32_MAX) return NULL;
    if (vs_hmap_get(&f->index, key, key_len, &idx)) return &f->series[idx];
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 8;
        series_t *s = vs_realloc(f->series, cap * sizeof *s);
        if (s == NULL) return NULL;
        f->series = s;
        f->cap = cap;
    }
    char *copy = vs_malloc(key_len);
    if (copy == NULL) return NULL;
    memcpy(copy, key, key_len);
    if (!vs_hmap_put(&f->index, copy, key_len, (uint32_t)f->n)) {
        vs_free(copy);
        return NULL;
    }
    series_t *s = &f->series[f->n++];
    s->key = copy;
    s->key_len = (uint32_t)key_len;
    s->value = 0;
    return s;
}

/* Adds 1 to the series of vals (or to the overflow series once the family is full). An
 * allocation failure loses this one increment: counting must not fail a request. */
static void family_inc(vs_metrics_t *m, family_t *f, const char *const *vals)
{
    static const char *const other[FAMILY_MAX_LABELS] = {"other", "other", "other"};
    char stack[256];
    size_t key_len = 0;
    char *key = join_key(f, vals, stack, sizeof stack, &key_len);
    if (key == NULL) return;
    pthread_mutex_lock(&m->mu);
    uint32_t idx;
    series_t *s = NULL;
    if (vs_hmap_get(&f->index, key, key_len, &idx)) {
        s = &f->series[idx];
    } else if (f->n < METRICS_MAX_SERIES) {
        s = family_series(f, key, key_len);
    } else {
        char ostack[64];
        size_t olen = 0;
        char *okey = join_key(f, other, ostack, sizeof ostack, &olen);
        if (okey != NULL) s = family_series(f, okey, olen);
    }
    if (s != NULL) s->value++;
    pthread_mutex_unlock(&m->mu);
    if (key != stack) vs_free(key);
}

static void render_header(vs_buf *out, const char *name, const char *help, const char *type)
{
    vs_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Caller holds mu. */
static void family_render(const family_t *f, vs_buf *out)
{
    render_header(out, f->name, f->help, "counter");
    for (size_t i = 0; i < f->n; i++) {
        const series_t *s = &f->series[i];
        vs_buf_append_str(out, f->name);
        vs_buf_append_u8(out, '{');
        const char *v = s->key;
        for (unsigned l = 0; l < f->n_labels; l++) {
            if (l > 0) vs_buf_append_u8(out, ',');
            vs_buf_append_str(out, f->label_names[l]);
            vs_buf_append(out, "=\"", 2);
            metrics_escape_label(out, v);
            vs_buf_append_u8(out, '"');
            v += strlen(v) + 1;
        }
        vs_buf_printf(out, "} %" PRIu64 "\n", s->value);
    }
}

/* ---- life cycle ---- */

vs_metrics_t *metrics_create(void)
{
    vs_metrics_t *m = vs_calloc(1, sizeof *m);
    if (m == NULL) return NULL;
    for (int i = 0; i <= METRICS_N_BUCKETS; i++) atomic_init(&m->hist_slots[i], 0);
    double zero = 0.0;
    uint64_t bits;
    memcpy(&bits, &zero, sizeof bits);
    atomic_init(&m->hist_sum_bits, bits);
    atomic_init(&m->upserts, 0);
    atomic_init(&m->queries, 0);
    atomic_init(&m->deletes, 0);
    atomic_init(&m->cache_hits, 0);
    atomic_init(&m->cache_misses, 0);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    m->created_unix = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    if (pthread_mutex_init(&m->mu, NULL) != 0) {
        vs_free(m);
        return NULL;
    }
    family_init(&m->errors, "vecstore_errors_total", "Error replies by stable error code.", 1,
                "code", NULL, NULL);
    family_init(&m->http, "vecstore_http_requests_total",
                "HTTP requests by route pattern, method and status code.", 3, "route", "method",
                "status");
    family_init(&m->grpc, "vecstore_grpc_requests_total",
                "gRPC calls by method and gRPC status code.", 2, "method", "code", NULL);
    return m;
}

void metrics_destroy(vs_metrics_t *m)
{
    if (m == NULL) return;
    family_free(&m->errors);
    family_free(&m->http);
    family_free(&m->grpc);
    pthread_mutex_destroy(&m->mu);
    vs_free(m);
}

/* ---- counting ---- */

void metrics_add_upserts(vs_metrics_t *m, uint64_t n)
{
    atomic_fetch_add_explicit(&m->upserts, n, memory_order_relaxed);
}
void metrics_add_queries(vs_metrics_t *m, uint64_t n)
{
    atomic_fetch_add_explicit(&m->queries, n, memory_order_relaxed);
}
void metrics_add_deletes(vs_metrics_t *m, uint64_t n)
{
    atomic_fetch_add_explicit(&m->deletes, n, memory_order_relaxed);
}
void metrics_cache_hit(vs_metrics_t *m)
{
    atomic_fetch_add_explicit(&m->cache_hits, 1, memory_order_relaxed);
}
void metrics_cache_miss(vs_metrics_t *m)
{
    atomic_fetch_add_explicit(&m->cache_misses, 1, memory_order_relaxed);
}

uint64_t metrics_get_upserts(vs_metrics_t *m)
{
    return atomic_load(&m->upserts);
}
uint64_t metrics_get_queries(vs_metrics_t *m)
{
    return atomic_load(&m->queries);
}
uint64_t metrics_get_deletes(vs_metrics_t *m)
{
    return atomic_load(&m->deletes);
}
uint64_t metrics_get_cache_hits(vs_metrics_t *m)
{
    return atomic_load(&m->cache_hits);
}
uint64_t metrics_get_cache_misses(vs_metrics_t *m)
{
    return atomic_load(&m->cache_misses);
}

void metrics_observe_query_seconds(vs_metrics_t *m, double s)
{
    if (!(s >= 0)) s = 0; /* NaN and negatives */
    int slot = METRICS_N_BUCKETS;
    for (int i = 0; i < METRICS_N_BUCKETS; i++) {
        if (s <= bucket_bounds[i]) {
            slot = i;
            break;
        }
    }
    atomic_fetch_add_explicit(&m->hist_slots[slot], 1, memory_order_relaxed);
    uint64_t old = atomic_load_explicit(&m->hist_sum_bits, memory_order_relaxed);
    for (;;) {
        double d;
        memcpy(&d, &old, sizeof d);
        d += s;
        uint64_t nb;
        memcpy(&nb, &d, sizeof nb);
        /* on failure `old` is reloaded with the current bits */
        if (atomic_compare_exchange_weak_explicit(&m->hist_sum_bits, &old, nb, memory_order_relaxed,
                                                  memory_order_relaxed))
            break;
    }
}

void metrics_count_error(vs_metrics_t *m, const char *code_name)
{
    const char *vals[1] = {code_name ? code_name : ""};
    family_inc(m, &m->errors, vals);
}

void metrics_count_http(vs_metrics_t *m, const char *route, const char *method, int status)
{
    char st[16];
    snprintf(st, sizeof st, "%d", status);
    const char *vals[3] = {route ? route : "", method ? method : "", st};
    family_inc(m, &m->http, vals);
}

void metrics_count_grpc(vs_metrics_t *m, const char *method, int code)
{
    char c[16];
    snprintf(c, sizeof c, "%d", code);
    const char *vals[2] = {method ? method : "", c};
    family_inc(m, &m->grpc, vals);
}

/* ---- process metrics (/proc/self) ---- */

typedef struct proc_stats {
    bool has_stat;
    double cpu_seconds;
    uint64_t vsize_bytes;
    uint64_t rss_bytes;
    long threads;
    double start_unix;
    bool has_start;
    long open_fds;
    bool has_fds;
    uint64_t max_fds;
    bool has_max_fds;
} proc_stats;

/* Reads a small /proc file into buf (NUL-terminated). Returns bytes read or -1. */
static ssize_t read_small_file(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    size_t off = 0;
    while (off + 1 < size) {
        ssize_t r = read(fd, buf + off, size - 1 - off);
        if (r < 0) {
            close(fd);
            return -1;
        }
        if (r == 0) break;
        off += (size_t)r;
    }
    close(fd);
    buf[off] = '\0';
    return (ssize_t)off;
}

/* Boot time in Unix seconds from the `btime` line of /proc/stat; -1 if unknown. */
static long long boot_time(void)
{
    char *buf = vs_malloc(65536);
    if (buf == NULL) return -1;
    long long bt = -1;
    if (read_small_file("/proc/stat", buf, 65536) > 0) {
        const char *p = strstr(buf, "\nbtime ");
        if (p != NULL) bt = strtoll(p + 7, NULL, 10);
    }
    vs_free(buf);
    return bt;
}

static void read_proc(proc_stats *ps)
{
    memset(ps, 0, sizeof *ps);
    char buf[2048];
    long ticks = sysconf(_SC_CLK_TCK);
    long page = sysconf(_SC_PAGESIZE);
    if (read_small_file("/proc/self/stat", buf, sizeof buf) > 0 && ticks > 0 && page > 0) {
        /* the command name (field 2) may hold spaces and parentheses: parse after the last ')' */
        const char *p = strrchr(buf, ')');
        unsigned long utime, stime, vsize;
        long threads, rss;
        unsigned long long start;
        if (p != NULL &&
            sscanf(p + 1,
                   " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %*d %*d %*d %*d %ld %*d "
                   "%llu %lu %ld",
                   &utime, &stime, &threads, &start, &vsize, &rss) == 6) {
            ps->has_stat = true;
            ps->cpu_seconds = (double)(utime + stime) / (double)ticks;
            ps->vsize_bytes = vsize;
            ps->rss_bytes = rss > 0 ? (uint64_t)rss * (uint64_t)page : 0;
            ps->threads = threads;
            long long bt = boot_time();
            if (bt >= 0) {
                ps->start_unix = (double)bt + (double)start / (double)ticks;
                ps->has_start = true;
            }
        }
    }
    DIR *d = opendir("/proc/self/fd");
    if (d != NULL) {
        int own = dirfd(d);
        long n = 0;
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.') continue;
            if (atoi(e->d_name) == own) continue; /* the directory stream itself */
            n++;
        }
        closedir(d);
        ps->open_fds = n;
        ps->has_fds = true;
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        ps->max_fds = (uint64_t)rl.rlim_cur;
        ps->has_max_fds = true;
    }
}

/* ---- exposition ---- */

static void render_u64(vs_buf *out, const char *name, const char *help, const char *type,
                       uint64_t v)
{
    render_header(out, name, help, type);
    vs_buf_printf(out, "%s %" PRIu64 "\n", name, v);
}

static void render_double(vs_buf *out, const char *name, const char *help, const char *type,
                          double v)
{
    char f[64];
    fmt_float(f, v);
    render_header(out, name, help, type);
    vs_buf_printf(out, "%s %s\n", name, f);
}

static void render_ns_sample(vs_buf *out, const char *name, const char *ns, const char *value)
{
    vs_buf_append_str(out, name);
    vs_buf_append(out, "{namespace=\"", 12);
    metrics_escape_label(out, ns ? ns : "");
    vs_buf_append(out, "\"} ", 3);
    vs_buf_append_str(out, value);
    vs_buf_append_u8(out, '\n');
}

static void render_histogram(vs_metrics_t *m, vs_buf *out)
{
    static const char *name = "vecstore_query_duration_seconds";
    uint64_t slots[METRICS_N_BUCKETS + 1];
    for (int i = 0; i <= METRICS_N_BUCKETS; i++)
        slots[i] = atomic_load_explicit(&m->hist_slots[i], memory_order_relaxed);
    uint64_t bits = atomic_load_explicit(&m->hist_sum_bits, memory_order_relaxed);
    double sum;
    memcpy(&sum, &bits, sizeof sum);

    render_header(out, name, "Latency of query operations in seconds.", "histogram");
    uint64_t cum = 0;
    for (int i = 0; i < METRICS_N_BUCKETS; i++) {
        cum += slots[i];
        vs_buf_printf(out, "%s_bucket{le=\"%s\"} %" PRIu64 "\n", name, bucket_le[i], cum);
    }
    cum += slots[METRICS_N_BUCKETS];
    char f[64];
    fmt_float(f, sum);
    vs_buf_printf(out, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n", name, cum);
    vs_buf_printf(out, "%s_sum %s\n", name, f);
    vs_buf_printf(out, "%s_count %" PRIu64 "\n", name, cum);
}

void metrics_render(vs_metrics_t *m, vs_buf *out, uint64_t vectors_total,
                    const metrics_ns_row *rows, size_t n_rows)
{
    render_u64(out, "vecstore_upsert_total", "Records upserted (successful operations).", "counter",
               atomic_load(&m->upserts));
    render_u64(out, "vecstore_query_total", "Queries executed (successful operations).", "counter",
               atomic_load(&m->queries));
    render_u64(out, "vecstore_delete_total", "Records deleted (successful operations).", "counter",
               atomic_load(&m->deletes));
    render_histogram(m, out);
    render_u64(out, "vecstore_vectors_total",
               "Current number of stored vectors, soft-deleted included (a current value).",
               "untyped", vectors_total);
    render_u64(out, "vecstore_cache_hits_total", "Query-result cache hits.", "counter",
               atomic_load(&m->cache_hits));
    render_u64(out, "vecstore_cache_misses_total", "Query-result cache misses.", "counter",
               atomic_load(&m->cache_misses));
    render_u64(out, "vecstore_namespaces", "Current number of namespaces.", "gauge",
               (uint64_t)n_rows);

    char v[64];
    render_header(out, "vecstore_namespace_vector_count",
                  "Current vectors per namespace, soft-deleted included (a current value).",
                  "untyped");
    for (size_t i = 0; i < n_rows; i++) {
        snprintf(v, sizeof v, "%" PRIu64, rows[i].vector_count);
        render_ns_sample(out, "vecstore_namespace_vector_count", rows[i].namespace_id, v);
    }
    render_header(out, "vecstore_namespace_quota_utilization",
                  "Vector quota utilization per namespace (0.0 - 1.0).", "gauge");
    for (size_t i = 0; i < n_rows; i++) {
        fmt_float(v, rows[i].quota_utilization);
        render_ns_sample(out, "vecstore_namespace_quota_utilization", rows[i].namespace_id, v);
    }
    render_header(out, "vecstore_namespace_requests_total", "Data requests per namespace.",
                  "counter");
    for (size_t i = 0; i < n_rows; i++) {
        snprintf(v, sizeof v, "%" PRIu64, rows[i].requests_total);
        render_ns_sample(out, "vecstore_namespace_requests_total", rows[i].namespace_id, v);
    }

    pthread_mutex_lock(&m->mu);
    family_render(&m->errors, out);
    family_render(&m->http, out);
    family_render(&m->grpc, out);
    pthread_mutex_unlock(&m->mu);

    proc_stats ps;
    read_proc(&ps);
    if (ps.has_stat) {
        render_double(out, "process_cpu_seconds_total",
                      "Total user and system CPU time in seconds.", "counter", ps.cpu_seconds);
        render_u64(out, "process_resident_memory_bytes", "Resident memory size in bytes.", "gauge",
                   ps.rss_bytes);
        render_u64(out, "process_virtual_memory_bytes", "Virtual memory size in bytes.", "gauge",
                   ps.vsize_bytes);
        render_u64(out, "process_threads", "Number of OS threads in the process.", "gauge",
                   (uint64_t)(ps.threads > 0 ? ps.threads : 0));
    }
    render_double(out, "process_start_time_seconds",
                  "Start time of the process since unix epoch in seconds.", "gauge",
                  ps.has_start ? ps.start_unix : m->created_unix);
    if (ps.has_fds)
        render_u64(out, "process_open_fds", "Number of open file descriptors.", "gauge",
                   (uint64_t)ps.open_fds);
    if (ps.has_max_fds)
        render_u64(out, "process_max_fds", "Maximum number of open file descriptors.", "gauge",
                   ps.max_fds);
}
