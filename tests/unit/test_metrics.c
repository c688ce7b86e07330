/*
 * test_metrics.c - unit tests of src/service/metrics.c: the exposition is parsed back line by
 * line (names, # HELP/# TYPE once each and before samples, label escaping, histogram buckets
 * cumulative with +Inf = _count, _sum), counters from 8 threads sum exactly, the series cap, an
 * allocation-failure pass, and `promtool check metrics` on rendered samples when promtool is
 * installed (SKIP otherwise).
 */
#include "service/metrics.h"

#include "util/alloc.h"
#include "util/buf.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int g_checks;

static void fail_at(const char *file, int line, const char *what)
{
    fprintf(stderr, "%s:%d: FAIL: %s\n", file, line, what);
    exit(1);
}

static void check_true(bool c, const char *expr, const char *file, int line)
{
    g_checks++;
    if (!c) fail_at(file, line, expr);
}

static void check_u64(uint64_t a, uint64_t b, const char *ea, const char *eb, const char *file,
                      int line)
{
    g_checks++;
    if (a != b) {
        fprintf(stderr, "%s:%d: FAIL: %s == %s (%llu vs %llu)\n", file, line, ea, eb,
                (unsigned long long)a, (unsigned long long)b);
        exit(1);
    }
}

static void check_dbl(double a, double b, const char *ea, const char *eb, const char *file,
                      int line)
{
    g_checks++;
    if (!(a == b || fabs(a - b) <= 1e-12 * fmax(fabs(a), fabs(b)))) {
        fprintf(stderr, "%s:%d: FAIL: %s == %s (%.17g vs %.17g)\n", file, line, ea, eb, a, b);
        exit(1);
    }
}

static void check_str(const char *a, const char *b, const char *ea, const char *file, int line)
{
    g_checks++;
    if (a == NULL || strcmp(a, b) != 0) {
        fprintf(stderr, "%s:%d: FAIL: %s is \"%s\", expected \"%s\"\n", file, line, ea,
                a ? a : "(null)", b);
        exit(1);
    }
}

#define ASSERT(c)         check_true((c), #c, __FILE__, __LINE__)
#define ASSERT_EQ_U(a, b) check_u64((uint64_t)(a), (uint64_t)(b), #a, #b, __FILE__, __LINE__)
#define ASSERT_EQ_D(a, b) check_dbl((a), (b), #a, #b, __FILE__, __LINE__)
#define ASSERT_STR(a, b)  check_str((a), (b), #a, __FILE__, __LINE__)

/* ---- a small parser of text format 0.0.4 ---- */

#define MAX_LABELS 4

typedef struct sample {
    char name[128];
    int n_labels;
    char lname[MAX_LABELS][32];
    char lval[MAX_LABELS][256];
    double value;
} sample;

typedef struct family_decl {
    char name[128];
    char type[16];
    bool has_help;
} family_decl;

typedef struct expo {
    sample *s;
    size_t n;
    family_decl f[64];
    size_t n_f;
} expo;

static family_decl *find_family(expo *e, const char *name)
{
    for (size_t i = 0; i < e->n_f; i++)
        if (strcmp(e->f[i].name, name) == 0) return &e->f[i];
    return NULL;
}

/* The family a sample name belongs to (histogram suffixes stripped when the base is one). */
static family_decl *family_of_sample(expo *e, const char *name)
{
    family_decl *f = find_family(e, name);
    if (f != NULL) return f;
    static const char *const sfx[] = {"_bucket", "_sum", "_count"};
    for (int i = 0; i < 3; i++) {
        size_t nl = strlen(name), sl = strlen(sfx[i]);
        if (nl > sl && strcmp(name + nl - sl, sfx[i]) == 0) {
            char base[128];
            memcpy(base, name, nl - sl);
            base[nl - sl] = '\0';
            f = find_family(e, base);
            if (f != NULL && strcmp(f->type, "histogram") == 0) return f;
        }
    }
    return NULL;
}

