/*
 * crash_engine.c - SIGKILL rounds against the real engine (issue 3, acceptance: 20 of 20 rounds,
 * zero acknowledged writes lost).
 *
 * Each round forks a child that opens the database and writes from 4 threads: single upserts,
 * 3-record batches and deletes, with fsync=always. After each acknowledged write the child
 * reports it on a pipe ("A id", "D id"); before a batch it reports "P id1 id2 id3". The parent
 * kills the child with SIGKILL after a random delay, re-opens the database in-process, and checks:
 *   - every acknowledged upsert is present with its exact vector and metadata (unless an
 *     acknowledged delete removed it);
 *   - every acknowledged delete is absent;
 *   - every batch is all-or-nothing (0 or 3 of its records present);
 *   - nothing half-present: every record read back has exactly the vector derived from its id.
 * Usage: crash_engine [rounds] [seed]  (seed printed; rerun with it).
 */
#include "vecstore/engine.h"

#include "core/collection.h"
#include "core/value.h"
#include "util/alloc.h"
#include "util/hashmap.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DIM     8
#define THREADS 4

static int report_fd = -1;
static int round_no = 0;

static void vector_of(const char *id, float *v)
{
    unsigned h = 2166136261u;
    for (const char *p = id; *p; p++) h = (h ^ (unsigned char)*p) * 16777619u;
    for (int i = 0; i < DIM; i++) {
        h = h * 1103515245u + 12345u;
        v[i] = (float)((h >> 8) % 20000) / 1000.0f - 10.0f + 0.001f;
    }
}

static uint8_t *meta_of(const char *id, size_t *len)
{
    vs_vbuilder b;
    vs_vb_init(&b);
    vs_vb_begin_object(&b);
    vs_vb_key(&b, "id", 2);
    vs_vb_string(&b, id, strlen(id));
    vs_vb_key(&b, "n", 1);
    vs_vb_number(&b, (double)strlen(id));
    vs_vb_end(&b);
    return vs_vb_finish(&b, len, NULL);
}

static void say(const char *line)
{
    ssize_t w = write(report_fd, line, strlen(line)); /* < PIPE_BUF: atomic */
    (void)w;
}

static void *writer(void *arg)
{
    vs_ns_t *ns = arg;
    static _Atomic int next_thread = 0;
    int me = atomic_fetch_add(&next_thread, 1);
    for (int i = 0;; i++) {
        char ids[3][64], line[256];
        float v[3][DIM];
        uint8_t *m[3];
        size_t ml[3];
        vs_ns_rec recs[3];
        int n = (i % 5 == 4) ? 3 : 1;
        for (int k = 0; k < n; k++) {
            snprintf(ids[k], sizeof ids[k], "r%d-t%d-%d-%d", round_no, me, i, k);
            vector_of(ids[k], v[k]);
            m[k] = meta_of(ids[k], &ml[k]);
            recs[k] = (vs_ns_rec){ids[k], strlen(ids[k]), v[k], m[k], ml[k]};
        }
        if (n == 3) {
            snprintf(line, sizeof line, "P %s %s %s\n", ids[0], ids[1], ids[2]);
            say(line);
        }
        vs_status st;
        if (ns_upsert(ns, recs, (size_t)n, DIM, &st) == VS_OK) {
            for (int k = 0; k < n; k++) {
                snprintf(line, sizeof line, "A %s\n", ids[k]);
                say(line);
            }
        }
        for (int k = 0; k < n; k++) vs_free(m[k]);
        if (i % 7 == 6) {
            char victim[64];
            snprintf(victim, sizeof victim, "r%d-t%d-%d-0", round_no, me, i - 1);
            snprintf(line, sizeof line, "X %s\n", victim); /* a delete is about to be attempted */
            say(line);
            if (ns_delete(ns, victim, strlen(victim), &st) == VS_OK) {
                snprintf(line, sizeof line, "D %s\n", victim);
                say(line);
            }
        }
    }
    return NULL;
}

static vs_catalog_t *open_db(const char *dir)
{
    vs_catalog_config cfg = {dir, 0, 0, 1};
    vs_catalog_t *c;
    vs_status st;
    if (cat_open(&cfg, &c, &st) != VS_OK || cat_load_all(c, &st) != VS_OK) {
        fprintf(stderr, "open failed: %s\n", st.msg);
        exit(2);
    }
    return c;
}

static void child(const char *dir)
{
    vs_catalog_t *c = open_db(dir);
    vs_ns_t *ns = cat_get(c, "default");
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++) pthread_create(&th[i], NULL, writer, ns);
    for (;;) pause();
}