static void parse_fail(const char *line, const char *why)
{
    fprintf(stderr, "FAIL: exposition line \"%s\": %s\n", line, why);
    exit(1);
}

static void parse_sample(expo *e, const char *line)
{
    sample sm;
    memset(&sm, 0, sizeof sm);
    const char *p = line;
    size_t k = 0;
    while (*p && *p != '{' && *p != ' ') {
        if (k + 1 >= sizeof sm.name) parse_fail(line, "name too long");
        sm.name[k++] = *p++;
    }
    if (k == 0) parse_fail(line, "empty name");
    if (*p == '{') {
        p++;
        while (*p != '}') {
            if (sm.n_labels == MAX_LABELS) parse_fail(line, "too many labels");
            k = 0;
            while (*p && *p != '=') sm.lname[sm.n_labels][k++] = *p++;
            if (*p != '=' || p[1] != '"') parse_fail(line, "bad label");
            p += 2;
            k = 0;
            char *v = sm.lval[sm.n_labels];
            while (*p != '"') {
                if (*p == '\0') parse_fail(line, "unterminated label value");
                if (*p == '\\') {
                    p++;
                    if (*p == 'n')
                        v[k++] = '\n';
                    else if (*p == '\\' || *p == '"')
                        v[k++] = *p;
                    else
                        parse_fail(line, "bad escape");
                    p++;
                } else {
                    v[k++] = *p++;
                }
                if (k >= 255) parse_fail(line, "label value too long");
            }
            p++;
            sm.n_labels++;
            if (*p == ',')
                p++;
            else if (*p != '}')
                parse_fail(line, "expected , or }");
        }
        p++;
    }
    if (*p != ' ') parse_fail(line, "expected a space before the value");
    p++;
    char *end;
    if (strcmp(p, "+Inf") == 0)
        sm.value = INFINITY;
    else if (strcmp(p, "-Inf") == 0)
        sm.value = -INFINITY;
    else if (strcmp(p, "NaN") == 0)
        sm.value = NAN;
    else {
        sm.value = strtod(p, &end);
        if (end == p || *end != '\0') parse_fail(line, "bad value");
    }
    family_decl *f = family_of_sample(e, sm.name);
    if (f == NULL) parse_fail(line, "sample before its # TYPE line");
    e->s = realloc(e->s, (e->n + 1) * sizeof *e->s);
    e->s[e->n++] = sm;
}

static void parse_expo(expo *e, const char *text, size_t len)
{
    memset(e, 0, sizeof *e);
    ASSERT(len > 0 && text[len - 1] == '\n');
    const char *p = text, *endp = text + len;
    char line[1024];
    char last_help[128] = "";
    while (p < endp) {
        const char *nl = memchr(p, '\n', (size_t)(endp - p));
        ASSERT(nl != NULL);
        size_t l = (size_t)(nl - p);
        if (l >= sizeof line) parse_fail("(long)", "line too long");
        memcpy(line, p, l);
        line[l] = '\0';
        p = nl + 1;
        if (l == 0) parse_fail(line, "empty line");
        if (strncmp(line, "# HELP ", 7) == 0) {
            const char *n = line + 7;
            const char *sp = strchr(n, ' ');
            if (sp == NULL || sp[1] == '\0') parse_fail(line, "HELP without text");
            snprintf(last_help, sizeof last_help, "%.*s", (int)(sp - n), n);
        } else if (strncmp(line, "# TYPE ", 7) == 0) {
            char name[128], type[16];
            if (sscanf(line + 7, "%127s %15s", name, type) != 2) parse_fail(line, "bad TYPE");
            if (find_family(e, name) != NULL) parse_fail(line, "family declared twice");
            if (strcmp(last_help, name) != 0) parse_fail(line, "TYPE not preceded by its HELP");
            if (strcmp(type, "counter") && strcmp(type, "gauge") && strcmp(type, "histogram") &&
                strcmp(type, "untyped"))
                parse_fail(line, "unknown type");
            family_decl *f = &e->f[e->n_f++];
            snprintf(f->name, sizeof f->name, "%s", name);
            snprintf(f->type, sizeof f->type, "%s", type);
            f->has_help = true;
        } else if (line[0] == '#') {
            parse_fail(line, "unexpected comment");
        } else {
            parse_sample(e, line);
        }
    }
}

static void expo_free(expo *e)
{
    free(e->s);
}

static const char *label_of(const sample *s, const char *name)
{
    for (int i = 0; i < s->n_labels; i++)
        if (strcmp(s->lname[i], name) == 0) return s->lval[i];
    return NULL;
}

/* The one sample with this name whose labels include l1=v1 (and l2=v2, l3=v3 when given);
 * fails if there is none or more than one. */
static const sample *find1(expo *e, const char *name, const char *l1, const char *v1,
                           const char *l2, const char *v2, const char *l3, const char *v3)
{
    const sample *found = NULL;
    for (size_t i = 0; i < e->n; i++) {
        const sample *s = &e->s[i];
        if (strcmp(s->name, name) != 0) continue;
        if (l1 && (!label_of(s, l1) || strcmp(label_of(s, l1), v1))) continue;
        if (l2 && (!label_of(s, l2) || strcmp(label_of(s, l2), v2))) continue;
        if (l3 && (!label_of(s, l3) || strcmp(label_of(s, l3), v3))) continue;
        if (found != NULL) {
            fprintf(stderr, "FAIL: more than one sample %s %s=%s\n", name, l1 ? l1 : "",
                    v1 ? v1 : "");
            exit(1);
        }
        found = s;
    }
    if (found == NULL) {
        fprintf(stderr, "FAIL: no sample %s %s=%s %s=%s\n", name, l1 ? l1 : "", v1 ? v1 : "",
                l2 ? l2 : "", v2 ? v2 : "");
        exit(1);
    }
    return found;
}

static double value_of(expo *e, const char *name)
{
    return find1(e, name, NULL, NULL, NULL, NULL, NULL, NULL)->value;
}

static size_t count_samples(expo *e, const char *name)
{
    size_t n = 0;
    for (size_t i = 0; i < e->n; i++) n += strcmp(e->s[i].name, name) == 0;
    return n;
}

static void render_parse(vs_metrics_t *m, uint64_t vt, const metrics_ns_row *rows, size_t n,
                         expo *e, vs_buf *b)
{
    vs_buf_init(b);
    metrics_render(m, b, vt, rows, n);
    ASSERT(!b->oom);
    parse_expo(e, (const char *)b->data, b->len);
}

/* ---- promtool ---- */

/* 1 passed, 0 failed, -1 promtool not installed. */
static int promtool_check(const vs_buf *b)
{
    if (system("command -v promtool >/dev/null 2>&1") != 0) return -1;
    char path[] = "/tmp/vs_test_metrics_XXXXXX";
    int fd = mkstemp(path);
    ASSERT(fd >= 0);
    ASSERT(write(fd, b->data, b->len) == (ssize_t)b->len);
    close(fd);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "promtool check metrics < %s", path);
    int rc = system(cmd);
    unlink(path);
    return rc == 0 ? 1 : 0;
}

/* ---- tests ---- */