typedef struct entry {
    char id[64];
    char kind; /* 'A' acked upsert, 'D' acked delete */
} entry;

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 20;
    unsigned seed = argc > 2 ? (unsigned)atoi(argv[2]) : (unsigned)time(NULL);
    printf("crash_engine: %d rounds, seed %u\n", rounds, seed);
    srand(seed);
    char dir[] = "/tmp/vs-crash-XXXXXX";
    if (!mkdtemp(dir)) return 2;
    int failures = 0;
    for (round_no = 1; round_no <= rounds; round_no++) {
        int fds[2];
        if (pipe(fds) != 0) return 2;
        pid_t pid = fork();
        if (pid == 0) {
            close(fds[0]);
            report_fd = fds[1];
            child(dir);
            _exit(0);
        }
        close(fds[1]);
        usleep(50000 + (unsigned)(rand() % 400000));
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        /* read everything the child reported */
        size_t cap = 1 << 20, len = 0;
        char *buf = malloc(cap);
        ssize_t r;
        while ((r = read(fds[0], buf + len, cap - len - 1)) > 0) {
            len += (size_t)r;
            if (len + 1 >= cap) buf = realloc(buf, cap *= 2);
        }
        buf[len] = '\0';
        close(fds[0]);

        vs_catalog_t *c = open_db(dir);
        vs_ns_t *ns = cat_get(c, "default");
        vs_coll_t *coll = ns_coll(ns);
        int acked = 0, deleted = 0, batches = 0, bad = 0;
        /* split into lines; remember every id a delete was attempted on */
        size_t n_lines = 0;
        char **lines = malloc(sizeof(char *) * (len / 4 + 2));
        for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
            lines[n_lines++] = line;
        vs_hmap attempted;
        vs_hmap_init(&attempted);
        for (size_t i = 0; i < n_lines; i++)
            if (lines[i][0] == 'X') vs_hmap_put(&attempted, lines[i] + 2, strlen(lines[i] + 2), 1);
        for (size_t i = 0; i < n_lines; i++) {
            char kind = lines[i][0];
            const char *id = lines[i] + 2;
            if (kind == 'D') {
                deleted++;
                if (coll_exists(coll, id, strlen(id))) {
                    printf("round %d: acknowledged delete of %s not durable\n", round_no, id);
                    bad++;
                }
            } else if (kind == 'A') {
                acked++;
                coll_record rec;
                vs_status st;
                if (coll_get(coll, id, strlen(id), &rec, &st) != VS_OK) {
                    if (!vs_hmap_get(&attempted, id, strlen(id), NULL)) {
                        printf("round %d: acknowledged upsert of %s lost\n", round_no, id);
                        bad++;
                    }
                    continue;
                }
                float want[DIM];
                vector_of(id, want);
                size_t ml;
                uint8_t *m = meta_of(id, &ml);
                if (rec.dim != DIM || memcmp(rec.vec, want, sizeof want) != 0 ||
                    rec.meta_len != ml || memcmp(rec.meta, m, ml) != 0) {
                    printf("round %d: record %s differs from what was acknowledged\n", round_no,
                           id);
                    bad++;
                }
                vs_free(m);
                coll_record_free(&rec);
            } else if (kind == 'P') {
                batches++;
                char a[64], b[64], d[64];
                if (sscanf(id, "%63s %63s %63s", a, b, d) == 3) {
                    /* the first record of a batch may be a delete target; the other two never are
                     */
                    int rest = coll_exists(coll, b, strlen(b)) + coll_exists(coll, d, strlen(d));
                    bool first = coll_exists(coll, a, strlen(a)) ||
                                 vs_hmap_get(&attempted, a, strlen(a), NULL);
                    if (rest == 1 || (rest == 2 && !first) ||
                        (rest == 0 && coll_exists(coll, a, strlen(a)))) {
                        printf("round %d: batch %s %s %s half-present\n", round_no, a, b, d);
                        bad++;
                    }
                }
            }
        }
        vs_hmap_free(&attempted);
        free(lines);
        ns_release(ns);
        cat_close(c);
        free(buf);
        printf("round %2d: %d acknowledged upserts, %d deletes, %d batches: %s\n", round_no, acked,
               deleted, batches, bad ? "FAIL" : "ok");
        failures += bad != 0;
    }
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    printf("crash_engine: %d of %d rounds passed\n", rounds - failures, rounds);
    return failures ? 1 : 0;
}