static void test_types_and_names(void)
{
    vs_metrics_t *m = metrics_create();
    ASSERT(m != NULL);
    metrics_ns_row rows[] = {{"default", 12, 0.0, 7}, {"mns", 3, 0.3, 8}};
    expo e;
    vs_buf b;
    render_parse(m, 15, rows, 2, &e, &b);
    static const char *const want[][2] = {
        {"vecstore_upsert_total", "counter"},
        {"vecstore_query_total", "counter"},
        {"vecstore_delete_total", "counter"},
        {"vecstore_cache_hits_total", "counter"},
        {"vecstore_cache_misses_total", "counter"},
        {"vecstore_namespace_requests_total", "counter"},
        {"vecstore_query_duration_seconds", "histogram"},
        {"vecstore_vectors_total", "untyped"},
        {"vecstore_namespace_vector_count", "untyped"},
        {"vecstore_namespace_quota_utilization", "gauge"},
        {"vecstore_namespaces", "gauge"},
        {"vecstore_errors_total", "counter"},
        {"vecstore_http_requests_total", "counter"},
        {"vecstore_grpc_requests_total", "counter"},
        {"process_cpu_seconds_total", "counter"},
        {"process_resident_memory_bytes", "gauge"},
        {"process_virtual_memory_bytes", "gauge"},
        {"process_open_fds", "gauge"},
        {"process_max_fds", "gauge"},
        {"process_start_time_seconds", "gauge"},
        {"process_threads", "gauge"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        family_decl *f = find_family(&e, want[i][0]);
        if (f == NULL) {
            fprintf(stderr, "FAIL: no # TYPE for %s\n", want[i][0]);
            exit(1);
        }
        ASSERT_STR(f->type, want[i][1]);
        ASSERT(f->has_help);
    }
    ASSERT_EQ_D(value_of(&e, "vecstore_upsert_total"), 0);
    ASSERT_EQ_D(value_of(&e, "vecstore_vectors_total"), 15);
    ASSERT_EQ_D(value_of(&e, "vecstore_namespaces"), 2);
    ASSERT_EQ_D(find1(&e, "vecstore_namespace_vector_count", "namespace", "mns", 0, 0, 0, 0)->value,
                3);
    ASSERT_EQ_D(
        find1(&e, "vecstore_namespace_quota_utilization", "namespace", "mns", 0, 0, 0, 0)->value,
        0.3);
    ASSERT_EQ_D(
        find1(&e, "vecstore_namespace_requests_total", "namespace", "default", 0, 0, 0, 0)->value,
        7);
    /* the shortest round-trip form, not 0.29999999999999999 */
    ASSERT(strstr((const char *)b.data,
                  "vecstore_namespace_quota_utilization{namespace=\"mns\"} 0.3\n") != NULL);
    ASSERT_EQ_U(count_samples(&e, "vecstore_namespace_vector_count"), 2);

    /* process metrics from /proc/self */
    ASSERT(value_of(&e, "process_resident_memory_bytes") > 0);
    ASSERT(value_of(&e, "process_virtual_memory_bytes") >=
           value_of(&e, "process_resident_memory_bytes"));
    ASSERT(value_of(&e, "process_threads") >= 1);
    ASSERT(value_of(&e, "process_open_fds") >= 3); /* stdin, stdout, stderr */
    ASSERT(value_of(&e, "process_max_fds") >= value_of(&e, "process_open_fds"));
    ASSERT(value_of(&e, "process_cpu_seconds_total") >= 0);
    double st = value_of(&e, "process_start_time_seconds");
    ASSERT(st > 1.5e9 && st <= (double)time(NULL) + 1);

    int pt = promtool_check(&b);
    if (pt < 0)
        printf("SKIP promtool check (promtool not installed)\n");
    else
        ASSERT(pt == 1);
    expo_free(&e);
    vs_buf_free(&b);

    /* an empty registry with no namespaces also passes promtool */
    render_parse(m, 0, NULL, 0, &e, &b);
    ASSERT_EQ_U(count_samples(&e, "vecstore_namespace_vector_count"), 0);
    pt = promtool_check(&b);
    if (pt >= 0) ASSERT(pt == 1);
    expo_free(&e);
    vs_buf_free(&b);
    metrics_destroy(m);
}

static void test_histogram(void)
{
    vs_metrics_t *m = metrics_create();
    /* le is inclusive: 0.0001 lands in the 0.0001 bucket; -1 and NaN count as 0 */
    const double obs[] = {0.00005, 0.0001, 0.0001000001, 0.003, 0.7, 1.0, 10.0, 20.0, -1.0, NAN};
    for (size_t i = 0; i < sizeof obs / sizeof obs[0]; i++)
        metrics_observe_query_seconds(m, obs[i]);
    expo e;
    vs_buf b;
    render_parse(m, 0, NULL, 0, &e, &b);
    static const struct {
        const char *le;
        uint64_t cum;
    } want[] = {{"0.0001", 4}, {"0.00025", 5}, {"0.0005", 5}, {"0.001", 5}, {"0.0025", 5},
                {"0.005", 6},  {"0.01", 6},    {"0.025", 6},  {"0.05", 6},  {"0.1", 6},
                {"0.25", 6},   {"0.5", 6},     {"1", 8},      {"2.5", 8},   {"5", 8},
                {"10", 9},     {"+Inf", 10}};
    /* order in the text: ascending le, cumulative, ending at +Inf */
    size_t k = 0;
    double prev_le = -1, prev_cnt = 0;
    for (size_t i = 0; i < e.n; i++) {
        if (strcmp(e.s[i].name, "vecstore_query_duration_seconds_bucket") != 0) continue;
        const char *le = label_of(&e.s[i], "le");
        ASSERT(le != NULL);
        ASSERT(k < sizeof want / sizeof want[0]);
        ASSERT_STR(le, want[k].le);
        ASSERT_EQ_D(e.s[i].value, (double)want[k].cum);
        double lev = strcmp(le, "+Inf") == 0 ? INFINITY : strtod(le, NULL);
        ASSERT(lev > prev_le);
        ASSERT(e.s[i].value >= prev_cnt);
        prev_le = lev;
        prev_cnt = e.s[i].value;
        k++;
    }
    ASSERT_EQ_U(k, sizeof want / sizeof want[0]);
    ASSERT_EQ_D(value_of(&e, "vecstore_query_duration_seconds_count"), 10);
    ASSERT_EQ_D(value_of(&e, "vecstore_query_duration_seconds_sum"),
                0.00005 + 0.0001 + 0.0001000001 + 0.003 + 0.7 + 1.0 + 10.0 + 20.0);
    expo_free(&e);
    vs_buf_free(&b);
    metrics_destroy(m);
}

static void test_labels_and_escaping(void)
{
    vs_metrics_t *m = metrics_create();
    for (int i = 0; i < 3; i++) metrics_count_http(m, "/v1/query", "POST", 200);
    metrics_count_http(m, "/v1/vectors/{id}", "GET", 404);
    metrics_count_http(m, "/v1/vectors/{id}", "GET", 200);
    metrics_count_grpc(m, "/vecstore.VecStoreService/Query", 0);
    metrics_count_grpc(m, "/vecstore.VecStoreService/Query", 3);
    metrics_count_grpc(m, "/vecstore.VecStoreService/Query", 3);
    metrics_count_error(m, "NOT_FOUND");
    metrics_count_error(m, "NOT_FOUND");
    metrics_count_error(m, "QUOTA_EXCEEDED");
    metrics_count_error(m, "we\"ird\\code\nx");
    const char *odd = "a\"b\\c\nd-\xc3\xa9"; /* quote, backslash, LF, valid 2-byte é */
    const char *bad = "x\xffy\xe2\x82";      /* invalid byte and a truncated sequence */
    metrics_ns_row rows[] = {{odd, 1, 0.5, 2}, {bad, 4, 1.0, 9}};
    expo e;
    vs_buf b;
    render_parse(m, 5, rows, 2, &e, &b);
    ASSERT_EQ_D(find1(&e, "vecstore_http_requests_total", "route", "/v1/query", "method", "POST",
                      "status", "200")
                    ->value,
                3);
    ASSERT_EQ_D(find1(&e, "vecstore_http_requests_total", "route", "/v1/vectors/{id}", "method",
                      "GET", "status", "404")
                    ->value,
                1);
    ASSERT_EQ_U(count_samples(&e, "vecstore_http_requests_total"), 3);
    ASSERT_EQ_D(find1(&e, "vecstore_grpc_requests_total", "code", "3", 0, 0, 0, 0)->value, 2);
    ASSERT_EQ_D(find1(&e, "vecstore_errors_total", "code", "NOT_FOUND", 0, 0, 0, 0)->value, 2);
    ASSERT_EQ_D(find1(&e, "vecstore_errors_total", "code", "we\"ird\\code\nx", 0, 0, 0, 0)->value,
                1);
    /* escaped on the wire, decoded back exactly */
    ASSERT(strstr((const char *)b.data, "{namespace=\"a\\\"b\\\\c\\nd-\xc3\xa9\"} 1\n") != NULL);
    ASSERT_EQ_D(find1(&e, "vecstore_namespace_vector_count", "namespace", odd, 0, 0, 0, 0)->value,
                1);
    ASSERT_EQ_D(find1(&e, "vecstore_namespace_vector_count", "namespace",
                      "x\xef\xbf\xbdy\xef\xbf\xbd\xef\xbf\xbd", 0, 0, 0, 0)
                    ->value,
                4);
    ASSERT_EQ_D(
        find1(&e, "vecstore_namespace_quota_utilization", "namespace", odd, 0, 0, 0, 0)->value,
        0.5);

    vs_buf one = VS_BUF_INIT;
    metrics_escape_label(&one, "\xf0\x9f\x98\x80|\xed\xa0\x80|\xc0\xaf");
    vs_buf_append_u8(&one, 0);
    /* a 4-byte emoji is kept; a UTF-16 surrogate and an overlong '/' are replaced byte by byte */
    ASSERT_STR((const char *)one.data,
               "\xf0\x9f\x98\x80|\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd");
    vs_buf_free(&one);

    int pt = promtool_check(&b);
    if (pt >= 0) ASSERT(pt == 1);
    expo_free(&e);
    vs_buf_free(&b);
    metrics_destroy(m);
}

static void test_series_cap(void)
{
    vs_metrics_t *m = metrics_create();
    char route[64];
    for (int i = 0; i < METRICS_MAX_SERIES + 5; i++) {
        snprintf(route, sizeof route, "/r/%d", i);
        metrics_count_http(m, route, "GET", 200);
    }
    metrics_count_http(m, "/r/7", "GET", 200); /* an existing series still counts as itself */
    expo e;
    vs_buf b;
    render_parse(m, 0, NULL, 0, &e, &b);
    ASSERT_EQ_U(count_samples(&e, "vecstore_http_requests_total"), METRICS_MAX_SERIES + 1);
    ASSERT_EQ_D(find1(&e, "vecstore_http_requests_total", "route", "other", "method", "other",
                      "status", "other")
                    ->value,
                5);
    ASSERT_EQ_D(find1(&e, "vecstore_http_requests_total", "route", "/r/7", 0, 0, 0, 0)->value, 2);
    double sum = 0;
    for (size_t i = 0; i < e.n; i++)
        if (strcmp(e.s[i].name, "vecstore_http_requests_total") == 0) sum += e.s[i].value;
    ASSERT_EQ_D(sum, METRICS_MAX_SERIES + 6);
    expo_free(&e);
    vs_buf_free(&b);
    metrics_destroy(m);
}

#define N_THREADS 8
#define N_ITERS   20000

static vs_metrics_t *g_m;

static void *hammer(void *arg)
{
    int t = (int)(intptr_t)arg;
    for (int i = 0; i < N_ITERS; i++) {
        metrics_add_upserts(g_m, 1);
        metrics_add_queries(g_m, 2);
        metrics_add_deletes(g_m, 3);
        metrics_cache_hit(g_m);
        if (i % 2) metrics_cache_miss(g_m);
        metrics_observe_query_seconds(g_m, 0.25); /* exact in binary: the sum is exact */
        metrics_count_http(g_m, (i + t) % 2 ? "/v1/query" : "/v1/upsert", "POST", 200);
        if (i % 10 == 0) metrics_count_error(g_m, "NOT_FOUND");
        if (i % 1000 == 0) {
            vs_buf b = VS_BUF_INIT; /* scrapes racing the writers */
            metrics_render(g_m, &b, 0, NULL, 0);
            vs_buf_free(&b);
        }
    }
    return NULL;
}

static void test_threads(void)
{
    g_m = metrics_create();
    pthread_t th[N_THREADS];
    for (int t = 0; t < N_THREADS; t++)
        ASSERT(pthread_create(&th[t], NULL, hammer, (void *)(intptr_t)t) == 0);
    for (int t = 0; t < N_THREADS; t++) pthread_join(th[t], NULL);
    const uint64_t n = (uint64_t)N_THREADS * N_ITERS;
    ASSERT_EQ_U(metrics_get_upserts(g_m), n);
    ASSERT_EQ_U(metrics_get_queries(g_m), 2 * n);
    ASSERT_EQ_U(metrics_get_deletes(g_m), 3 * n);
    ASSERT_EQ_U(metrics_get_cache_hits(g_m), n);
    ASSERT_EQ_U(metrics_get_cache_misses(g_m), n / 2);
    expo e;
    vs_buf b;
    render_parse(g_m, 0, NULL, 0, &e, &b);
    ASSERT_EQ_D(value_of(&e, "vecstore_upsert_total"), (double)n);
    ASSERT_EQ_D(value_of(&e, "vecstore_query_total"), (double)(2 * n));
    ASSERT_EQ_D(value_of(&e, "vecstore_delete_total"), (double)(3 * n));
    ASSERT_EQ_D(value_of(&e, "vecstore_query_duration_seconds_count"), (double)n);
    ASSERT_EQ_D(value_of(&e, "vecstore_query_duration_seconds_sum"), 0.25 * (double)n);
    ASSERT_EQ_D(
        find1(&e, "vecstore_query_duration_seconds_bucket", "le", "0.25", 0, 0, 0, 0)->value,
        (double)n);
    ASSERT_EQ_D(find1(&e, "vecstore_query_duration_seconds_bucket", "le", "0.1", 0, 0, 0, 0)->value,
                0);
    ASSERT_EQ_D(
        find1(&e, "vecstore_http_requests_total", "route", "/v1/query", 0, 0, 0, 0)->value +
            find1(&e, "vecstore_http_requests_total", "route", "/v1/upsert", 0, 0, 0, 0)->value,
        (double)n);
    ASSERT_EQ_D(find1(&e, "vecstore_http_requests_total", "route", "/v1/query", 0, 0, 0, 0)->value,
                (double)n / 2);
    ASSERT_EQ_D(find1(&e, "vecstore_errors_total", "code", "NOT_FOUND", 0, 0, 0, 0)->value,
                (double)N_THREADS * (N_ITERS / 10));
    expo_free(&e);
    vs_buf_free(&b);
    metrics_destroy(g_m);
}

static void test_oom(void)
{
    /* Fail every allocation from the k-th on: nothing crashes or leaks, a failed render shows
     * as oom, and counting keeps working once memory is back. */
    for (long k = 0; k < 40; k++) {
        vs_alloc_fail_after(k);
        vs_metrics_t *m = metrics_create();
        if (m != NULL) {
            metrics_count_http(m, "/v1/query", "POST", 200);
            metrics_count_error(m, "NOT_FOUND");
            metrics_ns_row row = {"default", 1, 0.1, 1};
            vs_buf b = VS_BUF_INIT;
            metrics_render(m, &b, 1, &row, 1);
            vs_buf_free(&b);
            vs_alloc_fail_after(-1);
            metrics_count_http(m, "/v1/query", "POST", 200);
            metrics_add_upserts(m, 1);
            ASSERT_EQ_U(metrics_get_upserts(m), 1);
            b = (vs_buf)VS_BUF_INIT;
            metrics_render(m, &b, 1, &row, 1);
            ASSERT(!b.oom);
            vs_buf_free(&b);
            metrics_destroy(m);
        }
        vs_alloc_fail_after(-1);
    }
}

int main(void)
{
    test_types_and_names();
    test_histogram();
    test_labels_and_escaping();
    test_series_cap();
    test_threads();
    test_oom();
    printf("test_metrics: %d checks passed\n", g_checks);
    return 0;
}
